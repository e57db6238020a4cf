from django.apps import AppConfig


class AudiencesConfig(AppConfig):
    name = "backend.audiences"
    label = "audiences"

    def ready(self) -> None:
        # GDPR: a redacted customer leaves every destination at once, not on the next scheduled run. Registered after
        # segments' redactor in INSTALLED_APPS order, but ours reads only the customer identity, which stays.
        from backend.segments import signals as segment_signals
        from backend.shops import redaction

        from . import privacy, tasks

        redaction.customer_redactor(privacy.redact_from_destinations)
        redaction.customer_exporter("ad_audiences")(privacy.export_audiences)
        segment_signals.memberships_changed.connect(tasks.on_memberships_changed,
                                                    dispatch_uid="audiences.memberships_changed")
