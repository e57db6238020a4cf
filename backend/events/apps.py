from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "backend.events"
    label = "events"

    def ready(self) -> None:
        # GDPR: a customer's redaction must reach their storefront events and visitor links too.
        from backend.shops import redaction

        from . import privacy, recent_views

        redaction.customer_redactor(privacy.redact_events)
        redaction.shop_redactor(recent_views.forget_shop)
        redaction.customer_exporter("storefront_events")(privacy.export_events)
