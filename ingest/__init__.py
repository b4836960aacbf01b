"""Everything that writes the store: importers, fusion and the build."""
