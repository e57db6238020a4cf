"""Typed failures of platform calls: callers decide by type (retry, refresh the token, give up), never by text."""
from __future__ import annotations


class IntegrationError(Exception):
    """A platform call failed. `shop_domain` and `status` say where and how (status 0: no HTTP answer)."""

    retryable = False

    def __init__(self, message: str, *, shop_domain: str = "", status: int = 0) -> None:
        super().__init__(message)
        self.shop_domain = shop_domain
        self.status = status


class TransportError(IntegrationError):
    """No usable answer: connection refused, timeout, TLS or protocol error (after retries)."""

    retryable = True


class ServerError(IntegrationError):
    """The platform answered 5xx (after retries)."""

    retryable = True


class RateLimited(IntegrationError):
    """429 or a GraphQL THROTTLED error; `retry_after` is the platform's hint in seconds."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float = 1.0, **kw) -> None:  # noqa: ANN003
        super().__init__(message, **kw)
        self.retry_after = retry_after


class Unauthorized(IntegrationError):
    """401: the token is invalid, expired or revoked (refresh once, then give up)."""


class Forbidden(IntegrationError):
    """403: the app lacks a scope or the shop is locked."""


class MissingScope(Forbidden):
    """The platform refused for want of a permission the merchant has not granted (Shopify's ACCESS_DENIED, a
    WooCommerce key without write permission); `scope` names it. Retrying cannot help until it is granted."""

    def __init__(self, message: str, *, scope: str = "", **kw) -> None:  # noqa: ANN003
        super().__init__(message, **kw)
        self.scope = scope


class NotFound(IntegrationError):
    """404: the resource or the shop is gone."""


class ClientError(IntegrationError):
    """Another 4xx: our request is wrong; retrying will not help."""


class GraphQLError(IntegrationError):
    """A GraphQL answer carried errors (other than throttling); `errors` is the list as sent."""

    def __init__(self, message: str, *, errors: list | None = None, **kw) -> None:  # noqa: ANN003
        super().__init__(message, **kw)
        self.errors = errors or []


def error_for_status(status: int, message: str, *, shop_domain: str = "", retry_after: float = 1.0) -> IntegrationError:
    """Map an HTTP status to its typed error."""
    if status == 401:
        return Unauthorized(message, shop_domain=shop_domain, status=status)
    if status == 403:
        return Forbidden(message, shop_domain=shop_domain, status=status)
    if status == 404:
        return NotFound(message, shop_domain=shop_domain, status=status)
    if status == 429:
        return RateLimited(message, shop_domain=shop_domain, status=status, retry_after=retry_after)
    if status >= 500:
        return ServerError(message, shop_domain=shop_domain, status=status)
    return ClientError(message, shop_domain=shop_domain, status=status)
