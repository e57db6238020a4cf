from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "backend.segments"
    label = "segments"

    def ready(self) -> None:
        # Real time: orders saved through the ORM and stored storefront events refresh one profile each.
        # Upserts (no post_save) send backend.orders/customers signals; a finished sync rebuilds once.
        from django.db.models.signals import post_save

        from backend.customers.signals import customers_recorded
        from backend.events import hooks
        from backend.orders.models import Order
        from backend.orders.signals import orders_recorded
        from backend.shops import redaction
        from backend.shops.signals import sync_finished

        from . import privacy, tasks

        post_save.connect(tasks.on_order_saved, sender=Order, dispatch_uid="segments.order_saved")
        orders_recorded.connect(tasks.on_orders_recorded, dispatch_uid="segments.orders_recorded")
        customers_recorded.connect(tasks.on_customers_recorded, dispatch_uid="segments.customers_recorded")
        sync_finished.connect(tasks.on_sync_finished, dispatch_uid="segments.sync_finished")
        hooks.register(tasks.on_events, types=["product_viewed", "collection_viewed", "added_to_cart",
                                               "widget_click"])
        # GDPR: profiles copy emails and phones into identities; redaction and exports must include them.
        redaction.customer_redactor(privacy.redact_profiles)
        redaction.customer_exporter("unified_profiles")(privacy.export_profiles)
