"""Reads of device ingest."""
