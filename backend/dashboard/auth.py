"""Who is asking, for which shop: the single source of truth for every merchant screen and admin API.

Three ways in, checked in this order:
1. a Shopify session token (embedded admin): `Authorization: Bearer <jwt>` on fetches, `id_token` on pages and
   forms. It is verified on every request (HS256 with the app secret, audience = our API key, not expired, issued
   by the admin of the shop it is for: iss = https://<shop>/admin, dest = https://<shop>), so no cookie is needed;
   a present but bad token is a 401, never a fall-back to a cookie.
2. the signed Django session set by `sign_in` (WooCommerce login form, one-time login links).

`merchant_view` wraps a view so it only runs with a shop in hand (`request.shop`); write it on every merchant view.
"""
from __future__ import annotations

import functools
import hashlib
import re
import secrets
from collections.abc import Callable
from typing import Any

import jwt
from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt

from backend.core import counters
from backend.shops.models import Shop

SESSION_KEY = "merchant_shop_id"  # the key merchant_session.py always used: old sessions stay valid
ACTOR_KEY = "merchant_actor"
_LINK_SALT = "dashboard.login-link"
LINK_MAX_AGE = 600
SIGN_IN_MAX_ATTEMPTS = 10  # per address and username, then a pause: password guessing gets slow
SIGN_IN_WINDOW_SECONDS = 15 * 60
_DEST = re.compile(r"^https://([a-z0-9][a-z0-9-]*\.myshopify\.com)/?$")


class BadToken(Exception):
    """A session token was presented and is forged, expired or for no installed shop."""


