"""`DataManagerStandin`: a real HTTP server speaking the Data Manager API's REST surface for Customer Match, strictly.

Bodies are parsed with Google's own message definitions (proto JSON, unknown fields refused), so a request the real
API would not parse is refused here too. On top of the schema it enforces what the API documents:
- auth: `Authorization: Bearer <token>` (else 401 UNAUTHENTICATED);
- POST /v1/accountTypes/GOOGLE_ADS/accounts/<id>/userLists: a display name, CONTACT_ID uploads, a membership
  duration of 1 to 540 days; GET of one list returns its size;
- POST /v1/audienceMembers:ingest and :remove: one destination naming a user list of the operating account,
  1 to 10,000 members, each with 1 to 10 user identifiers; emails, phones and names SHA-256 hex (64 lower-case hex
  characters, encoding HEX; an unhashed email is refused), region code two upper-case letters, postal code plain;
  ingestion needs consent (ad_user_data and ad_personalization, on the request or each member) and the Customer
  Match terms accepted.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from google.ads import datamanager_v1 as dm
from google.protobuf import json_format

from ..ad_platform import AdStandin, JsonHandler

HEX64 = re.compile(r"^[0-9a-f]{64}$")
MAX_MEMBERS = 10_000
MAX_IDENTIFIERS = 10
MAX_DAYS = 540
MAX_BODY = 64 * 1024 * 1024
_LISTS = re.compile(r"^/v1/accountTypes/GOOGLE_ADS/accounts/(?P<account>\d+)/userLists(?:/(?P<list>\d+))?$")


class ApiError(Exception):
    def __init__(self, code: int, status: str, message: str):
        super().__init__(message)
        self.code, self.status, self.message = code, status, message

    def body(self) -> dict:
        return {"error": {"code": self.code, "status": self.status, "message": self.message}}


def _invalid(message: str) -> ApiError:
    return ApiError(400, "INVALID_ARGUMENT", message)


@dataclass
class UserList:
    id: str
    account: str
    name: str
    duration_days: int
    members: set[tuple] = field(default_factory=set)  # one tuple of (kind, value...) identifiers per member


class DataManagerStandin(AdStandin):
    """A local Google Data Manager API for one Google Ads account's Customer Match user lists."""

    url_variable = "GOOGLE_STANDIN_URL"

    def __init__(self, token: str = "google-standin-token", account_id: str = "1234567890"):
        super().__init__(token, account_id, first_id=9000)
        self.lists: dict[str, UserList] = {}

    def emails(self, list_id: str) -> set[str]:
        return {ident[1] for member in self.lists[list_id].members for ident in member if ident[0] == "email"}

    # ---- the API
    def handle(self, method: str, path: str, headers: Any, raw: bytes) -> dict:
        if headers.get("Authorization") != f"Bearer {self.token}":
            raise ApiError(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        match = _LISTS.match(path)
        if match and method == "POST" and not match["list"]:
            return self._create(match["account"], self._parse(dm.UserList, raw))
        if match and method == "GET" and match["list"]:
            return self._read(match["account"], match["list"])
        if path.startswith("/v1/audienceMembers:") and method == "POST":
            self._count_first(raw)
        if path == "/v1/audienceMembers:ingest" and method == "POST":
            return self._members(self._parse(dm.IngestAudienceMembersRequest, raw), ingest=True)
        if path == "/v1/audienceMembers:remove" and method == "POST":
            return self._members(self._parse(dm.RemoveAudienceMembersRequest, raw), ingest=False)
        raise ApiError(404, "NOT_FOUND", f"no {method} {path}")

    @staticmethod
    def _count_first(raw: bytes) -> None:
        """An oversized batch is refused before the (slow) schema parse, as a front end checks sizes first."""
        try:
            members = json.loads(raw).get("audienceMembers", [])
        except (ValueError, AttributeError):
            return  # the schema parse below reports it
        if isinstance(members, list) and len(members) > MAX_MEMBERS:
            raise _invalid(f"audience_members must hold 1 to {MAX_MEMBERS} members")

    @staticmethod
    def _parse(message: type, raw: bytes) -> Any:
        try:
            return message.from_json(raw.decode("utf-8"), ignore_unknown_fields=False)
        except (json_format.ParseError, ValueError, UnicodeDecodeError) as exc:
            raise _invalid(f"Invalid JSON payload received. {str(exc)[:200]}") from None

    def _create(self, account: str, user_list: Any) -> dict:
        if account != self.account_id:
            raise ApiError(403, "PERMISSION_DENIED", "The caller does not have permission on this account")
        if not user_list.display_name:
            raise _invalid("user_list.display_name is required")
        keys = list(user_list.ingested_user_list_info.upload_key_types)
        if keys != [dm.IngestedUserListInfo.UploadKeyType.CONTACT_ID]:
            raise _invalid("a Customer Match list uploads CONTACT_ID")
        seconds = user_list.membership_duration.total_seconds() if user_list.membership_duration else 0
        if not 86_400 <= seconds <= MAX_DAYS * 86_400 or seconds % 86_400:
            raise _invalid("membership_duration must be whole days from 1 to 540")
        with self.lock:
            created = UserList(self.new_id(), account, user_list.display_name, int(seconds // 86_400))
            self.lists[created.id] = created
        return {"name": f"accountTypes/GOOGLE_ADS/accounts/{account}/userLists/{created.id}", "id": created.id,
                "displayName": created.name, "membershipDuration": f"{int(seconds)}s"}

    def _read(self, account: str, list_id: str) -> dict:
        found = self.lists.get(list_id)
        if found is None or found.account != account:
            raise ApiError(404, "NOT_FOUND", "user list not found")
        return {"name": f"accountTypes/GOOGLE_ADS/accounts/{account}/userLists/{list_id}", "id": list_id,
                "sizeInfo": {"displayNetworkMembersCount": str(len(found.members))}}

    def _members(self, request: Any, *, ingest: bool) -> dict:
        if len(request.destinations) != 1:
            raise _invalid("exactly one destination")
        destination = request.destinations[0]
        operating = destination.operating_account
        google_ads = dm.ProductAccount.AccountType.GOOGLE_ADS
        if operating.account_type != google_ads or operating.account_id != self.account_id:
            raise ApiError(403, "PERMISSION_DENIED", "The caller does not have permission on the operating account")
        target = self.lists.get(destination.product_destination_id)
        if target is None:
            raise _invalid("product_destination_id names no user list of the operating account")
        if request.encoding != dm.Encoding.HEX:
            raise _invalid("encoding must be HEX for hex-encoded hashes")
        members = list(request.audience_members)
        if not members or len(members) > MAX_MEMBERS:
            raise _invalid(f"audience_members must hold 1 to {MAX_MEMBERS} members")
        granted = dm.ConsentStatus.CONSENT_GRANTED
        if ingest:
            tos = request.terms_of_service.customer_match_terms_of_service_status
            if tos != dm.TermsOfServiceStatus.ACCEPTED:
                raise _invalid("terms_of_service.customer_match_terms_of_service_status must be ACCEPTED")
        parsed = []
        for i, member in enumerate(members):
            if ingest:
                consent = member.consent if member.consent else request.consent
                if consent.ad_user_data != granted or consent.ad_personalization != granted:
                    raise _invalid(f"audience_members[{i}].consent: ad_user_data and ad_personalization required")
            identifiers = list(member.user_data.user_identifiers)
            if not 1 <= len(identifiers) <= MAX_IDENTIFIERS:
                raise _invalid(f"audience_members[{i}] needs 1 to {MAX_IDENTIFIERS} user identifiers")
            parsed.append(tuple(sorted(self._identifier(i, ident) for ident in identifiers)))
        with self.lock:
            if (status := self.next_failure()) is not None:
                raise ApiError(status, "UNAVAILABLE" if status == 503 else "INTERNAL", "The service is unavailable.")
            if ingest:
                target.members.update(parsed)
            else:  # a removal matches a member by any identifier it shares
                gone = {ident for member in parsed for ident in member}
                target.members = {m for m in target.members if not gone & set(m)}
            self.requests.append(("ingest" if ingest else "remove", target.id, len(parsed)))
        return {"requestId": f"standin-{len(self.requests)}"}

    @staticmethod
    def _identifier(i: int, ident: Any) -> tuple:
        kind = dm.UserIdentifier.pb(ident).WhichOneof("identifier")
        if kind == "email_address" or kind == "phone_number":
            value = getattr(ident, kind)
            if not HEX64.match(value):
                raise _invalid(f"audience_members[{i}]: {kind} must be a SHA-256 hash, hex encoded")
            return ("email" if kind == "email_address" else "phone", value)
        if kind == "address":
            a = ident.address
            if not (HEX64.match(a.given_name) and HEX64.match(a.family_name)):
                raise _invalid(f"audience_members[{i}]: given_name and family_name must be SHA-256 hex")
            if not re.fullmatch(r"[A-Z]{2}", a.region_code) or not a.postal_code or HEX64.match(a.postal_code):
                raise _invalid(f"audience_members[{i}]: region_code (ISO alpha-2) and a plain postal_code required")
            return ("address", a.given_name, a.family_name, a.region_code, a.postal_code)
        raise _invalid(f"audience_members[{i}]: empty user identifier")


class _Handler(JsonHandler):
    owner: DataManagerStandin

    def serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.reply(413, ApiError(413, "INVALID_ARGUMENT", "Request payload size exceeds the limit").body())
            return
        raw = self.rfile.read(length) if length else b""
        try:
            body = self.owner.handle(method, self.path.split("?")[0], self.headers, raw)
        except ApiError as exc:
            self.owner.refusals.append(exc.message)
            self.reply(exc.code, exc.body())
            return
        self.reply(200, body)


DataManagerStandin.handler = _Handler
