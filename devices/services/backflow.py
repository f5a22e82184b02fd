"""Device backflow use cases."""
