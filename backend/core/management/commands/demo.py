"""`manage.py demo`: start the app on SQLite (grows into: stand-in store, install, sync, storefront)."""
from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the demo: app at http://127.0.0.1:8000"

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, **opts) -> None:
        self.stdout.write(f"Admin: http://127.0.0.1:{opts['port']}/")
        call_command("runserver", f"127.0.0.1:{opts['port']}", use_reloader=False)
