"""Staff pages of promotions, one module per area; each module holds its urlpatterns."""
