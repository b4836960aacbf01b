"""camdensity: surveillance-camera density maps over H3 hexagons in PostGIS."""

__version__ = "0.1.0"
