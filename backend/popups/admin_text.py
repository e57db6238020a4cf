"""The popup admin screen's words, es and en."""
from __future__ import annotations

_TEXT = {
    "en": {
        "title": "Exit-intent popups", "language": "Español", "new": "New campaign", "none": "No campaigns yet.",
        "name": "Name", "status": "Status", "schedule": "Schedule", "codes_ready": "Codes ready",
        "claimed": "Claimed", "redeemed": "Redeemed", "shown": "Shown", "converted": "Orders with the code",
        "edit": "Edit", "save": "Save", "saved": "Saved.",
        "targeting": "Who sees it", "include": "Only these segments (one key a line; empty = everyone)",
        "exclude": "Never these segments", "trigger": "Trigger", "min_seconds": "Minimum seconds on the page",
        "mobile": "Also on phones (fast scroll up, or coming back to the tab)",
        "offers": "Offer by who is leaving",
        "rules_help": "One rule a line, first match wins: `visitors:new = free_shipping`, `tier:vip = 20%`, "
                      "`visitors:returning = 10%`.",
        "rules": "Rules", "default": "Everyone else (`10%`, `free_shipping`, or empty for no popup)",
        "copy": "Text", "headline": "Headline", "body": "Body ({offer} is replaced by the offer)",
        "cta": "Button", "consent": "Consent text (shown next to the email checkbox)",
        "email_capture": "Ask for an email (with explicit consent)", "starts": "Starts", "ends": "Ends",
        "cap": "How often", "cap_session": "Once per session", "cap_days": "Once every N days", "days": "Days",
        "suppress": "Don't show for N days after a conversion", "require_cart": "Only when the cart has items",
        "code_mode": "Codes", "unique": "Unique single-use codes (created on your store ahead of time)",
        "shared": "One shared code", "shared_code": "Shared code", "ttl": "Code valid for (hours)",
        "pool": "Codes kept ready per offer",
        "codes_per_day": "Most codes a day (claimed by shoppers, and created on your store)",
        "codes_per_ip_per_day": "Most codes a day for one internet address",
        "preview": "Preview as the shopper sees it",
        "persona_new": "New visitor", "persona_returning": "Returning visitor", "persona_vip": "VIP customer",
        "no_popup": "No popup for this shopper.", "back": "All campaigns", "priority": "Priority",
        "draft": "Draft", "active": "Active", "paused": "Paused",
    },
    "es": {
        "title": "Popups de salida", "language": "English", "new": "Nueva campaña", "none": "Aún no hay campañas.",
        "name": "Nombre", "status": "Estado", "schedule": "Calendario",
        "codes_ready": "Códigos preparados", "claimed": "Entregados", "redeemed": "Canjeados", "shown": "Mostrado",
        "converted": "Pedidos con el código",
        "edit": "Editar", "save": "Guardar", "saved": "Guardado.", "targeting": "Quién lo ve",
        "include": "Solo estos segmentos (una clave por línea; vacío = todos)", "exclude": "Nunca estos segmentos",
        "trigger": "Disparador", "min_seconds": "Segundos mínimos en la página",
        "mobile": "También en móviles (desplazamiento rápido hacia arriba o volver a la pestaña)",
        "offers": "Oferta según quién se va",
        "rules_help": "Una regla por línea, gana la primera que coincide: `visitors:new = free_shipping`, "
                      "`tier:vip = 20%`, `visitors:returning = 10%`.",
        "rules": "Reglas", "default": "Todos los demás (`10%`, `free_shipping` o vacío para no mostrar)",
        "copy": "Textos", "headline": "Titular", "body": "Texto ({offer} se sustituye por la oferta)",
        "cta": "Botón", "consent": "Texto de consentimiento (junto a la casilla del email)",
        "email_capture": "Pedir el email (con consentimiento explícito)", "starts": "Empieza", "ends": "Termina",
        "cap": "Frecuencia", "cap_session": "Una vez por sesión", "cap_days": "Una vez cada N días", "days": "Días",
        "suppress": "No mostrar durante N días tras una conversión",
        "require_cart": "Solo si el carrito tiene productos", "code_mode": "Códigos",
        "unique": "Códigos únicos de un solo uso (creados en tu tienda por adelantado)",
        "shared": "Un código compartido", "shared_code": "Código compartido", "ttl": "Validez del código (horas)",
        "pool": "Códigos preparados por oferta",
        "codes_per_day": "Máximo de códigos al día (entregados a clientes y creados en tu tienda)",
        "codes_per_ip_per_day": "Máximo de códigos al día para una misma dirección de internet",
        "preview": "Vista previa como la ve el cliente",
        "persona_new": "Visitante nuevo", "persona_returning": "Visitante recurrente", "persona_vip": "Cliente VIP",
        "no_popup": "Este cliente no ve ningún popup.", "back": "Todas las campañas", "priority": "Prioridad",
        "draft": "Borrador", "active": "Activa", "paused": "En pausa",
    },
}


def ui_text(lang: str) -> dict[str, str]:
    return _TEXT["es" if lang == "es" else "en"]
