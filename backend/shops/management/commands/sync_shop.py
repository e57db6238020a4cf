"""`manage.py sync_shop DOMAIN [--full]`: sync one shop, with a progress bar read from its SyncRun.

Without --full: resume the shop's unfinished full sync if there is one, otherwise reconcile what changed since
the last cursors. With --full: start a new full sync (bulk operations). With a broker configured the work runs on
the workers and this command watches the SyncRun; without one it runs here and reports each recorded step.
"""
from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections
from tqdm import tqdm

from backend.shops.models import Shop, SyncRun


class Command(BaseCommand):
    help = "Sync one shop's catalog, customers and orders from its platform"

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("domain")
        parser.add_argument("--full", action="store_true", help="start a new full sync (bulk operations)")
        parser.add_argument("--platform", default=Shop.Platform.SHOPIFY)

    def handle(self, *args, **opts) -> None:
        shop = Shop.objects.filter(platform=opts["platform"], domain=opts["domain"].strip().lower()).first()
        if shop is None:
            raise CommandError(f"no {opts['platform']} shop {opts['domain']!r}")
        if not shop.is_active:
            raise CommandError(f"{shop.domain} is not installed")
        from integrations.shopify.sync import current_run, run_sync, start_full_sync

        run = current_run(shop)
        if not opts["full"] and run is None:
            from integrations.shopify.reconcile import reconcile_shop

            applied = reconcile_shop(shop)
            self.stdout.write(self.style.SUCCESS(f"reconciled {shop.domain}: {applied}"))
            return
        eager = settings.CELERY_TASK_ALWAYS_EAGER
        if opts["full"] or run is None:
            run = start_full_sync(shop, force_new=True, enqueue=not eager)
        elif not eager:
            from integrations.shopify.tasks.sync import sync_shop

            sync_shop.delay(shop.pk, run.pk)
        with tqdm(total=0, unit="rec", dynamic_ncols=True, file=self.stderr) as bar:
            if eager:
                run_sync(shop, run, progress=lambda r: _show(bar, r))
            else:
                while run.status == SyncRun.Status.RUNNING:
                    time.sleep(0.5)
                    close_old_connections()
                    run.refresh_from_db()
                    _show(bar, run)
        run.refresh_from_db()
        if run.status != SyncRun.Status.DONE:
            raise CommandError(f"sync {run.status}: {run.error}")
        self.stdout.write(self.style.SUCCESS(f"synced {shop.domain}: {run.rows_done} records"))


def _show(bar: tqdm, run: SyncRun) -> None:
    stage = next((s for s, st in (run.stages or {}).items() if st.get("state") != "done"), "done")
    bar.total = max(run.rows_total or 0, run.rows_done or 0)
    bar.n = run.rows_done or 0
    bar.set_postfix(stage=stage, status=run.status)
    bar.refresh()
