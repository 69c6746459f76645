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
    "pandas", "pyarrow", "geopandas", "shapely", "pyproj", "numpy", "scipy.spatial", "rasterio",
    "rasterio.warp", "PIL.Image", "folium", "folium.plugins", "folium.raster_layers",
    "branca", "jinja2",
    "layers.loader", "gis.ranking", "gis.outputs", "gis.raster_out", "gis.packages",
    "walks.service", "walks.public", "walks.store", "promises.progress",
    "ui.state", "ui.texts", "ui.auth", "ui.common", "ui.maps", "ui.st_cache", "ui.public_map",
    "layers.basemap", "ui.basemap", "ui.html_tables",
    # Streamlit's own lazy imports on a first script run: the emoji table behind
    # set_page_config(page_icon=…) compiles a large regex on import (~0.2 s).
    "streamlit.emojis", "streamlit.dataframe_util",
)

logger = logging.getLogger("trygga.serve")


def preload(modules: tuple[str, ...] = PRELOAD) -> float:
    """Import *modules*; returns the seconds it took. A missing module is only logged."""
    t0 = time.perf_counter()
    # Decorating st.cache_data functions before the runtime exists only validates their
    # options, against an in-memory manager, and logs "No runtime found" for each; the
    # caches themselves (disk-persisted) are created inside the runtime on first use.
    importlib.import_module("streamlit.runtime.caching.cache_data_api")  # sets its level
    cache_log = logging.getLogger("streamlit.runtime.caching.cache_data_api")
    level = cache_log.level
    cache_log.setLevel(logging.ERROR)
    try:
        _import_all(modules)
        _warm_first_use()
    finally:
        cache_log.setLevel(level)
    return time.perf_counter() - t0


def _import_all(modules: tuple[str, ...]) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:  # the page that needs it will report it properly
            logger.warning("preload: %s: %s", name, exc)


def _warm_first_use() -> None:
    """Pay once, before serving, costs that Streamlit, folium and PROJ otherwise charge the
    first visitor: a first folium render (Jinja), PROJ's database lookup for the map
    transform, pyarrow's pandas conversion,
    ``inspect``'s file-to-module table (``declare_component`` looks up its caller's module,
    which resolves the path of every loaded module once), and Streamlit's "are we run with
    `streamlit run`?" check (an ``inspect.stack()`` that reads the source of every frame;
    we are, so it is marked as done)."""
    try:
        import inspect

        import pandas as pd
        import pyproj
        from streamlit import dataframe_util, delta_generator

        inspect.getmodule(inspect.currentframe())
        pyproj.Transformer.from_crs("EPSG:3007", "EPSG:4326", always_xy=True)
        dataframe_util.convert_pandas_df_to_arrow_bytes(
            pd.DataFrame({"a": [1], "b": ["x"], "c": [0.5]}))
        if hasattr(delta_generator, "_use_warning_has_been_displayed"):
            delta_generator._use_warning_has_been_displayed = True
        from ui import maps

        maps.warm_up()  # one tiny folium map of every element type
    except Exception as exc:  # a warm-up must never stop the server
        logger.warning("warm-up skipped: %s", exc)


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
