"""Page script: vandringar (staff)."""

from ui import page_walks

page_walks.render()
