"""The demo storefront's own words in es and en (shop data comes from the catalog, escaped by the templates)."""
from __future__ import annotations

_UI = {
    "en": {
        "home": "Home",
        "collections": "Collections",
        "cart": "Cart",
        "add_to_cart": "Add to cart",
        "sold_out": "Sold out",
        "featured": "New arrivals",
        "empty_cart": "Your cart is empty.",
        "quantity": "Quantity",
        "shops": "Demo shops",
        "language": "Language",
        "regular_price": "Regular price",
    },
    "es": {
        "home": "Inicio",
        "collections": "Colecciones",
        "cart": "Carrito",
        "add_to_cart": "Añadir al carrito",
        "sold_out": "Agotado",
        "featured": "Novedades",
        "empty_cart": "Tu carrito está vacío.",
        "quantity": "Cantidad",
        "shops": "Tiendas de demostración",
        "language": "Idioma",
        "regular_price": "Precio habitual",
    },
}


def ui_strings(locale: str) -> dict[str, str]:
    return _UI.get(locale, _UI["en"])
