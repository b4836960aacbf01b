"""The bundled demo data (package `camdensity.data`), read with importlib.resources."""
