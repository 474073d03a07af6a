"""testbed: stand up a Kubernetes-native testbed and run the conformance suites that gate promotion."""

__version__ = "0.1.0"
