from django.apps import AppConfig


class ShopsConfig(AppConfig):
    name = "backend.shops"
    label = "shops"
