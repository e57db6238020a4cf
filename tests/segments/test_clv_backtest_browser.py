"""The merchant reads last quarter's backtest of the value model in plain words, in Spanish and English."""
from __future__ import annotations

import random
import re

import pytest

from backend.segments.models import ClvFit
from backend.segments.tasks import refit_shop
from tests.segments.test_valuation_backtest import _orders
from tests.widgets.browser import chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_segments_screen_says_what_the_model_predicted_and_what_customers_spent(live_server, shop):
    from django.contrib.sessions.backends.db import SessionStore

    from backend.dashboard.auth import SESSION_KEY

    shop.currency = "EUR"
    shop.save()
    rng = random.Random(3)
    plan = {}
    for i in range(210):
        day, orders = rng.uniform(200, 400), []
        while day > 0 and (i % 4 or day > 120):  # a quarter of them stop buying four months ago
            orders.append((day, rng.uniform(15, 70) * (1 + i % 5)))
            day -= rng.uniform(15, 60)
        plan[i] = orders or [(rng.uniform(130, 300), 30.0)]
    _orders(shop, plan)
    refit_shop(shop.pk)
    fit = ClvFit.objects.for_shop(shop).get()
    top = fit.backtest.metrics[fit.backtest.chosen]
    predicted, actual = round(top["predicted_top"]), round(top["actual_top"])

    with chromium() as browser:
        session = SessionStore()
        session[SESSION_KEY] = shop.pk
        session.create()
        context = browser.new_context()
        context.add_cookies([{"name": "sessionid", "value": session.session_key, "url": live_server.url}])
        page = context.new_page()

        page.goto(f"{live_server.url}/admin/segments/?lang=en")
        sentence = page.locator("#clv-backtest").inner_text()
        m = re.fullmatch(r"Last quarter \((.+) to (.+)\) we predicted €([\d,]+)\.00 from the 20 % of your customers we "
                         r"ranked highest; they spent €([\d,]+)\.00\.", sentence)
        assert m, sentence
        assert (int(m[3].replace(",", "")), int(m[4].replace(",", ""))) == (predicted, actual)
        assert str(fit.backtest.end.year) in m[2]
        assert "chosen by testing every model on your own orders (210 customers)" in page.locator("#clv").inner_text()
        assert "ranked your customers best on the held-out 90 days" in page.locator("#clv-why").inner_text()

        page.goto(f"{live_server.url}/admin/segments/?lang=es")
        sentence = page.locator("#clv-backtest").inner_text()
        m = re.fullmatch(r"El último trimestre \(del (.+) al (.+)\) previmos ([\d.\s\u00a0]+),00\u00a0€ del 20 % de "
                         r"tus clientes que situamos más arriba; gastaron ([\d.\s\u00a0]+),00\u00a0€\.", sentence)
        assert m, sentence
        digits = [int(re.sub(r"\D", "", g)) for g in (m[3], m[4])]
        assert digits == [predicted, actual]
        model_line = page.locator("#clv").inner_text()
        assert "elegido probando cada modelo con tus propios pedidos (210 clientes)" in model_line
        assert "ordenó mejor a tus clientes en los 90 días reservados" in page.locator("#clv-why").inner_text()
