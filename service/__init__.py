"""The HTTP face of camdensity: tiles, TileJSON, the map, coverage, sites, exports."""
