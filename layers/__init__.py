"""Input layers: every source goes through one normalising funnel per layer.

Every layer leaves this package as a GeoDataFrame in the municipality profile's metric CRS
(Strömstad: EPSG:3007, SWEREF 99 12 00), with a unique string index and the columns listed
in :mod:`layers.schemas`.
"""

import pandas as pd

from layers._common import LayerWarning, Problem, ValidationError
from layers.profile import P_CLASSES, Profile, load_profile

# Python-backed strings for every frame of the process. Our frames are small to medium
# (10^3–10^6 rows) and are taken, reindexed and sorted many times per ranking run; at those
# sizes pandas' pyarrow-backed "str" columns spend more in conversion and ``pyarrow.take``
# than they save (demo ranking core: 0.35 s → 0.26 s, docs/benchmarks.md). The values and
# missing-value semantics are the same; only the storage differs. ``layers`` is imported
# before any frame is built (gis and walks import it), so one switch here covers all.
pd.set_option("mode.string_storage", "python")

__all__ = ["P_CLASSES", "LayerWarning", "Problem", "Profile", "ValidationError", "load_profile"]
