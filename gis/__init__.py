"""Pure, vectorised analysis in the profile's metric CRS. Refuses degrees."""
