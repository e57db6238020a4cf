"""The storefront's popup API, resolved exactly like the widget API (public key + Origin, or Shopify's app proxy).

`GET  /api/storefront/popup`            which campaign and offer this shopper gets on leaving (or none)
`GET  /api/storefront/proxy/popup`      the same behind the app proxy (`/apps/personalize/popup`)
`POST /api/storefront/popup/consent`    an email given with explicit consent (text/plain JSON: no preflight)
`POST /api/storefront/popup/claim`      the shopper's code, claimed when the popup is shown (after consent when the
                                        campaign asks for an email); budgeted per visitor, address and campaign
`POST /api/storefront/popup/exposure`   a hold-out visitor's "would have shown now" (holdout.py): the only way that
                                        arm is counted as exposed; budgeted as the event beacons are
(each POST also behind the app proxy under `/api/storefront/proxy/popup/...`)

Answers are personal (`private, no-store`); bad input is a 4xx with a reason, never a 500.
"""
from __future__ import annotations

import functools
import json
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from backend.core import outage
from backend.core.email_address import clean_email
from backend.core.json_input import JsonInputError, read_json
from backend.core.rejections import reject
from backend.events.bots import is_bot
from backend.events.throttle import ConsentThrottled, consent_over_budget
from backend.storefront.access import (
    AccessDenied,
    Caller,
    check_origin,
    client_ip,
    cors_headers,
    customer_pk,
    shop_for_key,
    trusted_customer,
    verify_proxy,
)
from backend.storefront.fields import LOCALES, VISITOR_ID, matches

from .campaigns import Shopper, as_json, choice_for_claim, decide, localized_copy
from .codes import ClaimRefused, campaign_offers, claim
from .holdout import ExposureRefused, parse_report
from .holdout import record as record_holdout
from .models import Campaign, Consent

NO_STORE = {"Cache-Control": "private, no-store", "Vary": "Origin"}
MAX_BODY = 4096


