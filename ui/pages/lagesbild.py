"""Page script: lagesbild (staff)."""

from ui import page_lagesbild

page_lagesbild.render()
