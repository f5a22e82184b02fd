"""HTML pages of the core. Object ids are always named `<model>_id` (the isolation walk
relies on it)."""

from django.urls import path

from . import views

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
    path("audit/", views.audit_list, name="audit_list"),
    path("audit/users/<int:user_id>/", views.audit_user, name="audit_user"),
]