def _json(status: int, body: dict, headers: dict[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(json.dumps(body, ensure_ascii=False, separators=(",", ":")), status=status,
                            content_type="application/json")
    for name, value in {**NO_STORE, **(headers or {})}.items():
        response[name] = value
    return response


class BadParams(Exception):
    pass


def _shopper(request: HttpRequest, caller: Caller) -> Shopper:
    q = request.GET
    visitor, session = q.get("visitor", ""), q.get("session", "")
    if visitor and not matches(VISITOR_ID, visitor):
        raise BadParams("visitor must be 1-64 characters of A-Z a-z 0-9 _ - .")
    if session and not matches(VISITOR_ID, session):
        raise BadParams("session must be 1-64 characters of A-Z a-z 0-9 _ - .")
    locale = q.get("locale") or caller.shop.locale[:2]
    if locale not in LOCALES:
        if "locale" in q:
            raise BadParams("locale must be es or en")
        locale = "en"
    cart = q.get("cart", "")
    if cart not in ("", "0", "1"):
        raise BadParams("cart must be 0 or 1")
    return Shopper(visitor_id=visitor, session_id=session, locale=locale,
                   customer_id=customer_pk(caller.shop, caller.customer_platform_id),
                   cart=None if cart == "" else cart == "1")


def _answer(request: HttpRequest, caller: Caller, origin: str) -> HttpResponse:
    shopper = _shopper(request, caller)
    if is_bot(request.headers.get("User-Agent", "")):
        return _json(200, {"campaign": None}, cors_headers(origin))  # crawlers and scripts are offered nothing
    try:
        decision = decide(caller.shop.id, shopper, ip=client_ip(request, caller.via_proxy))
    except outage.SHARED_CACHE_ERRORS as exc:  # a 503 the script can read (CORS), not a popup shown at random
        return outage.unavailable(exc, request, {**NO_STORE, **cors_headers(origin)})
    if decision is not None:
        decision["platform"] = caller.shop.platform  # how the script applies the code to the cart
    return _json(200, decision or {"campaign": None}, cors_headers(origin))


def _public_caller(request: HttpRequest, key: str) -> tuple[Caller, str]:
    shop = shop_for_key(key)
    if shop is None:
        raise AccessDenied(404, "unknown key")
    origin = check_origin(request, shop)
    return Caller(shop=shop, customer_platform_id=trusted_customer(
        shop, request.GET.get("customer", ""), request.GET.get("customer_sig", ""))), origin


def _preflight(request: HttpRequest, methods: str) -> HttpResponse:
    shop = shop_for_key(request.GET.get("key", ""))
    if shop is None:
        return _json(404, {"error": "unknown key"})
    response = HttpResponse(status=204)
    for name, value in cors_headers(check_origin(request, shop), methods).items():
        response[name] = value
    return response


def _refusals_as_json(view: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """Every way a storefront popup request is refused, as JSON with its reason (one place for all six views)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest) -> HttpResponse:
        try:
            return view(request)
        except AccessDenied as denied:
            return _json(denied.status, {"error": denied.reason})
        except BadParams as bad:
            return _json(400, {"error": str(bad)})
        except JsonInputError as bad:
            return _json(bad.status, {"error": bad.reason})
        except ConsentThrottled as throttled:
            return _json(429, {"error": "too many attempts, try later"}, {"Retry-After": str(throttled.retry_after)})
        except ExposureRefused as refused:
            return _json(refused.status, {"error": refused.reason})

    return wrapped


@csrf_exempt
@require_http_methods(["GET", "OPTIONS"])
@_refusals_as_json
def popup(request: HttpRequest) -> HttpResponse:
    if request.method == "OPTIONS":
        return _preflight(request, "GET")
    caller, origin = _public_caller(request, request.GET.get("key", ""))
    return _answer(request, caller, origin)


@csrf_exempt
@require_http_methods(["GET"])
@_refusals_as_json
def proxy_popup(request: HttpRequest) -> HttpResponse:
    """Through the shop's own domain: the app-proxy signature is the credential, no Origin or CORS."""
    return _answer(request, verify_proxy(request), origin="")


def _consent_fields(data: object) -> dict:
    if not isinstance(data, dict):
        raise BadParams("body must be a JSON object")
    if data.get("consent") is not True:
        raise BadParams("consent must be true: an email is only kept with explicit consent")
    try:
        email = clean_email(data.get("email"))
    except ValueError as exc:
        raise BadParams(str(exc)) from None
    campaign = data.get("campaign")
    if isinstance(campaign, bool) or not isinstance(campaign, int):
        raise BadParams("campaign must be the campaign id")
    locale = data.get("locale")
    if locale not in LOCALES:
        raise BadParams("locale must be es or en")
    visitor = data.get("visitor") or ""
    if visitor and not matches(VISITOR_ID, visitor):
        raise BadParams("visitor must be 1-64 characters of A-Z a-z 0-9 _ - .")
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        raise BadParams("text must be the consent text the shopper saw")
    return {"email": email, "campaign": campaign, "locale": locale, "visitor": visitor,
            "text": text.strip()}


def _read_body(request: HttpRequest) -> object:
    """The JSON body under the shared caps (backend.core.json_input): JsonInputError, a 400/413 with a reason."""
    return read_json(request, max_bytes=MAX_BODY, max_depth=4)


def _within_budget(request: HttpRequest, caller: Caller, data: object) -> None:
    """Email capture is throttled per address and per visitor (backend.events.throttle) before any field is checked."""
    visitor = data.get("visitor") if isinstance(data, dict) else ""
    retry_after = consent_over_budget(caller.shop.id, client_ip(request, caller.via_proxy),
                                      visitor if matches(VISITOR_ID, visitor) else "")
    if retry_after:
        reject("popup_consent", "rate limited", caller.shop.domain)
        raise ConsentThrottled(retry_after)


def _store_consent(caller: Caller, data: object) -> Consent:
    """Keep an email only with consent to the exact text this campaign shows (in some offer's wording)."""
    fields = _consent_fields(data)
    shop_id = caller.shop.id
    campaign = Campaign.objects.for_shop(shop_id).filter(pk=fields["campaign"], email_capture=True).first()
    if campaign is None:
        raise BadParams("no campaign with email capture has that id")
    texts = {localized_copy(campaign, offer, fields["locale"])["consent"]
             for offer in campaign_offers(campaign)}
    if fields["text"] not in texts:
        reject("popup_consent", "consent text differs from the campaign's", caller.shop.domain)
        raise BadParams("text is not the consent text this campaign shows")
    from backend.customers.identities import profile_for

    profile = profile_for(shop_id, visitor_id=fields["visitor"]) if fields["visitor"] else None
    return Consent.objects.create(shop_id=shop_id, campaign=campaign, email=fields["email"], text=fields["text"],
                                  locale=fields["locale"], visitor_id=fields["visitor"], profile=profile,
                                  given_at=timezone.now())


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
@_refusals_as_json
def consent(request: HttpRequest) -> HttpResponse:
    if request.method == "OPTIONS":
        return _preflight(request, "POST")
    data = _read_body(request)
    key = data.get("key", "") if isinstance(data, dict) else ""
    caller, origin = _public_caller(request, key if isinstance(key, str) else "")
    _within_budget(request, caller, data)
    row = _store_consent(caller, data)
    return _json(201, {"consent": row.pk, "given_at": row.given_at.isoformat()}, cors_headers(origin, "POST"))


@csrf_exempt
@require_http_methods(["POST"])
@_refusals_as_json
def proxy_consent(request: HttpRequest) -> HttpResponse:
    """The same through the app proxy: its signed query names the shop."""
    caller = verify_proxy(request)
    data = _read_body(request)
    _within_budget(request, caller, data)
    row = _store_consent(caller, data)
    return _json(201, {"consent": row.pk, "given_at": row.given_at.isoformat()})


def _claim_fields(data: object) -> dict:
    if not isinstance(data, dict):
        raise BadParams("body must be a JSON object")
    campaign = data.get("campaign")
    if isinstance(campaign, bool) or not isinstance(campaign, int):
        raise BadParams("campaign must be the campaign id")
    visitor = data.get("visitor") or ""
    if not isinstance(visitor, str) or (visitor and not matches(VISITOR_ID, visitor)):
        raise BadParams("visitor must be 1-64 characters of A-Z a-z 0-9 _ - .")
    locale = data.get("locale", "en")
    if locale not in LOCALES:
        raise BadParams("locale must be es or en")
    consent = data.get("consent")
    if consent is not None and (isinstance(consent, bool) or not isinstance(consent, int)):
        raise BadParams("consent must be the id the consent endpoint answered")
    customer, sig = data.get("customer") or "", data.get("customer_sig") or ""
    if not isinstance(customer, str) or not isinstance(sig, str):
        raise BadParams("customer and customer_sig must be strings")
    return {"campaign": campaign, "visitor": visitor, "locale": locale, "consent": consent,
            "customer": customer[:64], "customer_sig": sig[:128]}


def _claim(request: HttpRequest, caller: Caller, data: object, cors: dict[str, str]) -> HttpResponse:
    """Decide the shopper's offer again (the page never names it), check consent when the campaign asks for an
    email, then claim within the budgets."""
    shop = caller.shop
    fields = _claim_fields(data)
    if is_bot(request.headers.get("User-Agent", "")):
        reject("popup_claim", "bot user agent", shop.domain)
        return _json(403, {"error": "no codes for crawlers or scripts"}, cors)
    customer = caller.customer_platform_id or trusted_customer(shop, fields["customer"], fields["customer_sig"])
    shopper = Shopper(visitor_id=fields["visitor"], locale=fields["locale"], customer_id=customer_pk(shop, customer))
    now = timezone.now()
    choice = choice_for_claim(shop.id, fields["campaign"], shopper, now)
    if choice is None:
        return _json(404, {"error": "no popup of that campaign for this shopper"}, cors)
    campaign = choice.campaign
    if campaign.email_capture and not (fields["consent"] and Consent.objects.for_shop(shop.id).filter(
            pk=fields["consent"], campaign=campaign, visitor_id=fields["visitor"]).exists()):
        return _json(403, {"error": "this campaign gives its code after the email is given with consent"}, cors)
    try:
        code = claim(campaign, choice.offer, fields["visitor"], client_ip(request, caller.via_proxy), now)
    except ClaimRefused as refused:
        reject("popup_claim", refused.reason, shop.domain)
        extra = {"Retry-After": str(refused.retry_after)} if refused.retry_after else {}
        return _json(refused.status, {"error": refused.reason}, {**cors, **extra})
    body = as_json(choice, fields["locale"])
    body["offer"].update({"code": code.code, "expires_at": code.expires_at})
    return _json(200, body, cors)


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
@_refusals_as_json
def claim_code(request: HttpRequest) -> HttpResponse:
    if request.method == "OPTIONS":
        return _preflight(request, "POST")
    data = _read_body(request)
    if not isinstance(data, dict):
        raise BadParams("body must be a JSON object")
    key = data.get("key", "")
    caller, origin = _public_caller(request, key if isinstance(key, str) else "")
    return _claim(request, caller, data, cors_headers(origin, "POST"))


@csrf_exempt
@require_http_methods(["POST"])
@_refusals_as_json
def proxy_claim_code(request: HttpRequest) -> HttpResponse:
    """The same through the app proxy: its signed query names the shop (and the logged-in customer)."""
    return _claim(request, verify_proxy(request), _read_body(request), {})


def _exposure(request: HttpRequest, caller: Caller, data: object, cors: dict[str, str]) -> HttpResponse:
    """Count a hold-out visitor's "would have shown now" once; every refusal is a 4xx with its reason."""
    from backend.events.outage_budget import ResilientBudget

    shop = caller.shop
    if is_bot(request.headers.get("User-Agent", "")):
        reject("popup_exposure", "bot user agent", shop.domain)
        return _json(403, {"error": "crawlers and scripts are not counted"}, cors)
    visitor = data.get("visitor") if isinstance(data, dict) else ""
    # One report spends one event of the beacons' own budgets (per address, per visitor), before any check.
    allowed, retry_after = ResilientBudget(shop.id, client_ip(request, caller.via_proxy),
                                           visitor if matches(VISITOR_ID, visitor) else "").events(1)
    if not allowed:
        reject("popup_exposure", "rate limited", shop.domain)
        return _json(429, {"error": "rate limited"}, {**cors, "Retry-After": str(retry_after)})
    try:
        report = parse_report(data)
        new = record_holdout(shop.id, report)
    except ExposureRefused as refused:
        reject("popup_exposure", refused.reason, shop.domain)
        return _json(refused.status, {"error": refused.reason}, cors)
    return _json(201 if new else 200, {"exposure": "recorded" if new else "already recorded"}, cors)


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
@_refusals_as_json
def exposure(request: HttpRequest) -> HttpResponse:
    if request.method == "OPTIONS":
        return _preflight(request, "POST")
    data = _read_body(request)
    key = data.get("key", "") if isinstance(data, dict) else ""
    caller, origin = _public_caller(request, key if isinstance(key, str) else "")
    return _exposure(request, caller, data, cors_headers(origin, "POST"))


@csrf_exempt
@require_http_methods(["POST"])
@_refusals_as_json
def proxy_exposure(request: HttpRequest) -> HttpResponse:
    """The same through the app proxy: its signed query names the shop."""
    return _exposure(request, verify_proxy(request), _read_body(request), {})
