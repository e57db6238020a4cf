"""Every admin screen, embedded in Shopify's admin (session token, App Bridge and the Polaris web components, served
here by local stubs) and standalone (a WooCommerce merchant's session, local styles only), in es and en: the nav is
there, the page speaks the asked language, and every link, form, redirect and fetch works (no 4xx) and keeps the
session token when embedded."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import translation

from backend.dashboard.shell import NAV
from tests.dashboard.factories import session_token
from tests.dashboard.test_phone_layout import screens  # noqa: F401 - every screen of a stocked demo shop
from tests.widgets.browser import chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("cockpit")]
STUBS = Path(__file__).parent / "stubs"
CDN = "https://cdn.shopify.com/shopifycloud/"
# Forms whose submit changes what the walk looks at next (sign out, stop, delete…): checked, not sent.
NOT_SENT = ("logout", "delete", "remove", "stop", "promote", "start", "recompute", "merge", "export", "redact")


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


def _nav_labels(lang: str) -> list[str]:
    with translation.override(lang):
        return [str(label) for _key, _href, label in NAV]


def _open(browser, live_server, mode: str, token: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # Anything else of Shopify's: no internet here (routes added later take precedence over this one).
    context.route("https://cdn.shopify.com/**", lambda r: r.abort())
    if mode == "embedded":
        bridge = (STUBS / "app-bridge.js").read_text().replace("__TOKEN__", token)
        context.route(f"{CDN}app-bridge.js", lambda r: r.fulfill(body=bridge, content_type="text/javascript"))
        polaris = STUBS / "polaris.js"
        context.route(f"{CDN}polaris.js", lambda r: r.fulfill(path=polaris, content_type="text/javascript"))
    page = context.new_page()
    if mode == "standalone":
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#username", "ana@example.com")
        page.fill("#password", "correct horse 42")
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/admin/")
    return context, page


# Both ways in and both languages; the other two pairings are walked without a browser by test_translations (es,
# both modes) and the phone layout test (en, standalone).
@pytest.mark.parametrize(("mode", "lang"), [("embedded", "es"), ("standalone", "en")])
def test_every_screen_walked(browser, live_server, screens, mode, lang):  # noqa: F811
    from backend.shops.models import Shop

    shop = Shop.objects.get()
    token = session_token(shop, expires_in=900)
    context, page = _open(browser, live_server, mode, token)
    failures: list[str] = []
    page.on("response", lambda r: r.status >= 400 and r.url.startswith(live_server.url)
            and failures.append(f"{r.status} {r.request.method} {r.url}"))
    page.on("pageerror", lambda e: failures.append(f"page error: {e}"))
    labels = _nav_labels(lang)
    links: dict[str, str] = {}
    forms: list[tuple[str, dict]] = []
    # A widget preview is a frame inside the widgets screen, drawn without the shell: it has no nav to check.
    for path in (p for p in screens if "/preview/" not in p):
        query = f"lang={lang}" + (f"&id_token={token}" if mode == "embedded" else "")
        page.goto(f"{live_server.url}{path}{'&' if '?' in path else '?'}{query}", wait_until="networkidle")
        where = f"{mode} {lang} {path}"
        assert page.get_attribute("html", "lang") == lang, where
        if mode == "embedded":
            # Shopify's admin draws our nav from ui-nav-menu; the page keeps a slim bar (language) only.
            assert page.locator("ui-nav-menu a").all_inner_texts() == labels, where
            assert page.evaluate("document.documentElement.classList.contains('in-admin')"), where
            assert not page.locator("nav.side .links > a").first.is_visible(), where
            assert page.evaluate("!!customElements.get('s-page')"), where  # Polaris (here its stub) is on
        else:
            assert [t.strip() for t in page.locator("nav.side .links > a").all_inner_texts()] == labels, where
            assert page.locator("nav.side .links > a").first.is_visible(), where
            assert page.evaluate("!customElements.get('s-page')"), where
        sections = page.locator("s-section")
        if sections.count():  # Shopify's cards, or ours: either way visible
            assert sections.first.is_visible(), where
        for href in page.eval_on_selector_all("a[href]", "els => els.map(a => a.href)"):
            if href.startswith(live_server.url):
                links.setdefault(href, where)
        for form in page.eval_on_selector_all("form", """els => els.map(f => ({
                // getAttribute: a field named "action" shadows the form's .action property
                action: new URL(f.getAttribute('action') || location.href, location.href).href,
                method: (f.getAttribute('method') || 'get').toLowerCase(),
                fields: Object.fromEntries(new FormData(f).entries())}))"""):
            forms.append((where, form))

    bad_links = []
    for href, where in links.items():
        parts = urlsplit(href)
        query = parse_qs(parts.query)
        if mode == "embedded" and parts.path.startswith(("/admin/", "/api/")) and "id_token" not in query:
            bad_links.append(f"{where}: {href} drops the session token")
        if parts.path.endswith("/logout/"):
            continue
        status = page.request.get(href, max_redirects=0).status
        if status >= 400:
            bad_links.append(f"{where}: {href} answered {status}")
    assert bad_links == [], "\n".join(bad_links)

    bad_forms = []
    for where, form in forms:
        action, method, fields = form["action"], form["method"], form["fields"]
        token_kept = bool(fields.get("id_token")) or "id_token=" in action
        if mode == "embedded" and urlsplit(action).path.startswith("/admin/") and not token_kept:
            bad_forms.append(f"{where}: form {action} drops the session token")
        if mode == "standalone" and method == "post" and not fields.get("csrfmiddlewaretoken"):
            bad_forms.append(f"{where}: form {action} has no CSRF token")
        if any(word in action or word in str(fields) for word in NOT_SENT):
            continue
        try:
            if method == "post":
                response = page.request.post(action, form=fields, max_redirects=0)
            else:
                response = page.request.get(action, params=fields, max_redirects=0)
        except Exception as exc:  # noqa: BLE001 - reported with the form it came from
            bad_forms.append(f"{where}: {method} {action} {sorted(fields)} failed: {exc}")
            continue
        status, location = response.status, response.headers.get("location", "")
        # Where a saved form sends the merchant next keeps the token too (embedded there are no cookies).
        if mode == "embedded" and location.startswith("/admin/") and "id_token=" not in location:
            bad_forms.append(f"{where}: {method} {action} redirects to {location} without the session token")
        # A form sent as the page offers it may be refused for its (blank) values: 400 with the reasons is the
        # app's answer. Not signed in, forged, missing or the wrong method is the shell's fault.
        if status in (401, 403, 404, 405) or status >= 500:
            bad_forms.append(f"{where}: {method} {action} {sorted(fields)} answered {status}")
    assert bad_forms == [], "\n".join(bad_forms)
    assert failures == [], "\n".join(failures)
    context.close()
