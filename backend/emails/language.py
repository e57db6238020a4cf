"""Which language a shopper reads (es/en): the storefront does not report one, so the country they buy from
decides, then the shop's own language."""
from __future__ import annotations

from backend.customers.models import CustomerProfile
from backend.shops.models import Shop

LANGUAGES = ("en", "es")
# Countries where Spanish is the main language of shoppers.
SPANISH_COUNTRIES = frozenset({"ES", "MX", "AR", "CO", "CL", "PE", "VE", "EC", "GT", "CU", "BO", "DO", "HN", "PY",
                               "SV", "NI", "CR", "PA", "UY", "PR", "GQ"})


def language_for(shop: Shop, profile: CustomerProfile | None) -> str:
    country = (profile.country if profile is not None else "") or ""
    if country.upper() in SPANISH_COUNTRIES:
        return "es"
    if country:
        return "en"
    shop_lang = (shop.locale or "en").split("-")[0].split("_")[0].lower()
    return shop_lang if shop_lang in LANGUAGES else "en"
