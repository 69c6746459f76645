"""Values of the synthetic demo that come from the demo generator, not from the clock.

The demo findings file (``data/demo/fynd_demo.geojson``, written by
``data/demo/generate_demo.py`` from a fixed seed) says how far each finding has come, and
for fixed ones *when* it was fixed (property ``fixed``, a local date). Seeding a demo store
must take those values from the file, so that two clones of the repository give the same
store and the same yearly report.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

#: Local time of day a demo fix is recorded at.
DEMO_FIX_TIME = time(12, 0)


def demo_fixed_at(props: Mapping[str, object], tz: str = "Europe/Stockholm"
                  ) -> datetime | None:
    """When a demo finding was fixed: its ``fixed`` date at :data:`DEMO_FIX_TIME` in *tz*.

    Parameters
    ----------
    props : mapping
        The properties of one feature of the demo findings file.
    tz : str
        The profile's time zone.

    Returns
    -------
    datetime or None
        Timezone-aware; None when the finding has no ``fixed`` date.

    Examples
    --------
    >>> demo_fixed_at({"fixed": "2024-11-28"})
    datetime.datetime(2024, 11, 28, 12, 0, tzinfo=zoneinfo.ZoneInfo(key='Europe/Stockholm'))
    >>> demo_fixed_at({"state": "ny"}) is None
    True
    """
    value = props.get("fixed")
    if not value:
        return None
    return datetime.combine(date.fromisoformat(str(value)), DEMO_FIX_TIME, ZoneInfo(tz))
