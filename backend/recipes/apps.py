from django.apps import AppConfig


class RecipesConfig(AppConfig):
    name = "backend.recipes"
    label = "recipes"

    def ready(self) -> None:
        # Triggers: storefront events (cart, browse) through the events hooks; orders through post_save and the
        # upserts' orders_recorded signal. Each only enters people into runs; the beat job does the rest.
        from django.db.models.signals import post_save

        from backend.events import hooks
        from backend.orders.models import Order
        from backend.orders.signals import orders_recorded

        from . import triggers

        hooks.register(triggers.on_events, types=["added_to_cart", "product_viewed"])
        post_save.connect(triggers.on_order_saved, sender=Order, dispatch_uid="recipes.order_saved")
        orders_recorded.connect(triggers.on_orders_recorded, dispatch_uid="recipes.orders_recorded")
