"""Input layers: every source goes through one normalising funnel per layer.

Every layer leaves this package as a GeoDataFrame in the municipality profile's metric CRS
(Strömstad: EPSG:3007, SWEREF 99 12 00), with a unique string index and the columns listed
in :mod:`layers.schemas`.
"""

from layers._common import LayerWarning, Problem, ValidationError
from layers.profile import P_CLASSES, Profile, load_profile

__all__ = ["P_CLASSES", "LayerWarning", "Problem", "Profile", "ValidationError", "load_profile"]
