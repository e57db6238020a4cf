"""An email rendered at send time: the shopper's language, the cart or order as it is now, fresh recommendations,
every link signed. MJML (through mjml-python, the MRML binding) turns the template into table HTML that survives
real mail clients; the plain-text part comes from its own template with the same words.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from mjml import mjml2html

from backend.customers.models import CustomerProfile
from backend.shops.models import Shop

from . import blocks, links

TEMPLATES = ("cart", "browse", "order", "winback", "vip", "anniversary")


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str
    language: str


def _copy(kind: str, shop_name: str, has_code: bool) -> dict[str, str]:
    """The words of one kind of email, in the active language."""
    words = {
        "cart": {
            "subject": _("You left something in your cart at %(shop)s"),
            "headline": _("Still thinking it over?"),
            "body": _("Your cart is saved. Complete your order whenever you are ready."),
            "items_title": _("In your cart"), "cta": _("Return to your cart"),
        },
        "browse": {
            "subject": _("Still looking at this, at %(shop)s?"),
            "headline": _("Take another look"),
            "body": _("You were looking at these. They are still available."),
            "items_title": _("You viewed"), "cta": _("Keep shopping"),
        },
        "order": {
            "subject": _("Picked for you after your order at %(shop)s"),
            "headline": _("Thanks again for your order"),
            "body": _("Customers who bought what you bought also liked these."),
            "items_title": _("Your order"), "cta": _("Visit the shop"),
        },
        "winback": {
            "subject": _("We miss you at %(shop)s"),
            "headline": _("It has been a while"),
            "body": _("Here is what is new and popular since your last visit."),
            "items_title": "", "cta": _("Visit the shop"),
        },
        "vip": {
            "subject": _("Welcome to our VIP customers, from %(shop)s"),
            "headline": _("You are one of our best customers"),
            "body": _("Thank you for shopping with us. Here are picks we think you will love."),
            "items_title": "", "cta": _("Visit the shop"),
        },
        "anniversary": {
            "subject": _("A date to celebrate, from %(shop)s"),
            "headline": _("Happy anniversary"),
            "body": _("Thank you for being with us. Here are picks we think you will love."),
            "items_title": "", "cta": _("Visit the shop"),
        },
    }[kind]
    words = {k: (v % {"shop": shop_name} if "%(shop)s" in v else v) for k, v in words.items()}
    if has_code:
        words["body"] += " " + _("Here is a code for your order.")
    return words


def _linked(send_id: int, items: list[blocks.Item]) -> list[dict]:
    out = []
    for item in items:
        row = asdict(item)
        row["href"] = links.click_url(send_id, item.url, item.product_id) if item.url else ""
        out.append(row)
    return out


def render_email(shop: Shop, template: str, profile: CustomerProfile | None, context: dict, send_id: int,
                 to_email: str, language: str, code: str = "", code_text: str = "") -> Rendered:
    """The email of one step for one person, as it is right now (items and recommendations read afresh)."""
    if template not in TEMPLATES:
        raise ValueError(f"unknown email template {template!r}")
    with translation.override(language):
        items: list[blocks.Item] = []
        seeds: list[int] = []
        cta_url = f"https://{shop.domain}/"
        if template in ("cart", "browse"):
            items = blocks.cart_items(shop, [int(p) for p in context.get("products", [])][:20], language)
            seeds = [i.product_id for i in items if i.product_id]
            if template == "cart":
                cta_url = f"https://{shop.domain}/cart"
        elif template == "order":
            _order, items = blocks.order_items(shop, context.get("order"), language)
            seeds = [i.product_id for i in items if i.product_id]
        recommended = blocks.recommendations(shop, profile, seeds, language)
        shop_name = shop.name or shop.domain
        words = _copy(template, shop_name, bool(code))
        unsubscribe = links.unsubscribe_url(shop.pk, to_email)
        context_out = {
            **words, "language": language, "shop_name": shop_name, "preview": words["body"][:120],
            "items": _linked(send_id, items), "recommendations": _linked(send_id, recommended),
            "recommendations_title": _("You may also like"), "code": code,
            "code_text": code_text or _("Your code:"),
            "cta_href": links.click_url(send_id, cta_url), "unsubscribe_href": unsubscribe,
            "footer": _("You get this email because you agreed to hear from %(shop)s.") % {"shop": shop_name},
            "unsubscribe": _("Unsubscribe"),
        }
        mjml_source = render_to_string("emails/recipe.mjml", context_out)
        text = render_to_string("emails/recipe.txt", context_out)
    return Rendered(subject=words["subject"], html=mjml2html(mjml_source), text=text, language=language)
