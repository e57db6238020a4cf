"""Installing the app into a Shopify store, both ways Shopify offers.

Embedded (Shopify-managed installation): the admin opens the App Home, `GET /app/`, with a session token
(`id_token`); we verify it (shopifyapp), exchange it for an expiring offline token + refresh token, and install.

Non-embedded (authorization code grant): `GET /shopify/install` (signed by Shopify) → redirect to the shop's
authorize page with a single-use state → `GET /shopify/callback` (signed, with that state) → code exchange → install.

A refused request answers 4xx with its reason and writes nothing (the rejection is logged and counted).
"""
from __future__ import annotations

import logging
from urllib.parse import urlencode

import jwt
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_GET
from shopify_app import app_home_patch_id_token, verify_app_home_req

from backend.core.rejections import reject
from backend.dashboard.auth import BadToken, screen_shop, token_shop_domain
from backend.dashboard.framing import allow_shopify_admin, valid_shop_domain
from backend.shops.install import install_shop
from backend.shops.models import Shop

from .oauth import (
    OPTIONAL_SCOPES,
    OAuthError,
    app_config,
    authorize_url,
    clean_shop_domain,
    exchange_code,
    exchange_session_token,
    issue_state,
    spend_state,
    verify_query,
)

logger = logging.getLogger("personalize.shopify.install")

PATCH_ID_TOKEN_PATH = "/app/patch-id-token"  # noqa: S105 - a URL path, not a secret


def _refuse(kind: str, exc: OAuthError, domain: str = "") -> HttpResponse:
    reject(kind, exc.reason, domain)
    return HttpResponse(f"Refused: {exc.reason}\n", status=exc.status, content_type="text/plain")


def _params(request: HttpRequest) -> dict[str, str]:
    return {k: v for k, v in request.GET.items()}


@require_GET
def install(request: HttpRequest) -> HttpResponse:
    """Shopify's signed install link: verify it, then send the merchant to approve our scopes."""
    try:
        domain = verify_query(_params(request))
    except OAuthError as exc:
        return _refuse("shopify_install", exc, request.GET.get("shop", "")[:255])
    return HttpResponseRedirect(authorize_url(domain, issue_state(domain)))


@require_GET
def grant_scopes(request: HttpRequest) -> HttpResponse:
    """A signed-in merchant asks to grant an optional scope (?scope=write_customers, for recipes that tag
    customers): off to Shopify's authorize page for the install scopes plus that one, with a single-use state.
    Shopify comes back to `callback`, verified exactly as an install, and the token's answer records what was
    granted (install_shop → store_token). Opened at the top level (target=_top): the admin frames our pages."""
    shop = screen_shop(request)
    if isinstance(shop, HttpResponse):
        return shop
    scope = request.GET.get("scope", "")[:64]
    if shop.platform != Shop.Platform.SHOPIFY or scope not in OPTIONAL_SCOPES:
        return _refuse("shopify_grant", OAuthError("unknown scope or not a Shopify shop", 400), shop.domain)
    logger.info("scope grant asked shop=%s scope=%s", shop.domain, scope)
    return HttpResponseRedirect(authorize_url(shop.domain, issue_state(shop.domain), extra_scopes=(scope,)))


@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    """The merchant approved: verify HMAC, timestamp and state (once), exchange the code, install."""
    params = _params(request)
    try:
        domain = verify_query(params)
        spend_state(params.get("state"), domain)
        token = exchange_code(domain, params.get("code", ""))
    except OAuthError as exc:
        return _refuse("shopify_callback", exc, params.get("shop", "")[:255])
    install_shop(Shop.Platform.SHOPIFY, domain, token)
    logger.info("installed shop=%s (authorization code grant)", domain)
    return HttpResponseRedirect(f"https://{domain}/admin/apps/{settings.SHOPIFY_API_KEY}")


def _request_input(request: HttpRequest) -> dict:
    return {
        "method": request.method or "GET",
        "headers": {k: v for k, v in request.headers.items()},
        "url": request.build_absolute_uri(),
        "body": "",
    }


