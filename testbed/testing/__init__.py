"""Test infrastructure testbed offers to test suites, its own included.

`testbed.testing.sim_fixtures` is a pytest plugin: one sim cluster per test session (shared
by pytest-xdist workers) and a namespace per test. Enable it with
`pytest_plugins = ["testbed.testing.sim_fixtures"]` in a conftest.py.
`testbed.testing.prereqs.require` is the one rule for a missing tool: fail under CI=true, skip elsewhere.
"""
