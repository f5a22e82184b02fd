"""Promotions' reads, one module per area; every one is scoped to a principal."""
