"""Adapters to the outside carriers of the workbench: telephony (masked calls) and messaging
(SMS, work-chat). Each has a simulated provider (drives real state changes through the same
signed callback path a real provider uses) and an HTTP provider."""
