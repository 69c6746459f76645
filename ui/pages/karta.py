"""Page script: karta."""

from ui import page_map

page_map.render()
