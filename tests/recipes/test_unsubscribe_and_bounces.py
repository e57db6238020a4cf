"""No sign-in needed to unsubscribe (page and RFC 8058 one-click), tokens can't be forged, and bounces or
complaints an email service reports (django-anymail's tracking signal) suppress the address too."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from anymail.signals import AnymailTrackingEvent, tracking

from backend.customers.identities import resolve_customer
from backend.emails import consent, links
from backend.emails.models import Suppression
from tests.recipes.factories import customer

pytestmark = pytest.mark.django_db


def test_unsubscribe_page_in_the_shoppers_language_then_one_click(client, shop):
    shop.name = "Tienda"
    shop.save()
    url = urlsplit(links.unsubscribe_url(shop.pk, "ana@example.com")).path
    page = client.get(url, {"lang": "es"}).content.decode()
    assert "¿Dejar de enviar correos de marketing de Tienda a ana@example.com?" in page
    assert not consent.is_suppressed(shop.pk, "ana@example.com")
    done = client.post(url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert done.status_code == 200 and consent.is_suppressed(shop.pk, "ana@example.com")
    assert "You are unsubscribed" in client.get(url).content.decode()


def test_forged_or_altered_tokens_are_refused(client, shop):
    token = links.unsubscribe_token(shop.pk, "ana@example.com")
    assert client.post(f"/e/u/{token[:-2]}xx").status_code == 400
    assert client.get("/e/c/not-a-token").status_code == 400
    assert Suppression.objects.for_shop(shop).count() == 0


def test_a_consenting_customer_is_no_longer_mailed_after_a_bounce_or_complaint(shop):
    ana = customer(shop, "ana@example.com")
    profile = resolve_customer(ana)
    assert consent.marketing_address(profile) == "ana@example.com"
    tracking.send(sender=object, esp_name="Postmark", event=AnymailTrackingEvent(
        event_type="bounced", recipient="ana@example.com", metadata={"shop": str(shop.pk)}))
    assert consent.marketing_address(profile) == ""
    assert Suppression.objects.for_shop(shop).get().reason == "bounced"
    tracking.send(sender=object, esp_name="Postmark", event=AnymailTrackingEvent(
        event_type="delivered", recipient="bob@example.com", metadata={"shop": str(shop.pk)}))
    assert Suppression.objects.for_shop(shop).count() == 1  # deliveries change nothing
