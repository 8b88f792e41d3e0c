"""One module per data provider, all with the interface in :mod:`ingest.sources.base`."""
