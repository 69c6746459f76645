"""Start the Streamlit app with its heavy modules imported before the server listens.

    python -m ui.serve [APP.py] [streamlit options…]

Streamlit imports a page's modules only when the first browser session runs the script,
so the first visitor after a restart waits for pandas, geopandas, scipy, folium, rasterio
and the rest (about 1.5–2 s on the reference machine, docs/benchmarks.md). This launcher
imports them first and then hands over to ``streamlit run`` in the same process, the way
``gunicorn --preload`` does for web apps. ``APP.py`` defaults to ``app.py`` in the
repository root.

streamlit-folium is not preloaded on purpose: it registers its component only when it is
imported inside a script run, so importing it here would leave every map empty.
"""

from __future__ import annotations

import importlib
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Modules imported before the server starts (all import-time only: no data is read).
PRELOAD = (
    "pandas", "geopandas", "shapely", "pyproj", "numpy", "scipy.spatial", "rasterio",
    "rasterio.warp", "PIL.Image", "folium", "folium.plugins", "folium.raster_layers",
    "branca", "jinja2",
    "layers.loader", "gis.ranking", "gis.outputs", "gis.raster_out", "gis.packages",
    "walks.service", "walks.public", "walks.store", "promises.progress",
    "ui.state", "ui.texts", "ui.auth", "ui.common", "ui.maps", "ui.st_cache", "ui.public_map",
)

logger = logging.getLogger("trygga.serve")


def preload(modules: tuple[str, ...] = PRELOAD) -> float:
    """Import *modules*; returns the seconds it took. A missing module is only logged."""
    t0 = time.perf_counter()
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:  # the page that needs it will report it properly
            logger.warning("preload: %s: %s", name, exc)
    return time.perf_counter() - t0


def streamlit_argv(argv: list[str]) -> list[str]:
    """``sys.argv`` for ``streamlit run``: the app script first, then the options."""
    if argv and not argv[0].startswith("-"):
        app, rest = argv[0], argv[1:]
    else:
        app, rest = str(ROOT / "app.py"), argv
    return ["streamlit", "run", app, *rest]


def main(argv: list[str] | None = None) -> int:
    """Preload, then run ``streamlit run`` with *argv* (default: the command line)."""
    args = sys.argv[1:] if argv is None else argv
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    seconds = preload()
    print(f"Trygga stråk: modules loaded in {seconds:.1f} s", file=sys.stderr, flush=True)
    from streamlit.web import cli

    sys.argv = streamlit_argv(args)
    result = cli.main()  # click: exits through SystemExit
    return int(result or 0)


if __name__ == "__main__":
    raise SystemExit(main())
