"""Page script: atgarder (staff)."""

from ui import page_actions

page_actions.render()
