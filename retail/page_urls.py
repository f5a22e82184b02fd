from django.urls import path

app_name = "retail"

urlpatterns: list = []
