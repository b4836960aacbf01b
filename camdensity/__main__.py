"""`python -m camdensity`: the same command as the `camdensity` script."""

from camdensity.cli import main

main()