def _forged(token: str) -> bool:
    """True when the session token's signature is wrong (as opposed to merely expired, which the patch page
    renews): a forged token gets a plain 401, not a redirect that invites a retry."""
    secrets_ = [s for s in (settings.SHOPIFY_API_SECRET, getattr(settings, "SHOPIFY_API_SECRET_OLD", "")) if s]
    for secret in secrets_:
        try:
            jwt.decode(token, secret, algorithms=["HS256"], options={"verify_exp": False, "verify_nbf": False,
                                                                        "verify_aud": False})
            return False
        except jwt.PyJWTError:
            continue
    return True


def _respond_with(res, body: str = "", content_type: str = "text/plain") -> HttpResponse:  # noqa: ANN001
    response = HttpResponse(body or res.body, status=res.status, content_type=content_type)
    for name, value in (res.headers or {}).items():
        response[name] = value
    return response


@require_GET
def app_home(request: HttpRequest) -> HttpResponse:
    """App Home inside the Shopify admin. The first visit of a new shop installs it (token exchange)."""
    request_input = _request_input(request)
    token = request.GET.get("id_token") or request.headers.get("Authorization", "").removeprefix("Bearer ")
    result = verify_app_home_req(request_input, app_config(), PATCH_ID_TOKEN_PATH)
    if not result.ok:
        if token and _forged(token):
            return _refuse("shopify_session_token", OAuthError("invalid session token", 401),
                           request.GET.get("shop", "")[:255])
        return _respond_with(result.response)  # missing or expired: the patch page fetches a fresh token
    try:
        domain = clean_shop_domain(f"{result.shop}.myshopify.com")
        _check_issuer(result.id_token.token if result.id_token else "", domain)
        shop = Shop.objects.filter(platform=Shop.Platform.SHOPIFY, domain=domain).first()
        if shop is None or not shop.is_active or not shop.access_token:
            shop = install_shop(Shop.Platform.SHOPIFY, domain, exchange_session_token(result.id_token))
            logger.info("installed shop=%s (token exchange)", domain)
    except OAuthError as exc:
        return _refuse("shopify_session_token", exc, str(result.shop or "")[:255])
    # The merchant's cockpit authenticates each request with the session token itself (no cookies in the iframe).
    query = urlencode({"embedded": "1", "shop": shop.domain, "host": request.GET.get("host", ""),
                       "id_token": result.id_token.token if result.id_token else ""})
    response = HttpResponseRedirect(f"/admin/?{query}")
    for name, value in (result.response.headers or {}).items():
        if name.lower() not in ("location", "content-security-policy"):
            response[name] = value
    return allow_shopify_admin(response, shop.domain)


def _check_issuer(token: str, domain: str) -> None:
    """shopifyapp verified the signature and audience; we also insist the token was issued by this shop's admin."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        if token_shop_domain(claims) != domain:
            raise BadToken("session token names another shop")
    except (jwt.PyJWTError, BadToken) as exc:
        raise OAuthError(str(exc) if isinstance(exc, BadToken) else "invalid session token", 401) from exc


@require_GET
def patch_id_token(request: HttpRequest) -> HttpResponse:
    """Shopify's bounce page: App Bridge puts a fresh session token on the URL and reloads the App Home. The shop
    goes into the frame-ancestors header, so it must be a shop; the reload target must be a path of ours."""
    domain = valid_shop_domain(request.GET.get("shop", "")[:255])
    reload_to = request.GET.get("shopify-reload", "")
    if domain is None:
        return _refuse("shopify_patch_id_token", OAuthError("shop must be a *.myshopify.com domain", 400))
    if not reload_to.startswith("/") or reload_to.startswith("//") or "\\" in reload_to or len(reload_to) > 2048:
        return _refuse("shopify_patch_id_token", OAuthError("shopify-reload must be a path on this app", 400), domain)
    result = app_home_patch_id_token(_request_input(request), app_config())
    response = HttpResponse(result.response.body, status=result.response.status,
                            content_type="text/html; charset=utf-8")
    for name, value in (result.response.headers or {}).items():
        if name.lower() not in ("content-type", "content-security-policy"):
            response[name] = value
    return allow_shopify_admin(response, domain) if result.ok else response
