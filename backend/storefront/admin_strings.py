"""The widget admin screen's words, in the two languages merchants use."""
from __future__ import annotations

_STRINGS = {
    "en": {
        "title": "Storefront widgets",
        "saved": "Saved. The storefront shows the change right away.",
        "enabled": "Show this widget",
        "title_en": "Title (English)",
        "title_es": "Title (Spanish)",
        "limit": "Number of products",
        "algorithm": "Algorithm",
        "default": "Recommended default",
        "excluded_products": "Never show these products (ids, one per line)",
        "excluded_collections": "Never show products from these collections (ids)",
        "pinned_products": "Always show these first (ids, in order)",
        "rebuyable_products": "Products customers buy again (ids)",
        "min_stock": "Minimum stock to show a product",
        "save": "Save",
        "origins": "Other storefront addresses allowed to load widgets (one per line, e.g. https://www.example.com)",
        "bad_origins": "Not a valid address",
        "language": "Español",
        "widgets": {"also_bought": "Customers also bought", "recently_viewed": "Continue shopping",
                    "bestsellers": "Bestsellers"},
    },
    "es": {
        "title": "Widgets de la tienda",
        "saved": "Guardado. La tienda muestra el cambio al momento.",
        "enabled": "Mostrar este widget",
        "title_en": "Título (inglés)",
        "title_es": "Título (español)",
        "limit": "Número de productos",
        "algorithm": "Algoritmo",
        "default": "Recomendado por defecto",
        "excluded_products": "No mostrar nunca estos productos (ids, uno por línea)",
        "excluded_collections": "No mostrar productos de estas colecciones (ids)",
        "pinned_products": "Mostrar siempre primero (ids, en orden)",
        "rebuyable_products": "Productos que los clientes vuelven a comprar (ids)",
        "min_stock": "Stock mínimo para mostrar un producto",
        "save": "Guardar",
        "origins": "Otras direcciones de la tienda que pueden cargar widgets (una por línea, p. ej. https://www.ejemplo.es)",
        "bad_origins": "Dirección no válida",
        "language": "English",
        "widgets": {"also_bought": "Los clientes también compraron", "recently_viewed": "Sigue comprando",
                    "bestsellers": "Los más vendidos"},
    },
}


def admin_strings(lang: str) -> dict:
    return _STRINGS.get(lang, _STRINGS["en"])
