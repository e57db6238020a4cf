"""Print a sign-in link to the widget rules screen for one shop (valid 10 minutes), until the dashboard's own
embedded-app sign-in replaces it."""
from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from backend.shops.models import Shop
from backend.storefront.merchant_session import login_link


class Command(BaseCommand):
    help = "Print a short-lived sign-in link to /admin/widgets/ for the shop with this domain."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("domain")

    def handle(self, *args, **options) -> None:  # noqa: ANN002, ANN003
        shop = Shop.objects.filter(domain=options["domain"], state=Shop.State.INSTALLED).first()
        if shop is None:
            raise CommandError(f"no installed shop with domain {options['domain']!r}")
        print(settings.APP_URL + login_link(shop))
