"""Google Customer Match through the Data Manager API with Google's `google-ads-datamanager` client (REST transport,
so the same client reaches a local stand-in over plain HTTP in tests).

Since 2026-04 the Google Ads API takes no new Customer Match integrations; the Data Manager API is the way in:
`UserListService.CreateUserList` makes the audience (with its membership duration), `IngestionService` adds and
removes members. Every member we send has given marketing consent, so each carries ad_user_data and
ad_personalization GRANTED, and the request states that the Customer Match terms were accepted.
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from django.conf import settings
from google.ads import datamanager_v1 as dm
from google.ads.datamanager_v1.services.ingestion_service.transports.rest import IngestionServiceRestTransport
from google.ads.datamanager_v1.services.user_list_service.transports.rest import UserListServiceRestTransport
from google.api_core import exceptions as gexc
from google.auth import exceptions as auth_exc
from google.oauth2.credentials import Credentials
from google.protobuf import duration_pb2

from backend.audiences.contacts import Contact
from backend.audiences.destinations.interface import Batch, DestinationError, RemoteAudience

from . import normalize

logger = logging.getLogger("personalize.audiences.google")
TIMEOUT = 30.0
MAX_DURATION_DAYS = 540  # Customer Match keeps a member at most 540 days
RETRYABLE = (gexc.TooManyRequests, gexc.ServiceUnavailable, gexc.InternalServerError, gexc.DeadlineExceeded,
             gexc.GatewayTimeout, gexc.BadGateway)
CALL_ERRORS = (gexc.GoogleAPICallError, gexc.RetryError, auth_exc.GoogleAuthError, OSError)
GRANTED = dm.Consent(ad_user_data=dm.ConsentStatus.CONSENT_GRANTED,
                     ad_personalization=dm.ConsentStatus.CONSENT_GRANTED)
_GRANTED_PB = dm.Consent.pb(GRANTED)
_MEMBER, _USER_DATA = dm.AudienceMember.pb(), dm.UserData.pb()
_IDENTIFIER, _ADDRESS = dm.UserIdentifier.pb(), dm.AddressInfo.pb()


def _error(exc: Exception) -> DestinationError:
    if isinstance(exc, gexc.GoogleAPICallError):
        status = int(exc.code) if isinstance(exc.code, int) else None
        return DestinationError(f"Google {status}: {exc.message}", retryable=isinstance(exc, RETRYABLE),
                                status=status)
    if isinstance(exc, auth_exc.RefreshError):
        # A 401 makes google-auth try to refresh; with only the merchant's access token it cannot: token expired.
        return DestinationError("Google refused the access token (expired or revoked)", status=401)
    if isinstance(exc, gexc.RetryError | OSError):
        return DestinationError(f"Google unreachable: {type(exc).__name__}", retryable=True)
    return DestinationError(f"Google: {exc}")


class GoogleAudiences:
    platform = "google"

    def __init__(self, account_id: str, access_token: str, *, login_account_id: str = "",
                 base_url: str | None = None):
        url = urlsplit(base_url or settings.GOOGLE_DATAMANAGER_URL)
        credentials = Credentials(token=access_token)
        self.ingestion = dm.IngestionServiceClient(transport=IngestionServiceRestTransport(
            host=url.netloc, credentials=credentials, url_scheme=url.scheme))
        self.user_lists = dm.UserListServiceClient(transport=UserListServiceRestTransport(
            host=url.netloc, credentials=credentials, url_scheme=url.scheme))
        self.account_id = account_id.replace("-", "")
        self.login_account_id = login_account_id.replace("-", "")

    def _account(self, account_id: str) -> dm.ProductAccount:
        return dm.ProductAccount(account_type=dm.ProductAccount.AccountType.GOOGLE_ADS, account_id=account_id)

    def _destination(self, remote_id: str) -> dm.Destination:
        destination = dm.Destination(operating_account=self._account(self.account_id),
                                     product_destination_id=remote_id)
        if self.login_account_id:
            destination.login_account = self._account(self.login_account_id)
        return destination

    def _metadata(self) -> list[tuple[str, str]]:
        if not self.login_account_id:
            return []
        return [("login-account", f"accountTypes/GOOGLE_ADS/accounts/{self.login_account_id}")]

    def row_for(self, contact: Contact) -> list[list[str]] | None:
        return normalize.hashed_identifiers(contact)

    @staticmethod
    def _member(row: list[list[str]], *, consent: bool) -> object:
        """One AudienceMember as a raw protobuf message: building 10,000 proto-plus wrappers per request cost more
        than the request itself (the request is wrapped once, below)."""
        identifiers = []
        for pair in row:
            if pair[0] == "email":
                identifiers.append(_IDENTIFIER(email_address=pair[1]))
            elif pair[0] == "phone":
                identifiers.append(_IDENTIFIER(phone_number=pair[1]))
            elif pair[0] == "address":
                identifiers.append(_IDENTIFIER(address=_ADDRESS(
                    given_name=pair[1], family_name=pair[2], region_code=pair[3], postal_code=pair[4])))
        member = _MEMBER(user_data=_USER_DATA(user_identifiers=identifiers))
        if consent:
            member.consent.CopyFrom(_GRANTED_PB)
        return member

    def create_audience(self, spec: RemoteAudience) -> str:
        days = max(1, min(spec.retention_days, MAX_DURATION_DAYS))
        user_list = dm.UserList(
            display_name=spec.name[:200], description=spec.description[:500],
            membership_duration=duration_pb2.Duration(seconds=days * 86_400),
            ingested_user_list_info=dm.IngestedUserListInfo(
                upload_key_types=[dm.IngestedUserListInfo.UploadKeyType.CONTACT_ID],
                contact_id_info=dm.ContactIdInfo(data_source_type=dm.DataSourceType.DATA_SOURCE_TYPE_FIRST_PARTY)),
        )
        try:
            created = self.user_lists.create_user_list(
                parent=f"accountTypes/GOOGLE_ADS/accounts/{self.account_id}", user_list=user_list,
                retry=None, timeout=TIMEOUT, metadata=self._metadata())
        except CALL_ERRORS as exc:
            raise _error(exc) from exc
        return str(created.id or created.name.rsplit("/", 1)[-1])

    def add(self, remote_id: str, batch: Batch) -> None:
        request = dm.IngestAudienceMembersRequest(
            destinations=[self._destination(remote_id)], consent=GRANTED, encoding=dm.Encoding.HEX,
            terms_of_service=dm.TermsOfService(customer_match_terms_of_service_status=dm.TermsOfServiceStatus.ACCEPTED),
        )
        dm.IngestAudienceMembersRequest.pb(request).audience_members.extend(
            self._member(row, consent=True) for row in batch.rows)
        try:
            self.ingestion.ingest_audience_members(request=request, retry=None, timeout=TIMEOUT)
        except CALL_ERRORS as exc:
            raise _error(exc) from exc

    def remove(self, remote_id: str, batch: Batch) -> None:
        request = dm.RemoveAudienceMembersRequest(destinations=[self._destination(remote_id)], encoding=dm.Encoding.HEX)
        dm.RemoveAudienceMembersRequest.pb(request).audience_members.extend(
            self._member(row, consent=False) for row in batch.rows)
        try:
            self.ingestion.remove_audience_members(request=request, retry=None, timeout=TIMEOUT)
        except CALL_ERRORS as exc:
            raise _error(exc) from exc

    def matched_size(self, remote_id: str) -> int | None:
        try:
            found = self.user_lists.get_user_list(
                name=f"accountTypes/GOOGLE_ADS/accounts/{self.account_id}/userLists/{remote_id}",
                retry=None, timeout=TIMEOUT, metadata=self._metadata())
        except CALL_ERRORS as exc:
            logger.info("Google audience size not read: %s", _error(exc).reason)
            return None
        return int(found.size_info.display_network_members_count) if "size_info" in found else None
