"""Cache invalidation the core does on model signals (signals, not services: the admin,
cascades and data migrations change these rows too).

A user's roles (retail.selectors.roles_for_user, read on every request) are cached per user:
the entry goes when one of their roles is saved or deleted, when their user row changes, and
when a store or brand they hold a role in changes (the role switch shows their names). Dropped
now and again after the transaction commits, so a reader that read the old rows before the
commit cannot keep them cached."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from .models import Brand, StaffRole, Store
from .selectors import roles_cache_key


def forget_roles(user_ids) -> None:
    keys = [roles_cache_key(pk) for pk in set(user_ids) if pk]
    if not keys:
        return
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys))


def _role_changed(sender, instance: StaffRole, **kwargs) -> None:
    forget_roles([instance.user_id])


def _user_changed(sender, instance, **kwargs) -> None:
    forget_roles([instance.pk])


def _store_changed(sender, instance: Store, **kwargs) -> None:
    forget_roles(StaffRole.objects.filter(store_id=instance.pk).values_list("user_id", flat=True))


def _brand_changed(sender, instance: Brand, **kwargs) -> None:
    forget_roles(StaffRole.objects.filter(brand_id=instance.pk).values_list("user_id", flat=True))


def connect() -> None:
    for signal in (post_save, post_delete):
        signal.connect(_role_changed, sender=StaffRole, dispatch_uid=f"retail-roles-{signal is post_save}")
        signal.connect(
            _user_changed, sender=get_user_model(), dispatch_uid=f"retail-user-{signal is post_save}"
        )
    post_save.connect(_store_changed, sender=Store, dispatch_uid="retail-roles-store")
    post_save.connect(_brand_changed, sender=Brand, dispatch_uid="retail-roles-brand")
