"""Device ingest use cases."""
