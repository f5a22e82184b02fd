"""Choices of the guide workbench, shared by models, forms, API and UI."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AssignmentReason(models.TextChoices):
    RECRUITED = "recruited", _("Recruited by the guide")
    GUIDE_LEFT = "guide_left", _("Guide left")
    STORE_CLOSED = "store_closed", _("Store closed")
    REBALANCE = "rebalance", _("Rebalanced")
    OTHER = "other", _("Other")


class PlanStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    GENERATING = "generating", _("Making tasks")
    ACTIVE = "active", _("Active")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")
    FAILED = "failed", _("Failed")


class TaskKind(models.TextChoices):
    CALL = "call", _("Call")
    MESSAGE = "message", _("Message")
    VISIT = "visit", _("Visit invitation")
    FOLLOW_UP = "follow_up", _("Follow-up")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("To do")
    SNOOZED = "snoozed", _("Snoozed")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class InteractionKind(models.TextChoices):
    CALL = "call", _("Call")
    MESSAGE = "message", _("Message")
    VISIT = "visit", _("Visit")
    NOTE = "note", _("Note")


class InteractionSource(models.TextChoices):
    WORKBENCH = "workbench", _("Workbench")
    OFFLINE = "offline", _("Workbench (synced from offline)")
    BROADCAST = "broadcast", _("Broadcast")
    API = "api", _("Partner API")


class CallStatus(models.TextChoices):
    """A call's state as the telephony provider reports it (status callbacks)."""

    REQUESTED = "requested", _("Requested")
    RINGING = "ringing", _("Ringing")
    ANSWERED = "answered", _("Answered")
    COMPLETED = "completed", _("Completed")
    NO_ANSWER = "no_answer", _("No answer")
    BUSY = "busy", _("Busy")
    FAILED = "failed", _("Failed")


# A call in one of these states is over; later callbacks never move it back.
FINAL_CALL_STATUSES = frozenset(
    {CallStatus.COMPLETED, CallStatus.NO_ANSWER, CallStatus.BUSY, CallStatus.FAILED}
)


class Outcome(models.TextChoices):
    """What the guide records after an interaction (the first of the two taps)."""

    INTERESTED = "interested", _("Interested")
    WILL_VISIT = "will_visit", _("Will visit")
    PURCHASED = "purchased", _("Bought")
    NOT_INTERESTED = "not_interested", _("Not interested")
    CALL_BACK = "call_back", _("Call back later")
    NO_ANSWER = "no_answer", _("No answer")
    WRONG_NUMBER = "wrong_number", _("Wrong number")
    OPTED_OUT = "opted_out", _("Asked not to be contacted")


class NextStep(models.TextChoices):
    """The second tap: what happens next (a follow-up task where it needs one)."""

    NONE = "none", _("Nothing")
    CALL_AGAIN = "call_again", _("Call again in 3 days")
    MESSAGE = "message", _("Send a message")
    INVITE = "invite", _("Invite to the store")
    SEND_COUPON = "send_coupon", _("Give a coupon")


class MessageChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    CHAT = "chat", _("Work-chat message")


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


class SkipReason(models.TextChoices):
    NO_CONSENT = "no_consent", _("No consent on this channel")
    QUIET_HOURS = "quiet_hours", _("Quiet hours")
    FREQUENCY_CAP = "frequency_cap", _("Frequency cap reached")


class AudienceKind(models.TextChoices):
    SEGMENT = "segment", _("A segment")
    MY_MEMBERS = "my_members", _("My members")
    STORE_MEMBERS = "store_members", _("The store's members")
    TIER = "tier", _("A tier")


class BroadcastStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class Platform(models.TextChoices):
    DOUYIN = "douyin", _("Douyin")
    WEIBO = "weibo", _("Weibo")
    MOMENTS = "moments", _("WeChat Moments")


class LivestreamStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    LIVE = "live", _("Live")
    ENDED = "ended", _("Ended")
    CANCELLED = "cancelled", _("Cancelled")
