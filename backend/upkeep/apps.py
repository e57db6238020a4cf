from django.apps import AppConfig


class UpkeepConfig(AppConfig):
    name = "backend.upkeep"
    label = "upkeep"

    def ready(self) -> None:
        # What makes periodic work necessary for a shop: stored events, recorded orders, bulk writes.
        from django.db.models.signals import post_save

        from backend.customers.signals import customers_recorded
        from backend.events import hooks
        from backend.orders.models import Order
        from backend.orders.signals import orders_recorded

        from . import marks

        hooks.register(marks.on_events)
        orders_recorded.connect(marks.on_orders_recorded, dispatch_uid="upkeep.orders_recorded")
        customers_recorded.connect(marks.on_customers_recorded, dispatch_uid="upkeep.customers_recorded")
        post_save.connect(marks.on_order_saved, sender=Order, dispatch_uid="upkeep.order_saved")
