from django.apps import AppConfig


class PopupsConfig(AppConfig):
    name = "backend.popups"
    label = "popups"

    def ready(self) -> None:
        # Orders saved through the ORM (webhooks) mark their popup codes used at once; bulk syncs are caught by
        # the beat job tasks.match_recent_redemptions.
        from django.db.models.signals import post_save

        from backend.orders.models import Order
        from backend.orders.signals import orders_recorded
        from backend.shops import redaction

        from . import privacy, tasks

        post_save.connect(tasks.on_order_saved, sender=Order, dispatch_uid="popups.order_saved")
        orders_recorded.connect(tasks.on_orders_recorded, dispatch_uid="popups.orders_recorded")
        # GDPR: an email given in a popup is personal data; redaction and exports must include it.
        redaction.customer_redactor(privacy.redact_consents)
        redaction.customer_exporter("popup_consents")(privacy.export_consents)
