from django.apps import AppConfig


class DemostoreConfig(AppConfig):
    name = "backend.demostore"
    label = "demostore"
