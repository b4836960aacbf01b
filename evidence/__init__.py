"""Evidence: null-model comparison, cameras facing sites, history between builds, the report."""
