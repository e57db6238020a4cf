from django.apps import AppConfig


class StorefrontConfig(AppConfig):
    name = "backend.storefront"
    label = "storefront"
