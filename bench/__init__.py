"""Parley's benchmark: `python -m bench` (see bench/README.md). Import-pure: the Temporal sandbox re-imports
`bench.sink`, and with it this package."""
