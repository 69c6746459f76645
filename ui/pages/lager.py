"""Page script: lager."""

from ui import layers_page

layers_page.render()
