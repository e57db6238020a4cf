"""A popup experiment's hold-out arm, counted like the shown arm: when the popup would have appeared.

`GET /popup` never shows a hold-out visitor anything, but it answers them the campaign's trigger and a token signed
for this shop, campaign, experiment, arm and visitor. The storefront script watches the same exit intent it would
for the popup and, when it fires, reports "would have shown" (`POST /popup/exposure`). Only that report exposes a
hold-out visitor, once per visitor and experiment, so both arms count visitors who reached the same moment.
"""
from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

from django.conf import settings

from backend.storefront.fields import TOKEN, VISITOR_ID, matches

TOKEN_TTL = 24 * 3600  # a page left open for a day may still report; an older token is refused
MAX_TOKEN = 96  # "<expiry>.<64 hex>" with room to spare; anything longer is refused before any hashing


class ExposureRefused(Exception):
    """A report that is not counted, with the 4xx status and reason the script (and a log) gets."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass(frozen=True)
class Report:
    campaign: int
    experiment: str
    arm: str
    visitor: str
    token: str


def _key(shop_id: int) -> bytes:
    # A key per shop derived from the app's secret: a token made for one shop is worthless for another.
    return hmac.new(settings.SECRET_KEY.encode(), f"popup-holdout:{shop_id}".encode(), hashlib.sha256).digest()


def _signature(shop_id: int, campaign: int, experiment: str, arm: str, visitor: str, expires: int) -> str:
    message = f"{campaign}|{experiment}|{arm}|{visitor}|{expires}".encode()
    return hmac.new(_key(shop_id), message, hashlib.sha256).hexdigest()


def sign(shop_id: int, campaign: int, experiment: str, arm: str, visitor: str, now: float | None = None) -> str:
    expires = int(now if now is not None else time.time()) + TOKEN_TTL
    return f"{expires}.{_signature(shop_id, campaign, experiment, arm, visitor, expires)}"


def verify(shop_id: int, report: Report, now: float | None = None) -> None:
    """ExposureRefused(403) unless the token was made by us, for this shop and exactly this report, and is fresh."""
    expires_text, _dot, signature = report.token.partition(".")
    if not expires_text.isdecimal() or len(signature) != 64:
        raise ExposureRefused(403, "exposure token malformed")
    expires = int(expires_text)
    expected = _signature(shop_id, report.campaign, report.experiment, report.arm, report.visitor, expires)
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise ExposureRefused(403, "exposure token rejected: not issued by this shop for this visitor")
    if expires < (now if now is not None else time.time()):
        raise ExposureRefused(403, "exposure token expired")


def parse_report(data: object) -> Report:
    """The report's fields, checked and length-capped; ExposureRefused(400) naming the first bad one."""
    if not isinstance(data, dict):
        raise ExposureRefused(400, "body must be a JSON object")
    campaign = data.get("campaign")
    if isinstance(campaign, bool) or not isinstance(campaign, int) or campaign <= 0:
        raise ExposureRefused(400, "campaign must be the campaign id")
    experiment = data.get("experiment")
    if not isinstance(experiment, str) or not experiment.isdecimal() or len(experiment) > 12:
        raise ExposureRefused(400, "experiment must be the experiment id the popup answer named")
    arm = data.get("arm")
    if not matches(TOKEN, arm):
        raise ExposureRefused(400, "arm must be the variant the popup answer named")
    visitor = data.get("visitor")
    if not isinstance(visitor, str) or not matches(VISITOR_ID, visitor):
        raise ExposureRefused(400, "visitor must be 1-64 characters of A-Z a-z 0-9 _ - .")
    token = data.get("token")
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN:
        raise ExposureRefused(400, f"token must be the one the popup answer gave (at most {MAX_TOKEN} characters)")
    return Report(campaign, experiment, arm, visitor, token)


def record(shop_id: int, report: Report) -> bool:
    """Count the hold-out exposure the report names; True when it is new, False when already counted.

    The token proves the popup answer put this visitor in this hold-out; the experiment must still be running and
    the deterministic assignment must still agree (an arm renamed or a test restarted voids old tokens)."""
    from backend.experiments.runtime import record_would_show

    verify(shop_id, report)
    outcome = record_would_show(shop_id, report.experiment, report.arm, report.visitor,
                                  str(report.campaign))
    if outcome == "not_running":
        raise ExposureRefused(404, "no running experiment on that campaign")
    if outcome == "not_holdout":
        raise ExposureRefused(409, "this visitor is not in a hold-out arm of that experiment")
    return outcome == "new"