def _raw_token(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header.removeprefix("Bearer ").strip()
    token = request.GET.get("id_token", "")
    if not token and request.method == "POST" and request.content_type in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        token = request.POST.get("id_token", "")
    return token[:4096]


def token_shop_domain(claims: dict[str, Any]) -> str:
    """The shop a verified session token is for, or BadToken: `dest` must be a shop and `iss` that shop's admin
    (Shopify issues both; a token where they disagree was not made by the shop's admin for itself)."""
    dest = str(claims.get("dest", "")).lower()
    match = _DEST.match(dest)
    if not match:
        raise BadToken("session token names no shop")
    if str(claims.get("iss", "")).lower().rstrip("/") != f"https://{match.group(1)}/admin":
        raise BadToken("session token issuer does not match its shop")
    return match.group(1)


def verify_session_token(token: str) -> tuple[Shop, str]:
    """(shop, actor) from a Shopify session token, or BadToken."""
    secrets_ = [s for s in (settings.SHOPIFY_API_SECRET, getattr(settings, "SHOPIFY_API_SECRET_OLD", "")) if s]
    claims: dict[str, Any] | None = None
    for secret in secrets_:
        try:
            claims = jwt.decode(token, secret, algorithms=["HS256"], audience=settings.SHOPIFY_API_KEY,
                                leeway=5, options={"require": ["exp", "dest", "aud", "iss"]})
            break
        except jwt.ExpiredSignatureError as exc:
            raise BadToken("session token expired") from exc
        except jwt.PyJWTError:
            continue
    if claims is None:
        raise BadToken("invalid session token")
    shop = Shop.objects.filter(platform=Shop.Platform.SHOPIFY, domain=token_shop_domain(claims),
                               state=Shop.State.INSTALLED).first()
    if shop is None:
        raise BadToken("shop not installed")
    return shop, f"shopify:{str(claims.get('sub', ''))[:64]}"


def authenticate(request: HttpRequest) -> Shop | None:
    """The shop this request acts for (and sets request.merchant_actor / request.via_token); BadToken if a
    presented token is bad."""
    if getattr(request, "_dashboard_shop", None) is not None:
        return request._dashboard_shop
    token = _raw_token(request)
    if token:
        shop, actor = verify_session_token(token)
        request.via_token = True
        request.session_token = token
    else:
        shop_id = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
        if not isinstance(shop_id, int):
            return None
        shop = Shop.objects.filter(pk=shop_id, state=Shop.State.INSTALLED).first()
        if shop is None:
            return None
        actor = str(request.session.get(ACTOR_KEY) or "session")
        request.via_token = False
        request.session_token = ""
    request.merchant_actor = actor
    request._dashboard_shop = shop
    return shop


def current_shop(request: HttpRequest) -> Shop | None:
    try:
        return authenticate(request)
    except BadToken:
        return None


def sign_in(request: HttpRequest, shop: Shop, actor: str = "session") -> None:
    request.session.cycle_key()  # a fresh session id on every sign-in: no fixation
    request.session[SESSION_KEY] = shop.pk
    request.session[ACTOR_KEY] = actor


def sign_out(request: HttpRequest) -> None:
    request.session.flush()


def login_token(shop: Shop, actor: str = "link") -> str:
    # The nonce makes every link its own: two made in the same second would otherwise be one token, spent once.
    return signing.dumps({"shop": shop.pk, "actor": actor, "n": secrets.token_hex(6)}, salt=_LINK_SALT)


def shop_from_link(token: str) -> tuple[Shop, str] | None:
    """A one-time login link: valid for LINK_MAX_AGE seconds and spent on first use, in whichever process."""
    try:
        data = signing.loads(token, salt=_LINK_SALT, max_age=LINK_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not counters.first_use(f"dashboard:link-spent:{token[-43:]}", LINK_MAX_AGE + 60):
        return None
    shop = Shop.objects.filter(pk=data.get("shop"), state=Shop.State.INSTALLED).first()
    return (shop, str(data.get("actor", "link"))[:255]) if shop else None


def sign_in_attempt_allowed(ip: str, username: str) -> bool:
    """Counts this password attempt for the address and username; False once SIGN_IN_MAX_ATTEMPTS were made in
    the window. Counted before the password is checked, so a burst of parallel guesses cannot outrun the count."""
    return counters.hit(_attempts_key(ip, username), SIGN_IN_WINDOW_SECONDS) <= SIGN_IN_MAX_ATTEMPTS


def forget_sign_in_attempts(ip: str, username: str) -> None:
    counters.reset(_attempts_key(ip, username))


def _attempts_key(ip: str, username: str) -> str:
    # Hashed: the key must tell pairs apart, not keep addresses and usernames.
    return "dashboard:sign-in:" + hashlib.blake2b(f"{ip}\n{username.lower()}".encode(), digest_size=16).hexdigest()


def screen_shop(request: HttpRequest) -> Shop | HttpResponse:
    """For the widget and popup screens, which answer a plain 401/403 instead of sending to the login page: the
    signed-in shop, or the response to return. A one-time login link (?token=) signs in and reloads the screen
    without the token."""
    token = request.GET.get("token")
    if token:
        found = shop_from_link(token[:512])
        if found is None:
            return HttpResponse("This sign-in link is invalid, used or expired.", status=403,
                                content_type="text/plain")
        sign_in(request, found[0], actor=found[1])
        rest = request.GET.copy()
        rest.pop("token")
        return HttpResponseRedirect(request.path + (f"?{rest.urlencode()}" if rest else ""))
    shop = current_shop(request)
    if shop is None:
        return HttpResponse("Open this screen from your shop's admin.", status=401, content_type="text/plain")
    return shop


def _csrf_failure(request: HttpRequest) -> HttpResponse | None:
    """Cookie sessions must pass Django's CSRF check on unsafe methods; a token in the request is not ambient."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    return CsrfViewMiddleware(lambda r: HttpResponse()).process_view(request, None, (), {})


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def merchant_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Runs `view` only for a signed-in shop, exposed as `request.shop`; 401 otherwise (or the login page)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            shop = authenticate(request)
        except BadToken as exc:
            return JsonResponse({"error": str(exc)}, status=401)
        if shop is None:
            if _wants_json(request):
                return JsonResponse({"error": "sign in to a shop first"}, status=401)
            if request.GET.get("shop") and request.GET.get("embedded") == "1":
                # Embedded without a token: Shopify's bounce page fetches one and reloads here.
                from urllib.parse import urlencode

                return HttpResponseRedirect("/app/patch-id-token?" + urlencode({
                    "shop": request.GET["shop"], "shopify-reload": request.get_full_path()}))
            return HttpResponseRedirect("/admin/login/?next=" + request.path)
        if not request.via_token:
            refused = _csrf_failure(request)
            if refused is not None:
                return refused
        request.shop = shop
        return view(request, *args, **kwargs)

    return csrf_exempt(wrapped)


def csrf_unless_session_token(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For screens with their own auth handling: `csrf_protect`, except for a request carrying a valid session
    token (embedded admin, no cookies, nothing ambient to forge). Swap it in for `@csrf_protect`."""
    from django.views.decorators.csrf import csrf_protect

    protected = csrf_protect(view)

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if current_shop(request) is not None and getattr(request, "via_token", False):
            return view(request, *args, **kwargs)
        return protected(request, *args, **kwargs)

    return csrf_exempt(wrapped)


def actor_of(request: HttpRequest) -> str:
    return str(getattr(request, "merchant_actor", "") or "unknown")
