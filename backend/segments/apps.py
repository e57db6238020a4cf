from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "backend.segments"
    label = "segments"

    def ready(self) -> None:
        # Real time: orders saved through the ORM and stored storefront events refresh one profile each.
        # Bulk upserts (no post_save) call backend.segments.tasks.orders_changed instead.
        from django.db.models.signals import post_save

        from backend.events import hooks
        from backend.orders.models import Order
        from backend.shops import redaction

        from . import privacy, tasks

        post_save.connect(tasks.on_order_saved, sender=Order, dispatch_uid="segments.order_saved")
        hooks.register(tasks.on_events, types=["product_viewed", "collection_viewed", "added_to_cart",
                                               "widget_click"])
        # GDPR: profiles copy emails and phones into identities; redaction and exports must include them.
        redaction.customer_redactor(privacy.redact_profiles)
        redaction.customer_exporter("unified_profiles")(privacy.export_profiles)
