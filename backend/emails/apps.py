from django.apps import AppConfig


class EmailsConfig(AppConfig):
    name = "backend.emails"
    label = "emails"
