"""Device dispensers use cases."""
