"""Browser fixtures for the popup: Debian's Chromium (as tests/widgets), a desktop or a phone context per test,
and a small fixture page on the live server's origin that loads the real built storefront script."""
from __future__ import annotations

import pytest

from tests.integrations.shopify.sync_support import shopify_standin, standin, standin_shop  # noqa: F401
from tests.widgets.browser import chromium

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Popup fixture</title></head>
<body style="margin:0;font:16px sans-serif">
<header><button id="before" type="button">Menu</button></header>
<main id="content" style="height:4000px;padding:1rem">A long product page.</main>
<script type="module" src="{live}/demo/assets/personalize.js" data-personalize data-api="{live}/api/storefront"
  data-key="{key}" data-shop="{domain}" data-locale="{locale}" data-currency="EUR" data-popups="1"{extra}></script>
</body></html>"""


BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"


@pytest.fixture
def client():
    """Django's test client as a shopper's browser: the popup API offers crawlers and scripts nothing."""
    from django.test import Client

    return Client(HTTP_USER_AGENT=BROWSER_UA)


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def popup_shop(live_server):
    from django.core.cache import cache

    from backend.storefront.access import forget_shops
    from backend.storefront.models import AllowedOrigin
    from tests.factories import make_shop

    cache.clear()
    forget_shops()
    shop = make_shop("popup-demo.myshopify.com")
    AllowedOrigin.objects.create(shop=shop, origin=live_server.url.lower())
    yield shop
    forget_shops()
    cache.clear()


@pytest.fixture
def open_page(browser, live_server, popup_shop):
    """open_page(visitor=None, mobile=False, locale="en", cart=None, attrs="") → a Playwright page on the fixture
    page, returned once the popup API has answered (its JSON is `page.popup_answer`). Every request the page sends
    is in `page.sent` (method, url, headers, body); `attrs` adds data-* attributes to the script tag."""
    contexts = []

    def _open(visitor: str | None = None, mobile: bool = False, locale: str = "en", cart: str | None = None,
              attrs: str = ""):
        options = ({"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
                    "device_scale_factor": 2} if mobile else {"viewport": {"width": 1280, "height": 800}})
        context = browser.new_context(locale="en-US", **options)
        contexts.append(context)
        # Sums every layout shift the page reports (the popup must add none).
        context.add_init_script("""window.__cls = 0; new PerformanceObserver((l) => { for (const e of l.getEntries())
          if (!e.hadRecentInput) window.__cls += e.value; }).observe({ type: "layout-shift", buffered: true });""")
        if visitor:  # a shopper we have met before keeps their first-party id
            context.add_init_script(f"localStorage.setItem('_pz_v', {visitor!r})")
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.sent = []
        page.on("request", lambda r: page.sent.append((r.method, r.url, r.headers, r.post_data)))
        extra = (f' data-cart="{cart}"' if cart is not None else "") + attrs
        html = PAGE.format(live=live_server.url, key=popup_shop.public_key, domain=popup_shop.domain, locale=locale,
                           extra=extra)
        page.route(f"{live_server.url}/fixture/popup", lambda route: route.fulfill(
            status=200, content_type="text/html; charset=utf-8", body=html))
        with page.expect_response(lambda r: "/api/storefront/popup?" in r.url) as answer:
            page.goto(f"{live_server.url}/fixture/popup")
        page.popup_answer = answer.value.json()
        return page

    yield _open
    for context in contexts:
        for page in context.pages:
            page.route("**/api/storefront/**", lambda route: route.abort())  # no beacon writes after teardown
        context.close()


@pytest.fixture(autouse=True)
def _own_budgets(own_cache_namespace):
    """Email capture is throttled per shop and address (backend.events.throttle): each test starts with a fresh
    budget, since tests reuse shop ids and all post from 127.0.0.1."""
