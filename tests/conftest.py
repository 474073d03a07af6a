pytest_plugins = ["testbed.testing.sim_fixtures"]
