"""E2E suite: API conformance of the shop over gRPC.

Fixtures come from testbed's pytest plugin (shop stubs, user factory, endpoints); the plugin
also gives every test under suites/e2e/ the `e2e` marker.
"""
