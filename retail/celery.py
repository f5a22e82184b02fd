"""The one Celery bootstrap. Without REDIS_URL tasks run eagerly in-process."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retail.settings")

app = Celery("tiandi")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
