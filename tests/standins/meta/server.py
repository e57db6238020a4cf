"""`MetaStandin`: a real HTTP server speaking the Graph API's customer-list Custom Audience endpoints, strictly.

What it enforces, as Meta does:
- auth: `access_token` must be the account's token (else 400, OAuthException code 190); the path names a version.
- POST /vNN.N/act_<id>/customaudiences: name, subtype=CUSTOM, customer_file_source from Meta's list.
- POST and DELETE /vNN.N/<audience>/users with a form body (a DELETE's payload in the URL is refused beyond 8 KB
  with 414, as a real front end does): `payload` = {schema, data, is_raw}; the schema must be a list of known
  multi-key names, each once, and every row must have exactly one value per schema key, in that order; each value
  empty or 64 lower-case hex characters (an unhashed email is refused with code 100); at least one matchable key
  (EMAIL, PHONE, or FN+LN with ZIP or CT) per row; at most 10,000 rows.
- the upload session: `session` = {session_id, batch_seq, last_batch_flag, estimated_num_total}; a session's batches
  arrive in order from 1, belong to one audience and one operation, and nothing follows the last one.
- GET /vNN.N/<audience>?fields=approximate_count_lower_bound,... : the size it holds.

Tests read what it holds (`emails(audience_id)` as hashes) and can make the next requests fail (`fail_next`).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from ..ad_platform import AdStandin, JsonHandler

KNOWN_KEYS = {"EXTERN_ID", "EMAIL", "PHONE", "GEN", "DOBY", "DOBM", "DOBD", "LN", "FN", "FI", "CT", "ST", "ZIP",
              "MADID", "COUNTRY", "APPUID"}
FILE_SOURCES = {"USER_PROVIDED_ONLY", "PARTNER_PROVIDED_ONLY", "BOTH_USER_AND_PARTNER_PROVIDED"}
HEX64 = re.compile(r"^[0-9a-f]{64}$")
MAX_ROWS = 10_000
MAX_URL = 8 * 1024
MAX_BODY = 64 * 1024 * 1024
_VERSION = re.compile(r"^/v\d+\.\d+/")


class GraphError(Exception):
    def __init__(self, status: int, code: int, message: str, kind: str = "OAuthException"):
        super().__init__(message)
        self.status, self.code, self.message, self.kind = status, code, message, kind

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.kind, "code": self.code, "fbtrace_id": "standin"}}


@dataclass
class Session:
    audience_id: str
    operation: str
    last_seq: int = 0
    closed: bool = False


@dataclass
class RemoteAudience:
    id: str
    account: str
    name: str
    rows: set[tuple[str, ...]] = field(default_factory=set)  # (EMAIL, PHONE, ...) in the account's schema order
    schema: tuple[str, ...] = ()


class MetaStandin(AdStandin):
    """A local Meta Graph API for one ad account's customer-list Custom Audiences."""

    url_variable = "META_STANDIN_URL"

    def __init__(self, token: str = "meta-standin-token", account_id: str = "act_1001"):
        super().__init__(token, account_id, first_id=23840000000000)
        self.audiences: dict[str, RemoteAudience] = {}
        self.sessions: dict[int, Session] = {}

    def emails(self, audience_id: str) -> set[str]:
        audience = self.audiences[audience_id]
        i = audience.schema.index("EMAIL")
        return {row[i] for row in audience.rows if row[i]}

    # ---- the API
    def handle(self, method: str, path: str, params: dict[str, str]) -> dict:
        if params.get("access_token") != self.token:
            raise GraphError(400, 190, "Invalid OAuth access token - Cannot parse access token")
        if not _VERSION.match(path):
            raise GraphError(400, 2500, "Unknown path components: version required")
        parts = path.strip("/").split("/")[1:]
        if len(parts) == 2 and parts[1] == "customaudiences" and method == "POST":
            return self._create(parts[0], params)
        if len(parts) == 2 and parts[1] == "users" and method in ("POST", "DELETE"):
            return self._users(parts[0], method, params)
        if len(parts) == 1 and method == "GET":
            return self._read(parts[0])
        raise GraphError(400, 100, f"Unsupported {method} request", "GraphMethodException")

    def _create(self, account: str, params: dict[str, str]) -> dict:
        if account != self.account_id:
            raise GraphError(400, 100, "Unsupported post request: no such ad account", "GraphMethodException")
        name = params.get("name", "")
        if not name or len(name) > 200:
            raise GraphError(400, 100, "(#100) The parameter name is required")
        if params.get("subtype") != "CUSTOM":
            raise GraphError(400, 100, "(#100) subtype must be CUSTOM for a customer list")
        if params.get("customer_file_source") not in FILE_SOURCES:
            raise GraphError(400, 100, "(#100) customer_file_source must be one of " + ", ".join(sorted(FILE_SOURCES)))
        with self.lock:
            audience = RemoteAudience(self.new_id(), account, name)
            self.audiences[audience.id] = audience
        return {"id": audience.id}

    def _users(self, audience_id: str, method: str, params: dict[str, str]) -> dict:
        audience = self.audiences.get(audience_id)
        if audience is None:
            raise GraphError(400, 100, f"Unsupported request - object {audience_id} does not exist",
                             "GraphMethodException")
        try:
            payload = json.loads(params.get("payload", ""))
            session = json.loads(params.get("session", ""))
        except ValueError:
            raise GraphError(400, 100, "(#100) payload and session must be JSON objects") from None
        if not isinstance(payload, dict) or not isinstance(session, dict):
            raise GraphError(400, 100, "(#100) payload and session must be JSON objects")
        schema, data = payload.get("schema"), payload.get("data")
        if not isinstance(schema, list) or not schema or len(set(schema)) != len(schema) or \
                not set(schema) <= KNOWN_KEYS:
            raise GraphError(400, 100, "(#100) Invalid schema: a list of distinct multi-key names")
        if not isinstance(data, list) or not data:
            raise GraphError(400, 100, "(#100) Data is missing or does not match schema")
        if len(data) > MAX_ROWS:
            raise GraphError(400, 100, f"(#100) Too many rows: at most {MAX_ROWS} per request")
        rows = []
        for row in data:
            if not isinstance(row, list) or len(row) != len(schema) or not all(isinstance(v, str) for v in row):
                raise GraphError(400, 100, "(#100) Data is missing or does not match schema")
            for key, value in zip(schema, row, strict=True):
                if value and not HEX64.match(value):
                    raise GraphError(400, 100, f"(#100) {key} must be SHA-256 hashed (64 lower-case hex)")
            have = {k for k, v in zip(schema, row, strict=True) if v}
            if not (have & {"EMAIL", "PHONE", "MADID", "EXTERN_ID"} or {"FN", "LN"} <= have and have & {"ZIP", "CT"}):
                raise GraphError(400, 100, "(#100) A row needs EMAIL, PHONE or a name with a location")
            rows.append(tuple(row))
        self._session(audience, method, session, len(rows))
        with self.lock:
            if audience.schema and tuple(schema) != audience.schema:
                raise GraphError(400, 100, "(#100) schema differs from this audience's earlier uploads")
            if (status := self.next_failure()) is not None:  # 500: a temporary Graph error
                raise GraphError(status, 2, "An unexpected error has occurred. Please retry your request later.")
            audience.schema = tuple(schema)
            if method == "POST":
                audience.rows.update(rows)
            else:
                audience.rows.difference_update(rows)
            self.requests.append((method, audience_id, len(rows)))
        return {"audience_id": audience_id, "session_id": session["session_id"], "num_received": len(rows),
                "num_invalid_entries": 0, "invalid_entry_samples": {}}

    def _session(self, audience: RemoteAudience, method: str, session: dict, rows: int) -> None:
        sid, seq = session.get("session_id"), session.get("batch_seq")
        last, total = session.get("last_batch_flag"), session.get("estimated_num_total")
        if not (isinstance(sid, int) and sid > 0 and isinstance(seq, int) and seq >= 1 and isinstance(last, bool)
                and isinstance(total, int) and total >= 0):
            raise GraphError(400, 100, "(#100) session needs session_id, batch_seq, last_batch_flag, "
                                       "estimated_num_total")
        with self.lock:
            known = self.sessions.get(sid)
            if known is None:
                if seq != 1:
                    raise GraphError(400, 100, "(#100) a new session starts at batch_seq 1")
                known = self.sessions[sid] = Session(audience.id, method)
            elif known.audience_id != audience.id or known.operation != method:
                raise GraphError(400, 100, "(#100) session_id belongs to another upload")
            elif known.closed:
                raise GraphError(400, 100, "(#100) session already received its last batch")
            elif seq != known.last_seq + 1:
                raise GraphError(400, 100, f"(#100) batch_seq {seq} out of order (expected {known.last_seq + 1})")

    def commit_session(self, session: dict) -> None:
        with self.lock:
            known = self.sessions[session["session_id"]]
            known.last_seq = session["batch_seq"]
            known.closed = bool(session["last_batch_flag"])

    def _read(self, audience_id: str) -> dict:
        audience = self.audiences.get(audience_id)
        if audience is None:
            raise GraphError(400, 100, f"object {audience_id} does not exist", "GraphMethodException")
        return {"id": audience.id, "name": audience.name, "approximate_count_lower_bound": len(audience.rows),
                "approximate_count_upper_bound": len(audience.rows)}


class _Handler(JsonHandler):
    owner: MetaStandin

    def serve(self, method: str) -> None:
        if len(self.path) > MAX_URL:
            self.reply(414, {"error": {"message": "Request-URI Too Long", "code": 1}})
            return
        url = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.reply(413, {"error": {"message": "Request Entity Too Large", "code": 1}})
            return
        if length:
            raw = self.rfile.read(length).decode("utf-8", "replace")
            params.update({k: v[0] for k, v in parse_qs(raw).items()})
        try:
            body = self.owner.handle(method, url.path, params)
        except GraphError as exc:
            self.owner.refusals.append(exc.message)
            self.reply(exc.status, exc.body())
            return
        if "session_id" in body:
            self.owner.commit_session(json.loads(params["session"]))
        self.reply(200, body)


MetaStandin.handler = _Handler
