from django.apps import AppConfig


class PopupsConfig(AppConfig):
    name = "backend.popups"
    label = "popups"
