"""Store onboarding (hours, not weeks): the per-store wizard with its steps, HQ's list of
stores in onboarding, and bulk onboarding from a CSV. Apps above the core add their own
steps (devices connected, shelves ready, rehearsal passed) through `steps.register`."""
