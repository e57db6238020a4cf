"""End to end, as a shopper and the shop live it: real storefront events endpoint, real SMTP server (aiosmtpd),
the beat's dispatch job, the click redirect and an order; the clock is moved by the test, never slept."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine

from backend.dashboard.auth import login_token
from backend.emails.models import EmailConversion, EmailSend
from backend.recipes import scheduler
from backend.recipes.models import RecipeRun
from backend.recipes.presets import enable_preset
from backend.recommendations.also_bought import full_recompute
from tests.factories import make_shop
from tests.recipes.conftest import html_part, text_part
from tests.recipes.factories import add_to_cart, customer, history, order, product

pytestmark = pytest.mark.django_db(transaction=True)

# 10:00 in Madrid (the shop's time zone): outside the default quiet hours (21:00-08:00).
START = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)


def _href_of(html: str, title: str) -> str:
    """The link around a product's title in the email's HTML."""
    match = re.search(r'<a href="([^"]+)"[^>]*>' + re.escape(title) + "</a>", html)
    assert match, f"{title} is not linked in the email"
    return match.group(1).replace("&amp;", "&")


def test_cart_left_behind_gets_one_email_at_one_hour_and_the_order_is_credited_to_that_step(client, smtp):
    with time_machine.travel(START, tick=False) as clock:
        shop = make_shop("alfa.myshopify.com", currency="EUR", timezone="Europe/Madrid", name="Tienda Alfa")
        mug = product(shop, "Taza azul", "12.00")
        plate = product(shop, "Plato hondo", "20.00")
        spoon = product(shop, "Cuchara", "5.00")
        sold_out = product(shop, "Jarra agotada", "30.00", stock=0)
        buyers = [customer(shop, f"old{i}@example.com") for i in range(3)]
        # history: mugs are bought with plates, spoons and the (now sold-out) jug
        history(shop, [(b, pair) for b in buyers for pair in ([mug, plate], [mug, spoon], [mug, sold_out])],
                when=lambda i: START - timedelta(days=10 + i))
        full_recompute(shop)
        recipe, _ = enable_preset(shop, "abandoned-cart")

        ana = customer(shop, "ana@example.com", country="ES")  # leaves; clicks the email; orders
        bob = customer(shop, "bob@example.com", country="ES")  # orders at 30 minutes
        cai = customer(shop, "cai@example.com", consent=False)  # no marketing consent
        dan = customer(shop, "dan@example.com", country="US")  # unsubscribes with one click
        for who, visitor in ((ana, "v-ana"), (bob, "v-bob"), (cai, "v-cai"), (dan, "v-dan"), (None, "v-anon")):
            add_to_cart(client, shop, who, mug, visitor)
        # An anonymous visitor can't be emailed: only the four customers start runs.
        assert RecipeRun.objects.for_shop(shop).filter(recipe=recipe, state="active").count() == 4

        clock.shift(timedelta(minutes=30))
        order(shop, [mug], bob)
        scheduler.dispatch_due()
        assert smtp.messages == []  # nothing is due before one hour

        clock.shift(timedelta(minutes=31))
        scheduler.dispatch_due()

        # Ana: one email, in Spanish, her cart, recommendations learned from co-purchases, only sellable ones.
        [mail] = smtp.to("ana@example.com")
        html, text = html_part(mail), text_part(mail)
        assert mail["Subject"] == "Te dejaste algo en tu carrito de Tienda Alfa"
        assert "Taza azul" in html and "12,00\xa0€" in html
        assert "Plato hondo" in html and "Cuchara" in html and "Jarra agotada" not in html
        assert "Taza azul" in text and "Plato hondo" in text
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert mail["List-Unsubscribe"].strip().startswith("<http")
        # Bob ordered, Cai never consented: nothing for them; Dan gets his in English.
        assert smtp.to("bob@example.com") == [] and smtp.to("cai@example.com") == []
        [dan_mail] = smtp.to("dan@example.com")
        assert dan_mail["Subject"] == "You left something in your cart at Tienda Alfa"
        runs = {r.profile.email: r for r in RecipeRun.objects.for_shop(shop).select_related("profile")}
        assert (runs["bob@example.com"].state, runs["bob@example.com"].exit_reason) == ("exited", "ordered")
        assert (runs["cai@example.com"].state, runs["cai@example.com"].exit_reason) == ("exited", "no consent")
        assert runs["ana@example.com"].step == 1  # the 24 h step is next

        # Ana clicks the plate: recorded, sent on with UTM naming the recipe and step.
        response = client.get(urlsplit(_href_of(html, "Plato hondo")).path)
        assert response.status_code == 302
        target = urlsplit(response["Location"])
        assert target.netloc == "alfa.myshopify.com"
        assert parse_qs(target.query)["utm_campaign"] == ["recipe-abandoned-cart"]
        assert parse_qs(target.query)["utm_content"] == ["step-1"]

        # Dan unsubscribes the way his mail client does it (RFC 8058 one-click POST, no cookies, no sign-in).
        unsubscribe = urlsplit(dan_mail["List-Unsubscribe"].strip().strip("<>")).path
        assert client.post(unsubscribe, "List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded").status_code == 200

        clock.shift(timedelta(hours=2))
        placed = order(shop, [plate, mug], ana)
        credit = EmailConversion.objects.for_shop(shop).get(order=placed)
        assert (credit.recipe_id, credit.step, str(credit.revenue)) == (recipe.pk, 0, "32.00")

        clock.shift(timedelta(hours=22))  # the 24 h step: Ana ordered, Dan unsubscribed
        scheduler.dispatch_due()
        assert len(smtp.to("ana@example.com")) == 1 and len(smtp.to("dan@example.com")) == 1
        runs = {r.profile.email: r for r in RecipeRun.objects.for_shop(shop).select_related("profile")}
        assert runs["ana@example.com"].exit_reason == "ordered"
        assert runs["dan@example.com"].exit_reason == "no consent"
        assert EmailSend.objects.for_shop(shop).filter(status="sent").count() == 2

        # The merchant's list: last 30 days for the recipe, in their language and the shop's currency.
        assert client.get("/admin/recipes/", {"token": login_token(shop)}).status_code == 302
        card = client.get("/admin/recipes/", {"lang": "es"}).content.decode().split(
            'data-recipe="abandoned-cart"')[1].split("</form>")[0]
        figures = dict(re.findall(r'data-col="(\w+)">([^<]+)<', card))
        assert figures == {"sent": "2", "clicked": "1", "orders": "1", "revenue": "32,00\xa0€"}
