"""`testbed conform`'s engine: find the suites, check the target, run each suite in pytest, collect results.

The CLI (testbed/cli/conform.py) only parses flags and prints; the bundle is written by
testbed.bundle from the RunSummary this package returns.
"""
