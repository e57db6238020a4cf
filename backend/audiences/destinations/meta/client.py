"""Meta Custom Audiences (customer list) through the maintained `facebook-business` SDK.

Adds go through `CustomAudience.add_users` with pre-hashed multi-key rows and the upload session fields. Removals
use the SDK's own request formatting (`CustomAudience.format_params`) and its authenticated session, but send the
payload as the request body: the SDK's `remove_users` puts a DELETE's parameters in the URL, which breaks long
before 10,000 rows (facebook-python-business-sdk issues 285, 367, 717; the Java SDK's 179 is the same bug).
"""
from __future__ import annotations

import logging

from django.conf import settings
from facebook_business.adobjects.adaccount import AdAccount
from facebook_business.adobjects.customaudience import CustomAudience
from facebook_business.api import FacebookAdsApi, FacebookResponse, _top_level_param_json_encode
from facebook_business.exceptions import FacebookError, FacebookRequestError
from facebook_business.session import FacebookSession
from requests import RequestException

from backend.audiences.contacts import Contact
from backend.audiences.destinations.interface import Batch, DestinationError, RemoteAudience

from . import normalize

logger = logging.getLogger("personalize.audiences.meta")
TIMEOUT = 30
# Graph error codes that mean "later": throttling (4, 17, 32, 613, 80003) and temporary failures (1, 2).
RETRYABLE_CODES = {1, 2, 4, 17, 32, 613, 80003}


def _error(exc: Exception) -> DestinationError:
    if isinstance(exc, FacebookRequestError):
        status = exc.http_status()
        code = exc.api_error_code()
        retryable = status in (429, 500, 502, 503, 504) or code in RETRYABLE_CODES
        message = exc.api_error_message() or str(status)
        return DestinationError(f"Meta {status} (code {code}): {message}", retryable=retryable, status=status)
    if isinstance(exc, RequestException):
        return DestinationError(f"Meta unreachable: {type(exc).__name__}", retryable=True)
    return DestinationError(f"Meta: {exc}")


class MetaAudiences:
    platform = "meta"

    def __init__(self, account_id: str, access_token: str, *, graph_url: str | None = None):
        session = FacebookSession(access_token=access_token, timeout=TIMEOUT)
        session.GRAPH = graph_url or settings.META_GRAPH_URL  # the SDK reads it per call: point it at a stand-in
        self.api = FacebookAdsApi(session)
        self.account_id = account_id if account_id.startswith("act_") else f"act_{account_id}"

    def row_for(self, contact: Contact) -> list[str] | None:
        return normalize.hashed_row(contact)

    def create_audience(self, spec: RemoteAudience) -> str:
        try:
            created = AdAccount(self.account_id, api=self.api).create_custom_audience(params={
                "name": spec.name[:200], "description": spec.description[:500], "subtype": "CUSTOM",
                "customer_file_source": "USER_PROVIDED_ONLY",
            })
        except (FacebookError, RequestException) as exc:
            raise _error(exc) from exc
        return str(created["id"])

    @staticmethod
    def _session(batch: Batch) -> dict:
        return {"session_id": batch.session_id, "batch_seq": batch.seq, "last_batch_flag": batch.last,
                "estimated_num_total": batch.estimated_total}

    def _check(self, response: FacebookResponse, batch: Batch) -> None:
        if response.is_failure():
            raise _error(response.error())
        body = response.json() if isinstance(response.json(), dict) else {}
        invalid = int(body.get("num_invalid_entries") or 0)
        if int(body.get("num_received") or 0) != len(batch.rows) or invalid:
            raise DestinationError(f"Meta took {body.get('num_received')} of {len(batch.rows)} rows "
                                   f"({invalid} invalid)")

    def add(self, remote_id: str, batch: Batch) -> None:
        try:
            response = CustomAudience(remote_id, api=self.api).add_users(
                normalize.SCHEMA, batch.rows, is_raw=True, pre_hashed=True, session=self._session(batch))
        except (FacebookError, RequestException) as exc:
            raise _error(exc) from exc
        self._check(response, batch)

    def remove(self, remote_id: str, batch: Batch) -> None:
        params = CustomAudience.format_params(normalize.SCHEMA, batch.rows, is_raw=True, pre_hashed=True,
                                              session=self._session(batch))
        session = self.api._session
        url = "/".join((session.GRAPH, self.api.API_VERSION, remote_id, "users"))
        try:
            raw = session.requests.request("DELETE", url, data=_top_level_param_json_encode(params),
                                           headers=FacebookAdsApi.HTTP_DEFAULT_HEADERS, timeout=TIMEOUT)
        except RequestException as exc:
            raise _error(exc) from exc
        response = FacebookResponse(body=raw.text, headers=raw.headers, http_status=raw.status_code,
                                    call={"method": "DELETE", "path": url, "params": {}})
        self._check(response, batch)

    def matched_size(self, remote_id: str) -> int | None:
        try:
            audience = CustomAudience(remote_id, api=self.api).api_get(
                fields=["approximate_count_lower_bound", "approximate_count_upper_bound"])
        except (FacebookError, RequestException) as exc:
            logger.info("Meta audience size not read: %s", _error(exc).reason)
            return None
        lower = audience.get("approximate_count_lower_bound")
        return int(lower) if isinstance(lower, int) and lower >= 0 else None
