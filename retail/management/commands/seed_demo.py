"""`manage.py seed_demo`: the demo brands, their logins and partner tokens (see retail/demo.py)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from retail import demo


class Command(BaseCommand):
    help = (
        "Seed two demo brands (stores, staff in every role, products, members, 30 days of orders), "
        "a superuser 'admin' and one partner token per brand, then print the logins. "
        "Idempotent: demo brands that exist are reused. This is a seed: rows are written in bulk "
        "(COPY on PostgreSQL) without domain events or audit rows."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--members",
            type=int,
            default=demo.DEFAULT_MEMBERS,
            help=f"members per brand (default {demo.DEFAULT_MEMBERS:,})",
        )
        parser.add_argument(
            "--orders",
            type=int,
            default=demo.DEFAULT_ORDERS,
            help=f"orders per brand over the last {demo.ORDER_DAYS} days (default {demo.DEFAULT_ORDERS:,})",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="wipe the demo brands (and their staff logins) and seed them again",
        )

    def handle(self, *args, members: int, orders: int, reset: bool, verbosity: int, **options):
        if members < 0 or orders < 0 or members > 99_999_999:
            raise CommandError("--members must be 0..99,999,999 and --orders at least 0.")
        log = self.stdout.write if verbosity >= 1 else (lambda _msg: None)
        result = demo.seed_demo(members=members, orders=orders, reset=reset, log=log)
        self._print(result)

    def _print(self, result: demo.SeedResult) -> None:
        out, ok = self.stdout.write, self.style.SUCCESS
        out("")
        out(
            ok(
                f"Tiandi demo ready in {result.seconds:.1f}s. Every demo login's password: {demo.DEMO_PASSWORD}"
            )
        )
        note = " (created)" if result.admin_created else ""
        out(f"  Django admin (superuser): {demo.ADMIN_USERNAME}{note}  → /admin/")
        for b in result.brands:
            c = b.counts
            state = "seeded now" if b.created else "reused"
            out("")
            out(
                ok(
                    f"{b.spec.name} [{b.spec.slug}] — {state}: {c['stores']} stores, {c['products']:,} products, "
                    f"{c['members']:,} members, {c['orders']:,} orders"
                )
            )
            out(f"  HQ admin:        {b.hq}")
            out(f"  store managers:  {', '.join(b.managers)}")
            out(
                f"  guides:          {', '.join(b.guides[:3])} … ({len(b.guides)} in all, "
                f"<brand>-<store>-guide1..{demo.GUIDES_PER_STORE})"
            )
            out(f"  partner token:   {b.token}")
            out(f"  partner login:   {b.partner}  → /partner/ (its console)")
            if b.token_note:
                out(self.style.WARNING(f"                   ({b.token_note})"))
        out("")
        out(f"Clear demo tokens are kept in {demo.CREDENTIALS_FILE} (local only, git-ignored).")
