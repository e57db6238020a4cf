"""Shopify's OAuth endpoints as documented on shopify.dev, enforced, for many shops at once.

- Authorization code grant: GET /admin/oauth/authorize?client_id&scope&redirect_uri&state[&grant_options[]=per-user]
  approves at once and 302s to redirect_uri with code, hmac, host, shop, state, timestamp (hmac: hex HMAC-SHA256 of
  the other params sorted and joined as k=v&k=v, keyed with the app secret). POST /admin/oauth/access_token with
  client_id, client_secret, code (single use, bound to the shop, 10 minutes) [, expiring=1].
- Token exchange: grant_type urn:ietf:params:oauth:grant-type:token-exchange, subject_token = an App Bridge session
  token (HS256 with the app secret, aud = client id, dest = this shop, not expired),
  subject_token_type urn:ietf:params:oauth:token-type:id_token, requested_token_type
  urn:shopify:params:oauth:token-type:{offline,online}-access-token, expiring=1 for an expiring offline token.
- Refresh: grant_type refresh_token: returns a new access token and a new refresh token; the refresh token used
  stops working (the previous access token stays valid until its own expiry).
Errors are JSON {"error", "error_description"}: invalid_client (401), invalid_request / invalid_subject_token /
invalid_grant / unsupported_grant_type (400). Authorize answers 400 (no redirect) for an unknown client_id, a
redirect_uri outside the app URL / allowed redirect URLs, or an undefined scope.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import jwt

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE_TYPE = "urn:shopify:params:oauth:token-type:offline-access-token"
ONLINE_TYPE = "urn:shopify:params:oauth:token-type:online-access-token"
CODE_LIFETIME = 600
_SCOPE = re.compile(r"^(unauthenticated_)?(read|write)_[a-z_]{2,40}$")
ONLINE_LIFETIME = 86_400


def query_hmac(params: dict[str, str], secret: str) -> str:
    """Shopify's query-string signature: every param but hmac/signature, sorted, k=v joined by &, hex."""
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in ("hmac", "signature"))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def host_param(shop: str) -> str:
    store = shop.removesuffix(".myshopify.com")
    return base64.b64encode(f"admin.shopify.com/store/{store}".encode()).decode().rstrip("=")


@dataclass
class AccessToken:
    token: str
    shop: str
    scopes: frozenset[str]
    mode: str  # offline | online
    expires_at: float | None
    user_id: int | None = None
    revoked: bool = False

    def valid(self, now: float) -> bool:
        return not self.revoked and (self.expires_at is None or now < self.expires_at)


@dataclass
class RefreshToken:
    token: str
    shop: str
    scopes: frozenset[str]
    expires_at: float
    used: bool = False


@dataclass
class Grant:
    shop: str
    scopes: frozenset[str]
    redirect_uri: str
    expires_at: float
    online: bool
    used: bool = False


@dataclass
class OAuthError(Exception):
    status: int
    error: str
    description: str

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


