"""HTML pages of the core. Object ids are always named `<model>_id` (the isolation walk
relies on it)."""

from django.urls import include, path

from . import views, views_console

app_name = "retail"

urlpatterns = [
    path("", views.home, name="home"),
    path("roles/switch/", views.role_switch, name="role_switch"),
    path("hq/", views.hq_home, name="hq_home"),
    path("store/", views.store_home, name="store_home"),
    path("guide/", views.guide_home, name="guide_home"),
    path("stores/", views.store_list, name="store_list"),
    path("stores/<int:store_id>/", views.store_detail, name="store_detail"),
    path("products/", views.product_list, name="product_list"),
    path("products/<int:product_id>/", views.product_detail, name="product_detail"),
    path("orders/", views.order_list, name="order_list"),
    path("orders/<int:order_id>/", views.order_detail, name="order_detail"),
    path("dashboards/", include("retail.dashboards.urls")),
    path("onboarding/", include("retail.onboarding.urls")),
    path("spaces/", include("retail.spaces.urls")),
    path("notifications/", include("retail.views_notifications")),
    path("audit/", views.audit_list, name="audit_list"),
    path("audit/users/<int:user_id>/", views.audit_user, name="audit_user"),
    # the partner console (retail/views_console.py)
    path("partners/", views_console.partner_list, name="partner_list"),
    path("partners/shared/", views_console.partner_shared, name="partner_shared"),
    path("partner/", views_console.partner_home, name="partner_home"),
    path("partners/<int:client_id>/", views_console.partner_console, name="partner_console"),
    path("partners/<int:client_id>/scopes/", views_console.partner_scopes, name="partner_scopes"),
    path("partners/<int:client_id>/tokens/", views_console.token_issue, name="token_issue"),
    path("partners/tokens/<int:token_id>/revoke/", views_console.token_revoke, name="token_revoke"),
    path(
        "partners/<int:client_id>/subscriptions/",
        views_console.subscription_create,
        name="subscription_create",
    ),
    path(
        "partners/subscriptions/<int:subscription_id>/",
        views_console.subscription_action,
        name="subscription_action",
    ),
    path("partners/<int:client_id>/deliveries/", views_console.partner_deliveries, name="partner_deliveries"),
    path("partners/deliveries/<int:delivery_id>/", views_console.delivery_detail, name="delivery_detail"),
    path(
        "partners/deliveries/<int:delivery_id>/redeliver/",
        views_console.delivery_redeliver,
        name="delivery_redeliver",
    ),
    path("partners/<int:client_id>/requests/", views_console.partner_requests, name="partner_requests"),
    path("partners/<int:client_id>/users/", views_console.partner_user_add, name="partner_user_add"),
    path(
        "partners/users/<int:partner_user_id>/remove/",
        views_console.partner_user_remove,
        name="partner_user_remove",
    ),
    path(
        "partners/<int:client_id>/share/revoke/", views_console.share_links_revoke, name="share_links_revoke"
    ),
]
