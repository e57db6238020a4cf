"""Give a person access to a shop's standalone admin (WooCommerce merchants) and print a one-time sign-in link.

    manage.py merchant_access shop.example.com ana@example.com [--password ...] [--role staff]
"""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.dashboard.auth import LINK_MAX_AGE, login_token
from backend.dashboard.models import ShopMember
from backend.shops.models import Shop


class Command(BaseCommand):
    help = "Link a user to a shop's admin (creating the user if needed) and print a one-time sign-in link."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("domain")
        parser.add_argument("email")
        parser.add_argument("--password", default="", help="set this password (else leave it unchanged/unusable)")
        parser.add_argument("--role", default=ShopMember.Role.OWNER, choices=ShopMember.Role.values)

    def handle(self, *args: object, domain: str, email: str, password: str, role: str, **options: object) -> None:
        shop = Shop.objects.filter(domain=domain.strip().lower(), state=Shop.State.INSTALLED).first()
        if shop is None:
            raise CommandError(f"no installed shop {domain!r}")
        users = get_user_model()
        user = users.objects.filter(username=email).first()
        if user is None:
            user = users.objects.create_user(username=email, email=email, password=password or None)
        elif password:
            user.set_password(password)
            user.save(update_fields=["password"])
        ShopMember.objects.for_shop(shop).get_or_create(shop=shop, user=user, defaults={"role": role})
        base = getattr(settings, "APP_URL", "").rstrip("/")
        link = f"{base}/admin/login/link?token={login_token(shop, actor=f'user:{email}')}"
        self.stdout.write(f"{email} can sign in to {shop.domain} at {base}/admin/login/")
        self.stdout.write(f"one-time link (valid {LINK_MAX_AGE // 60} minutes): {link}")
