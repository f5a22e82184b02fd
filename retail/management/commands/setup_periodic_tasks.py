import json

from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from retail.schedules import PERIODIC_TASKS


class Command(BaseCommand):
    help = "Write retail.schedules.PERIODIC_TASKS into django-celery-beat (idempotent)."

    def handle(self, *args, **options):
        with transaction.atomic():
            for name, (task, cron, why) in PERIODIC_TASKS.items():
                schedule, _ = CrontabSchedule.objects.get_or_create(
                    minute=cron.get("minute", "*"),
                    hour=cron.get("hour", "*"),
                    day_of_week=cron.get("day_of_week", "*"),
                    day_of_month=cron.get("day_of_month", "*"),
                    month_of_year=cron.get("month_of_year", "*"),
                    timezone="Asia/Shanghai",
                )
                PeriodicTask.objects.update_or_create(
                    name=name,
                    defaults={
                        "task": task,
                        "crontab": schedule,
                        "interval": None,
                        "description": why,
                        "kwargs": json.dumps({}),
                        "enabled": True,
                    },
                )
            stale = PeriodicTask.objects.exclude(name__in=PERIODIC_TASKS).exclude(name__startswith="celery.")
            removed = stale.filter(task__startswith="retail.").delete()[0]
        self.stdout.write(f"periodic tasks: {len(PERIODIC_TASKS)} declared, {removed} stale removed")
