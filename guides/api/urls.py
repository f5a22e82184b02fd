"""Partner API of the guide workbench: interactions and tasks (for brands whose CRM wants them)."""

urlpatterns: list = []
