"""On-demand benchmarks (`make bench`): camdensity against peers measured in the same run."""
