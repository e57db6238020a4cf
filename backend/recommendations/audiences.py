"""The merchant's audience attribute mapping: "women" = customers tagged `female`, products tagged `women`.

The audience becomes segment "audience:<value>" for bestsellers (backend/recommendations/bestsellers.py): its
buyers' orders count for it, and its bestsellers favour products carrying the product tag. This module checks what
the screen's form sends and says what is wrong in a sentence in the merchant's language.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from backend.catalog.models import Product
from backend.customers.models import Customer
from backend.shops.models import Shop

from .models import AudienceMapping

VALUE_MAX = 50
TAG_MAX = 100
MAX_AUDIENCES = 50
TAGS_SCANNED = 5000  # customers and products read for the tag suggestions (the most recent ones)
_VALUE = re.compile(r"^[\w-]+$")


@dataclass(frozen=True)
class AudienceForm:
    value: str
    customer_tag: str
    product_tag: str


def read_form(post: dict) -> tuple[AudienceForm, list[str]]:
    """The form's fields, trimmed, and the problems with them (sentences, empty when it can be saved)."""
    form = AudienceForm(value=str(post.get("value", ""))[:200].strip().lower(),
                        customer_tag=str(post.get("customer_tag", ""))[:200].strip(),
                        product_tag=str(post.get("product_tag", ""))[:200].strip())
    problems = []
    if not form.value:
        problems.append(_("Name the audience, for example “women”."))
    elif len(form.value) > VALUE_MAX or not _VALUE.match(form.value):
        problems.append(_("The audience name is one word of up to %(n)s letters, digits or dashes, for example "
                          "“women” or “kids-8-12”.") % {"n": VALUE_MAX})
    if not (form.customer_tag or form.product_tag):
        problems.append(_("Give a customer tag, a product tag, or both: that is how the app knows who and what "
                          "belongs to the audience."))
    for tag in (form.customer_tag, form.product_tag):
        if len(tag) > TAG_MAX:
            problems.append(_("A tag has at most %(n)s characters.") % {"n": TAG_MAX})
            break
    return form, problems


def save(shop: Shop, form: AudienceForm) -> tuple[AudienceMapping, bool]:
    """Create the audience, or change the tags of the one with that name. (mapping, created)."""
    existing = AudienceMapping.objects.for_shop(shop).filter(value=form.value).first()
    if existing is None and AudienceMapping.objects.for_shop(shop).count() >= MAX_AUDIENCES:
        raise ValueError(_("A shop has at most %(n)s audiences: remove one first.") % {"n": MAX_AUDIENCES})
    mapping, created = AudienceMapping.objects.for_shop(shop).update_or_create(
        shop=shop, value=form.value, defaults={"customer_tag": form.customer_tag, "product_tag": form.product_tag})
    return mapping, created


def _tag_counts(rows: QuerySet) -> Counter:
    counts: Counter = Counter()
    for tags in rows[:TAGS_SCANNED]:
        for tag in {str(t).strip() for t in (tags or []) if str(t).strip()}:
            counts[tag.lower()] += 1
    return counts


def known_tags(shop: Shop) -> tuple[Counter, Counter]:
    """How many (recent) customers and products carry each tag: suggestions for the form, counts for the list."""
    customers = _tag_counts(Customer.objects.for_shop(shop).exclude(tags=[]).order_by("-pk")
                            .values_list("tags", flat=True))
    products = _tag_counts(Product.objects.for_shop(shop).exclude(tags=[]).order_by("-pk")
                           .values_list("tags", flat=True))
    return customers, products
