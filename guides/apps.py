from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GuidesConfig(AppConfig):
    name = "guides"
    verbose_name = _("Guide workbench")

    def ready(self) -> None:
        from retail import events

        from . import tasks  # noqa: F401  (registers the Celery tasks)
        from .hooks import connect

        for name, meaning in EVENTS.items():
            events.register(name, meaning)
        connect()


EVENTS = {
    "guide.interaction_recorded": "A guide recorded an interaction with a member (call, message, visit, note), "
    "on the workbench, synced from offline, or through the API.",
    "guide.call_updated": "A workbench call changed state (ringing, answered, completed, no answer, ...) "
    "on the telephony provider's status callback.",
    "guide.task_done": "A guide finished a task (a call plan's or a follow-up).",
    "guide.conversion": "An order was attributed to a guide's interaction (within the brand's window).",
    "guide.members_reassigned": "A manager moved members from one guide to others (a guide left, a store closed).",
    "guide.broadcast_finished": "A broadcast was sent: how many members got it and how many were skipped, by reason.",
    "guide.share_clicked": "Somebody opened a guide's share link.",
    "livestream.reminded": "The members who signed up for a livestream were reminded.",
}
