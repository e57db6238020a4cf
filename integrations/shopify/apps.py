from django.apps import AppConfig


class ShopifyConfig(AppConfig):
    name = "integrations.shopify"
    label = "integrations_shopify"
