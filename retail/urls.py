"""Root URLconf: every app's pages and API, the schema and docs, admin, auth, i18n."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views

api_v1 = [
    path("", include("retail.api.urls")),
    path("", include("retail.onboarding.api_urls")),
    path("", include("retail.spaces.api_urls")),
    path("", include("members.api.urls")),
    path("", include("devices.api.urls")),
    path("", include("shelves.api.urls")),
    path("", include("promotions.api.urls")),
    path("", include("guides.api.urls")),
]

urlpatterns = [
    path("livez", views.alive, name="alive"),
    path("healthz", views.health, name="health"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", views.PasswordChange.as_view(), name="password_change"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path(
        "api/schema/",
        SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]),
        name="schema",
    ),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="schema", authentication_classes=[], permission_classes=[]),
        name="api-docs",
    ),
    path("members/", include("members.urls")),
    path("devices/", include("devices.urls")),
    path("shelves/", include("shelves.urls")),
    path("shelf/", include("shelves.views.kiosk")),
    path("s/", include("shelves.views.scans")),
    path("promotions/", include("promotions.urls")),
    path("c/", include("promotions.views.mobile")),
    path("guides/", include("guides.urls")),
    path("g/", include("guides.views.public")),
    path("hooks/", include("guides.views.callbacks")),
    path("", include("retail.page_urls")),
]

# Unknown /api/ paths answer in the API's error shape; pages keep Django's 404 page.
handler404 = "retail.api.errors.page_not_found"
