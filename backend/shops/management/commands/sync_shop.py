"""`manage.py sync_shop DOMAIN [--full]`: sync one shop, with a progress bar read from its SyncRun.

The shop's own platform picks the connector (`--platform` only settles a domain two platforms share).
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
        parser.add_argument("--platform", choices=Shop.Platform.values, default=None)

    def handle(self, *args, **opts) -> None:
        shops = Shop.objects.filter(domain=opts["domain"].strip().lower())
        if opts["platform"]:
            shops = shops.filter(platform=opts["platform"])
        found = list(shops[:2])
        if not found:
            raise CommandError(f"no shop {opts['domain']!r}" + (f" on {opts['platform']}" if opts["platform"] else ""))
        if len(found) > 1:
            raise CommandError(f"{opts['domain']!r} is both a Shopify and a WooCommerce shop: add --platform")
        shop = found[0]
        if not shop.is_active:
            raise CommandError(f"{shop.domain} is not installed")
        if shop.platform == Shop.Platform.WOOCOMMERCE:
            return self._woocommerce(shop, opts["full"])
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

    def _woocommerce(self, shop: Shop, full: bool) -> None:
        from integrations.woocommerce.sync import resume_sync, run_sync, start_sync
        from integrations.woocommerce.tasks.sync import sync_shop

        running = SyncRun.objects.for_shop(shop).filter(status=SyncRun.Status.RUNNING).first()
        if running is not None:  # start_sync would hand it back, and a second driver would race its checkpoints
            raise CommandError(f"a {running.kind} sync of {shop.domain} is already running (run {running.pk}); "
                               "wait for it to end")
        failed = SyncRun.objects.for_shop(shop).order_by("-started_at").first()
        if not full and failed is not None and failed.status == SyncRun.Status.FAILED and failed.kind == "full":
            run = resume_sync(failed)  # an unfinished full sync goes on from the page each stage reached
        else:
            run = start_sync(shop, kind="full" if full else "incremental")
        if settings.CELERY_TASK_ALWAYS_EAGER:
            run = run_sync(run)
        else:
            sync_shop.delay(run.pk)
            with tqdm(total=0, unit="rec", dynamic_ncols=True, file=self.stderr) as bar:
                while run.status == SyncRun.Status.RUNNING:
                    time.sleep(0.5)
                    close_old_connections()
                    run.refresh_from_db()
                    _show(bar, run)
        if run.status != SyncRun.Status.DONE:
            raise CommandError(f"sync {run.status}: {run.error}")
        self.stdout.write(self.style.SUCCESS(f"synced {shop.domain} ({run.kind}): {run.rows_done} records"))


def _show(bar: tqdm, run: SyncRun) -> None:
    stage = next((s for s, st in (run.stages or {}).items() if st.get("state") != "done"), "done")
    bar.total = max(run.rows_total or 0, run.rows_done or 0)
    bar.n = run.rows_done or 0
    bar.set_postfix(stage=stage, status=run.status)
    bar.refresh()
