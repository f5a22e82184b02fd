"""Re-encrypt every member's PII under the newest key, in batches, while the site serves.

Rotation: put the new key first in PII_ENCRYPTION_KEYS (keep the old ones after it), deploy,
run this command, then drop the old key. Each batch is committed on its own, so an
interrupted run loses nothing and a repeat is harmless.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from members import services
from retail.models import Brand


class Command(BaseCommand):
    help = "Re-encrypt member phone numbers and names under the newest PII key, in batches."

    def add_arguments(self, parser):
        parser.add_argument(
            "--brand", metavar="SLUG", help="Only this brand's members (default: every brand)."
        )
        parser.add_argument(
            "--batch-size", type=int, default=1000, help="Members per transaction (default 1000)."
        )

    def handle(self, *args, brand=None, batch_size=1000, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        brand_id = None
        if brand:
            brand_id = Brand.objects.filter(slug=brand).values_list("pk", flat=True).first()
            if brand_id is None:
                raise CommandError(f"No brand with slug {brand!r}.")

        def progress(done: int) -> None:
            self.stdout.write(f"re-encrypted {done} members")

        done = services.rotate_member_keys(brand_id=brand_id, batch_size=batch_size, on_batch=progress)
        self.stdout.write(self.style.SUCCESS(f"Done: {done} members under the newest key."))
