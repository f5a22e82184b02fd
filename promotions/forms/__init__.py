"""Forms of promotions, one module per area."""
