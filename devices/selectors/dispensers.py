"""Reads of device dispensers."""
