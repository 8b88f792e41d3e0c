"""Processing, storage and the sidecar scheduler of City Live."""
