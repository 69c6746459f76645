"""Store backends: GeoPackage (default), PostGIS (shared), in-memory (tests).

See :mod:`walks.backends.base` for the protocol; the rules live in
:class:`walks.store.FindingStore`.
"""
