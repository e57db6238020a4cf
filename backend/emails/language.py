"""Which language a shopper reads (es/en): the storefront does not report one, so the country they buy from
decides, then the shop's own language."""
from __future__ import annotations

from backend.customers.models import CustomerProfile
from backend.shops.models import Shop

LANGUAGES = ("en", "es")
# Countries where Spanish is the main language of shoppers.
SPANISH_COUNTRIES = frozenset({"ES", "MX", "AR", "CO", "CL", "PE", "VE", "EC", "GT", "CU", "BO", "DO", "HN", "PY",
                               "SV", "NI", "CR", "PA", "UY", "PR", "GQ"})


def _country(profile: CustomerProfile | None) -> str:
    """The profile's country, or its platform customers' when the profile has not been refreshed yet."""
    if profile is None:
        return ""
    if profile.country:
        return profile.country
    from backend.customers.models import Customer, Identity

    ids = Identity.objects.for_shop(profile.shop_id).filter(profile=profile, kind=Identity.Kind.CUSTOMER).values(
        "customer_id")
    return next((c for c in Customer.objects.for_shop(profile.shop_id).filter(pk__in=ids).exclude(country="")
                 .values_list("country", flat=True)), "")


def language_for(shop: Shop, profile: CustomerProfile | None) -> str:
    country = _country(profile)
    if country.upper() in SPANISH_COUNTRIES:
        return "es"
    if country:
        return "en"
    shop_lang = (shop.locale or "en").split("-")[0].split("_")[0].lower()
    return shop_lang if shop_lang in LANGUAGES else "en"
