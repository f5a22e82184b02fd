"""Reads of device registry."""
