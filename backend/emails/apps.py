from django.apps import AppConfig


class EmailsConfig(AppConfig):
    name = "backend.emails"
    label = "emails"

    def ready(self) -> None:
        from anymail.signals import tracking

        from . import tracking as ours

        tracking.connect(ours.on_tracking, dispatch_uid="emails.tracking")
