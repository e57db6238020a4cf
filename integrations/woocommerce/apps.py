from django.apps import AppConfig


class WoocommerceConfig(AppConfig):
    name = "integrations.woocommerce"
    label = "integrations_woocommerce"
