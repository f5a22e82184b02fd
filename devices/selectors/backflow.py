"""Reads of device backflow."""
