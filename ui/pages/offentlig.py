"""Page script: offentlig (the residents' public map)."""

from ui import page_public

page_public.render()
