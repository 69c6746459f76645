"""Demo content for the follow-up: the safety walks of 2024 that the demo findings belong to.

The demo findings (``data/demo/fynd_demo.geojson``, seeded by
:func:`walks.service.seed_demo_store`) refer to the walks ``demo-2024-1`` and
``demo-2024-2``; :func:`seed_demo_walks` adds those walks, and a spring walk in
Strömsdalen, to a demo store, with participant counts per group (never names). Two of
them are at the profile's designated schools, so the promise "två trygghetsvandringar vid
utsedda skolor" is met on the demo.

All of it is synthetic, like the rest of the demo data.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from layers._common import ValidationError
from layers.profile import Profile
from walks.model import WALK_GENOMFORD, WALK_PUBLICERAD, Walk
from walks.store import FindingStore

logger = logging.getLogger(__name__)

_TZ = ZoneInfo("Europe/Stockholm")


def demo_walks(profile: Profile) -> tuple[Walk, ...]:
    """The demo walks of 2024 (synthetic). Schools are the profile's designated ones."""
    schools = (*profile.designated_schools, None, None)
    return (
        Walk(id="demo-2024-0", title="Trygghetsvandring i Strömsdalen",
             start=datetime(2024, 4, 17, 19, 30, tzinfo=_TZ), light="skymning",
             area="Strömsdalen", organiser="Samhällsbyggnad",
             participants={"boende": 11, "unga": 3, "äldre": 4, "personal": 3, "polis": 2,
                           "förtroendevalda": 1, "fastighetsägare": 1},
             state=WALK_PUBLICERAD),
        Walk(id="demo-2024-1", title=f"Trygghetsvandring vid {schools[0] or 'skolan'}",
             start=datetime(2024, 10, 15, 18, 0, tzinfo=_TZ), light="mörker",
             area="Centrum", school=schools[0], organiser="Samhällsbyggnad",
             participants={"boende": 6, "unga": 8, "barn": 2, "personal": 4, "polis": 2,
                           "förtroendevalda": 2},
             state=WALK_PUBLICERAD),
        Walk(id="demo-2024-2", title=f"Trygghetsvandring vid {schools[1] or 'skolan'}",
             start=datetime(2024, 11, 12, 17, 0, tzinfo=_TZ), light="mörker",
             area="Strömsdalen", school=schools[1], organiser="Samhällsbyggnad",
             participants={"boende": 9, "unga": 5, "personer med funktionsnedsättning": 2,
                           "personal": 3, "polis": 1, "föreningar": 2},
             state=WALK_GENOMFORD),
    )


def seed_demo_walks(store: FindingStore, profile: Profile) -> int:
    """Add the demo walks that are not in *store* yet (only on the demo profile).

    Returns
    -------
    int
        Walks added (0 on real profiles and when they are all there).
    """
    if not profile.demo:
        return 0
    have = set(store.walks().index)
    added = 0
    for walk in demo_walks(profile):
        if walk.id in have:
            continue
        try:
            store.add_walk(walk, author_role="system")
        except ValidationError:  # added meanwhile by another process
            continue
        added += 1
    if added:
        logger.info("seeded %d demo walks", added)
    return added