@dataclass
class OAuth:
    api_key: str
    api_secret: str
    app_url: str
    scopes: frozenset[str]
    token_lifetime: float = 3600.0
    refresh_token_lifetime: float = 90 * 86_400.0
    redirect_urls: tuple[str, ...] = ()
    codes: dict[str, Grant] = field(default_factory=dict)
    tokens: dict[str, AccessToken] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
    requested_scopes: dict[str, list[str]] = field(default_factory=dict)  # shop -> scopes asked at authorize
    lock: threading.Lock = field(default_factory=threading.Lock)

    # ------------------------------------------------------------------ session tokens (App Bridge id tokens)
    def session_token(self, shop: str, user_id: int = 1, *, expires_in: int = 60, secret: str | None = None,
                      aud: str | None = None, dest: str | None = None, issued_at: float | None = None) -> str:
        iat = int(issued_at if issued_at is not None else time.time())
        claims = {"iss": f"https://{shop}/admin", "dest": dest or f"https://{shop}", "aud": aud or self.api_key,
                  "sub": str(user_id), "exp": iat + expires_in, "nbf": iat, "iat": iat,
                  "jti": str(uuid.uuid4()), "sid": secrets.token_hex(16)}
        return jwt.encode(claims, secret or self.api_secret, algorithm="HS256")

    def _verify_session_token(self, shop: str, token: Any) -> dict[str, Any]:
        if not isinstance(token, str) or not token:
            raise OAuthError(400, "invalid_subject_token", "subject_token is missing")
        try:
            claims = jwt.decode(token, self.api_secret, algorithms=["HS256"], audience=self.api_key, leeway=5,
                                options={"require": ["exp", "nbf", "iat", "iss", "dest", "aud", "sub"]})
        except jwt.PyJWTError as exc:
            raise OAuthError(400, "invalid_subject_token", f"The subject token is invalid: {exc}") from exc
        if claims.get("dest") != f"https://{shop}" or claims.get("iss") != f"https://{shop}/admin":
            raise OAuthError(400, "invalid_subject_token", "The subject token was issued for another shop")
        return claims

    # ------------------------------------------------------------------ authorization code grant
    def _redirect_allowed(self, uri: str) -> bool:
        parts = urlsplit(uri)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            return False
        allowed = [*(self.redirect_urls or ()), self.app_url]
        for base in allowed:
            b = urlsplit(base)
            if parts.scheme == b.scheme and parts.netloc == b.netloc and parts.path.startswith(b.path.rstrip("/")):
                return True
        return False

    def authorize(self, shop: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], str]:
        """(status, headers, body) for GET /admin/oauth/authorize: approves at once when the request is valid."""
        def one(name: str) -> str:
            values = query.get(name) or [""]
            return values[0]

        if one("client_id") != self.api_key:
            return 400, {}, "Oauth error invalid_request: The client_id is not recognized."
        redirect_uri = one("redirect_uri")
        if not self._redirect_allowed(redirect_uri):
            return 400, {}, "Oauth error invalid_request: The redirect_uri is not whitelisted"
        scopes = [s.strip() for s in one("scope").split(",") if s.strip()]
        bad = [s for s in scopes if not _SCOPE.match(s)]
        if bad:
            return 400, {}, f"Oauth error invalid_scope: Scope undefined: {bad[0][:40]}"
        online = "per-user" in (query.get("grant_options[]") or [])
        code = secrets.token_hex(16)
        with self.lock:
            self.codes[code] = Grant(shop, frozenset(scopes), redirect_uri, time.time() + CODE_LIFETIME, online)
            self.requested_scopes[shop] = scopes
        params = {"code": code, "host": host_param(shop), "shop": shop, "state": one("state"),
                  "timestamp": str(int(time.time()))}
        params["hmac"] = query_hmac(params, self.api_secret)
        sep = "&" if "?" in redirect_uri else "?"
        return 302, {"Location": f"{redirect_uri}{sep}{urlencode(params)}"}, ""

    def signed_install_query(self, shop: str, *, timestamp: int | None = None, secret: str | None = None) -> str:
        params = {"host": host_param(shop), "shop": shop, "timestamp": str(timestamp or int(time.time()))}
        params["hmac"] = query_hmac(params, secret or self.api_secret)
        return urlencode(params)

    # ------------------------------------------------------------------ POST /admin/oauth/access_token
    def access_token(self, shop: str, params: dict[str, Any]) -> dict[str, Any]:
        """The token endpoint; raises OAuthError with Shopify's error shape."""
        if params.get("client_id") != self.api_key or not hmac.compare_digest(
                str(params.get("client_secret") or ""), self.api_secret):
            raise OAuthError(401, "invalid_client", "Client credentials are invalid")
        grant_type = params.get("grant_type")
        expiring = str(params.get("expiring", "0")) in ("1", "true", "True")
        if grant_type in (None, "", "authorization_code"):
            return self._code_grant(shop, params, expiring)
        if grant_type == TOKEN_EXCHANGE:
            return self._token_exchange(shop, params, expiring)
        if grant_type == "refresh_token":
            return self._refresh(shop, params)
        raise OAuthError(400, "unsupported_grant_type", f"grant_type {grant_type!r} is not supported")

    def _code_grant(self, shop: str, params: dict[str, Any], expiring: bool) -> dict[str, Any]:
        code = str(params.get("code") or "")
        with self.lock:
            grant = self.codes.get(code)
            if grant is None or grant.used or grant.shop != shop or grant.expires_at < time.time():
                raise OAuthError(400, "invalid_request", "The authorization code was not found or was already used")
            grant.used = True
        if grant.online:
            return self._issue(shop, grant.scopes, "online", expiring=True, user_id=1)
        return self._issue(shop, grant.scopes, "offline", expiring=expiring)

    def _token_exchange(self, shop: str, params: dict[str, Any], expiring: bool) -> dict[str, Any]:
        if params.get("subject_token_type") != ID_TOKEN_TYPE:
            raise OAuthError(400, "invalid_request", "subject_token_type must be " + ID_TOKEN_TYPE)
        requested = params.get("requested_token_type")
        if requested not in (OFFLINE_TYPE, ONLINE_TYPE):
            raise OAuthError(400, "invalid_request", "requested_token_type is not supported")
        claims = self._verify_session_token(shop, params.get("subject_token"))
        if requested == ONLINE_TYPE:
            return self._issue(shop, self.scopes, "online", expiring=True, user_id=int(claims["sub"]))
        return self._issue(shop, self.scopes, "offline", expiring=expiring)

    def _refresh(self, shop: str, params: dict[str, Any]) -> dict[str, Any]:
        value = str(params.get("refresh_token") or "")
        with self.lock:
            rt = self.refresh_tokens.get(value)
            if rt is None or rt.used or rt.shop != shop or rt.expires_at < time.time():
                raise OAuthError(400, "invalid_grant", "The refresh token is invalid, expired or already used")
            rt.used = True
        return self._issue(shop, rt.scopes, "offline", expiring=True)

    def _issue(self, shop: str, scopes: frozenset[str], mode: str, *, expiring: bool,
               user_id: int | None = None) -> dict[str, Any]:
        now = time.time()
        lifetime = (ONLINE_LIFETIME if mode == "online" else self.token_lifetime) if expiring else None
        token = ("shpua_" if mode == "online" else "shpat_") + secrets.token_hex(16)
        record = AccessToken(token, shop, frozenset(scopes), mode, now + lifetime if lifetime else None, user_id)
        body: dict[str, Any] = {"access_token": token, "scope": ",".join(sorted(scopes))}
        with self.lock:
            self.tokens[token] = record
            if mode == "offline" and expiring:
                refresh = "shprt_" + secrets.token_hex(24)
                self.refresh_tokens[refresh] = RefreshToken(refresh, shop, frozenset(scopes),
                                                            now + self.refresh_token_lifetime)
                body.update(expires_in=int(lifetime or 0), refresh_token=refresh,
                            refresh_token_expires_in=int(self.refresh_token_lifetime))
        if mode == "online":
            body.update(expires_in=int(lifetime or 0), associated_user_scope=body["scope"],
                        associated_user={"id": user_id, "first_name": "Ana", "last_name": "Demo",
                                         "email": f"ana+{user_id}@example.com", "account_owner": user_id == 1,
                                         "locale": "es", "collaborator": False, "email_verified": True})
        return body

    # ------------------------------------------------------------------ used by the Admin API and the stand-in
    def check(self, shop: str, token: str | None) -> AccessToken | None:
        if not token:
            return None
        record = self.tokens.get(token)
        if record is None or record.shop != shop or not record.valid(time.time()):
            return None
        return record

    def issue_offline_token(self, shop: str, *, expiring: bool = True,
                            scopes: frozenset[str] | None = None) -> dict[str, Any]:
        """A token as if the app had been installed (for tests that skip the install flow)."""
        return self._issue(shop, scopes or self.scopes, "offline", expiring=expiring)

    def revoke_shop(self, shop: str) -> None:
        with self.lock:
            for record in self.tokens.values():
                if record.shop == shop:
                    record.revoked = True
            for rt in self.refresh_tokens.values():
                if rt.shop == shop:
                    rt.used = True

    def expire_token(self, token: str) -> None:
        """Make an access token expire now (to test refresh-on-401)."""
        with self.lock:
            record = self.tokens.get(token)
            if record:
                record.expires_at = time.time() - 1
