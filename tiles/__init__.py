"""Turns the store into vector tiles: zoom-to-resolution table, tile SQL, tile cache."""
