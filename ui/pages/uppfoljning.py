"""Page script: uppfoljning."""

from ui import page_followup

page_followup.render()
