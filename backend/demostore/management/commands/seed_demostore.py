"""`manage.py seed_demostore`: the deterministic sample shop, its catalog and orders, for the demo storefront."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from backend.demostore.sample import seed_store
from backend.shops.models import Shop


class Command(BaseCommand):
    help = "Create the sample shop the demo storefront, the browser tests and the Lighthouse bench use"

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--domain", default="widgets-demo.myshopify.com")
        parser.add_argument("--origin", default="", help="extra storefront origin allowed to call the widget API")
        parser.add_argument("--currency", default="EUR")
        parser.add_argument("--locale", default="en")

    def handle(self, *args, **opts) -> None:
        if Shop.objects.filter(domain=opts["domain"]).exists():
            raise CommandError(f"{opts['domain']} exists already")
        store = seed_store(opts["domain"], origin=opts["origin"], currency=opts["currency"], locale=opts["locale"])
        self.stdout.write(f"/demo/{store.shop.domain}/ ({len(store.products)} products)")
