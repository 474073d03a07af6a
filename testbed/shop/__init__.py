"""The shop: the EC site of gRPC microservices that the testbed stands up and tests."""
