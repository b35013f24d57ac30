"""Deployment tooling (`make package`, `make deploy`, `make bootstrap-key`); never shipped to Lambda."""
