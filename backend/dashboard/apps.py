from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "backend.dashboard"
    label = "dashboard"

    def ready(self) -> None:
        from backend.shops.signals import sync_finished

        # A merchant opening Analytics right after install should see the synced history, not wait for the hour.
        sync_finished.connect(_roll_up_after_sync, dispatch_uid="dashboard.sync_finished")


def _roll_up_after_sync(sender, shop_id: int, **kwargs) -> None:  # noqa: ANN001 - Django signal signature
    import logging

    from .analytics_views import PERIODS
    from .tasks import rollup_one_shop

    try:
        rollup_one_shop.delay(shop_id, days=max(PERIODS))  # every period the Analytics page offers
    except Exception:  # the hourly beat job heals it
        logging.getLogger("personalize.dashboard").exception("could not schedule rollups for shop=%s", shop_id)
