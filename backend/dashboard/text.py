"""Every word of the cockpit in the two languages merchants use, and how a page picks its language."""
from __future__ import annotations

from django.http import HttpRequest

from backend.shops.models import Shop

LANGS = ("es", "en")

_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "app": "Personalize", "nav_home": "Home", "nav_widgets": "Widgets", "nav_segments": "Segments",
        "nav_popups": "Popups", "nav_experiments": "Experiments", "nav_analytics": "Analytics",
        "nav_settings": "Settings", "nav_audit": "Activity", "other_lang": "Español", "sign_out": "Sign out",
        "home_title": "Getting started", "connection": "Connection", "connected": "Connected",
        "not_connected": "Not connected", "sync": "Catalog sync", "sync_none": "Not started yet",
        "checklist": "Checklist", "step_embed": "Enable the app embed in your theme",
        "step_blocks": "Place the widget blocks on your pages", "step_live": "First widget live for shoppers",
        "open_editor": "Open the theme editor", "done": "Done", "todo": "To do",
        "login_title": "Sign in", "username": "Email or username", "password": "Password",
        "sign_in": "Sign in", "bad_login": "Wrong email or password, or no shop is linked to this account.",
        "choose_shop": "Choose a shop",
        "analytics_title": "Analytics", "period": "Last days", "impressions": "Impressions", "clicks": "Clicks",
        "ctr": "CTR", "add_to_carts": "Add to carts", "orders": "Orders", "revenue": "Revenue (net)",
        "view_orders": "View-through orders", "view_revenue": "View-through revenue", "discount_cost": "Discount cost",
        "source": "Source", "day": "Day", "numbers": "Show the numbers", "csv": "Download CSV",
        "revenue_by_day": "Attributed revenue per day (click-through)", "by_source": "Attributed revenue by source",
        "by_channel": "Revenue by channel", "channel": "Channel", "shop_metrics": "Shop (last 30 days)",
        "aov": "Average order value", "conversion_rate": "Conversion rate", "retention_rate": "Retention rate",
        "repeat_purchase_rate": "Repeat-purchase rate", "value_distribution": "Predicted customer value (365 days)",
        "customers": "Customers", "no_data": "No data yet: figures appear after the next hourly computation.",
        "attribution_note": "Attributed = a shopper clicked the product in the widget and ordered it within "
                            "{days} days (counted once per order line, net of refunds). View-through is shown "
                            "apart and never added in.",
        "rollup_now": "Recompute now", "computed_at": "Computed",
        "settings_title": "Settings", "attribution_window_days": "Attribution window (days)",
        "data_retention_days": "Keep storefront events for (days)", "locale_override": "Admin language",
        "currency_override": "Currency shown (blank: the shop's)", "follow_shop": "Follow the shop",
        "save": "Save", "saved": "Saved.", "gdpr": "Data exports",
        "audit_title": "Activity", "when": "When", "who": "Who", "what": "What", "target": "Target",
        "before": "Before", "after": "After", "no_audit": "No changes recorded yet.",
        "experiments_title": "Experiments", "new_experiment": "New experiment", "name": "Name",
        "status": "Status", "target_kind": "Test", "widget": "Widget", "popup": "Popup", "metric": "Primary metric",
        "arms": "Variants", "arm": "Variant", "weight": "Weight", "algorithm": "Algorithm", "title_override": "Title",
        "holdout": "Off (holdout)", "default": "Current setting", "create": "Create", "start": "Start",
        "stop": "Stop", "promote": "Make this the setting", "promoted": "Promoted: the widget now uses this variant.",
        "visitors": "Visitors", "conversions": "Conversions", "conv_rate": "Conversion", "interval":
        "Difference vs control (95% always-valid interval)", "srm_warning": "Sample ratio mismatch: visitors are "
        "not split as configured (p = {p}). Check the setup before trusting these results.",
        "draft": "Draft", "running": "Running", "stopped": "Stopped", "control": "control", "no_experiments":
        "No experiments yet.", "conversion": "Conversion rate", "revenue_per_visitor": "Revenue per visitor",
        "results": "Results", "winner": "Winner", "campaign": "Popup campaign", "add_arm": "Variant",
        "bad_arms": "An experiment needs at least two variants with positive weights and distinct names.",
        "busy": "Another experiment is already running on this target.",
        "offer": "Offer (popups)",
        "cache_down": "Cache unavailable: {reason}. Storefront widgets keep showing what each server holds in "
                      "memory; other storefront requests are answered \u201cretry later\u201d until it is back.",
        "unavailable_title": "Temporarily unavailable",
        "unavailable_body": "A service this page needs is not answering. Your data is safe; please try again in "
                            "a minute.", "retry": "Try again",
    },
    "es": {
        "app": "Personalize", "nav_home": "Inicio", "nav_widgets": "Widgets", "nav_segments": "Segmentos",
        "nav_popups": "Popups", "nav_experiments": "Experimentos", "nav_analytics": "Analítica",
        "nav_settings": "Ajustes", "nav_audit": "Actividad", "other_lang": "English", "sign_out": "Cerrar sesión",
        "home_title": "Primeros pasos", "connection": "Conexión", "connected": "Conectada",
        "not_connected": "Sin conectar", "sync": "Sincronización del catálogo", "sync_none": "Aún no ha empezado",
        "checklist": "Lista de tareas", "step_embed": "Activa el app embed en tu tema",
        "step_blocks": "Coloca los bloques de widgets en tus páginas",
        "step_live": "Primer widget visible para los compradores",
        "open_editor": "Abrir el editor de temas", "done": "Hecho", "todo": "Pendiente",
        "login_title": "Iniciar sesión", "username": "Correo o usuario", "password": "Contraseña",
        "sign_in": "Entrar", "bad_login": "Correo o contraseña incorrectos, o ninguna tienda vinculada a esta cuenta.",
        "choose_shop": "Elige una tienda",
        "analytics_title": "Analítica", "period": "Últimos días", "impressions": "Impresiones", "clicks": "Clics",
        "ctr": "CTR", "add_to_carts": "Añadidos al carrito", "orders": "Pedidos", "revenue": "Ingresos (netos)",
        "view_orders": "Pedidos por visualización", "view_revenue": "Ingresos por visualización",
        "discount_cost": "Coste de descuentos", "source": "Origen", "day": "Día", "numbers": "Ver las cifras",
        "csv": "Descargar CSV", "revenue_by_day": "Ingresos atribuidos por día (clic)",
        "by_source": "Ingresos atribuidos por origen", "by_channel": "Ingresos por canal", "channel": "Canal",
        "shop_metrics": "Tienda (últimos 30 días)", "aov": "Valor medio del pedido",
        "conversion_rate": "Tasa de conversión", "retention_rate": "Tasa de retención",
        "repeat_purchase_rate": "Tasa de recompra", "value_distribution": "Valor previsto de los clientes (365 días)",
        "customers": "Clientes", "no_data": "Aún no hay datos: las cifras aparecen tras el próximo cálculo horario.",
        "attribution_note": "Atribuido = un comprador hizo clic en el producto del widget y lo pidió en {days} "
                            "días (una vez por línea de pedido, neto de reembolsos). Las visualizaciones se "
                            "muestran aparte y nunca se suman.",
        "rollup_now": "Recalcular ahora", "computed_at": "Calculado",
        "settings_title": "Ajustes", "attribution_window_days": "Ventana de atribución (días)",
        "data_retention_days": "Conservar eventos de la tienda durante (días)", "locale_override": "Idioma del panel",
        "currency_override": "Moneda mostrada (vacío: la de la tienda)", "follow_shop": "El de la tienda",
        "save": "Guardar", "saved": "Guardado.", "gdpr": "Exportaciones de datos",
        "audit_title": "Actividad", "when": "Cuándo", "who": "Quién", "what": "Qué", "target": "Objeto",
        "before": "Antes", "after": "Después", "no_audit": "Aún no hay cambios registrados.",
        "experiments_title": "Experimentos", "new_experiment": "Nuevo experimento", "name": "Nombre",
        "status": "Estado", "target_kind": "Prueba", "widget": "Widget", "popup": "Popup",
        "metric": "Métrica principal", "arms": "Variantes", "arm": "Variante", "weight": "Peso",
        "algorithm": "Algoritmo", "title_override": "Título", "holdout": "Apagado (grupo de control)",
        "default": "Ajuste actual", "create": "Crear", "start": "Iniciar", "stop": "Detener",
        "promote": "Usar esta variante", "promoted": "Hecho: el widget usa ahora esta variante.",
        "visitors": "Visitantes", "conversions": "Conversiones", "conv_rate": "Conversión",
        "interval": "Diferencia frente al control (intervalo siempre válido del 95 %)",
        "srm_warning": "Desajuste en el reparto: los visitantes no se reparten como se configuró (p = {p}). "
                       "Revisa la configuración antes de fiarte de estos resultados.",
        "draft": "Borrador", "running": "En curso", "stopped": "Detenido", "control": "control",
        "no_experiments": "Aún no hay experimentos.", "conversion": "Tasa de conversión",
        "revenue_per_visitor": "Ingresos por visitante", "results": "Resultados", "winner": "Ganadora",
        "campaign": "Campaña de popup", "add_arm": "Variante",
        "bad_arms": "Un experimento necesita al menos dos variantes con pesos positivos y nombres distintos.",
        "busy": "Ya hay otro experimento en curso sobre este objetivo.",
        "offer": "Oferta (popups)",
        "cache_down": "Caché no disponible: {reason}. Los widgets de la tienda siguen mostrando lo que cada "
                      "servidor tiene en memoria; el resto de peticiones de la tienda reciben \u201cvuelve a "
                      "intentarlo\u201d hasta que vuelva.",
        "unavailable_title": "No disponible temporalmente",
        "unavailable_body": "Un servicio que esta página necesita no responde. Tus datos están a salvo; vuelve a "
                            "intentarlo en un minuto.", "retry": "Reintentar",
    },
}
assert set(_TEXT["en"]) == set(_TEXT["es"]), "every word in both languages"


def text(lang: str) -> dict[str, str]:
    return _TEXT[lang if lang in LANGS else "en"]


def page_lang(request: HttpRequest, shop: Shop) -> str:
    """?lang= for this page, else the merchant's override in settings, else the shop's locale."""
    from .models import ShopSettings

    asked = request.GET.get("lang", "")
    if asked in LANGS:
        return asked
    override = ShopSettings.of(shop).locale_override
    if override in LANGS:
        return override
    return "es" if shop.locale.lower().startswith("es") else "en"
