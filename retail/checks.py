"""Deploy checks of our own: production must not run on the embedded defaults."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def production_secrets_are_set(app_configs, **kwargs):
    errors = []
    if settings.PII_ENCRYPTION_KEYS == [settings._DEV_PII_KEY]:
        errors.append(
            Error(
                "PII_ENCRYPTION_KEYS is the embedded development key.",
                hint="Set PII_ENCRYPTION_KEYS (Fernet keys, newest first).",
                id="tiandi.E001",
            )
        )
    if settings.PII_BLIND_INDEX_KEY == settings._DEV_BLIND_INDEX_KEY:
        errors.append(
            Error(
                "PII_BLIND_INDEX_KEY is the embedded development key.",
                hint="Set PII_BLIND_INDEX_KEY to a long random secret; never change it without re-indexing.",
                id="tiandi.E002",
            )
        )
    return errors
