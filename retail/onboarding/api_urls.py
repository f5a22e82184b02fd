"""Partner API of onboarding (included under /api/v1/ by retail/urls.py)."""

urlpatterns: list = []
