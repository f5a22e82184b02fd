"""Promotions' use cases, one module per area: campaigns (phases, publish, preview),
coupons (claim, redeem, discount), tokens (offline signing), offline (blocks, sync),
benefits, rehearsals, incidents."""
