"""Live dashboards (issue 8): rollup rows per store and minute, folded from domain events
(`rollups`), read by `selectors`, pushed over websockets (`consumers`). Fed by events alone:
nothing here imports the apps above the core (the nightly recompute counts members
through members' selectors, which the core may use)."""
