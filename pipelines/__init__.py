"""Open Weights Tracker pipelines: Hub -> raw snapshots -> attributed tables.

Each module does one step; the CLI (`python -m pipelines --help`) strings them together.
"""
