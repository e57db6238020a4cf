"""The stand-ins refuse what the real APIs refuse (a stand-in that accepts anything tests nothing). Requests go
through the same SDKs and connectors as the app's; hand-made bodies only where the SDK cannot produce the fault."""
from __future__ import annotations

import json

import httpx
import pytest
from facebook_business.adobjects.customaudience import CustomAudience
from facebook_business.exceptions import FacebookRequestError

from backend.audiences.destinations.google.client import GoogleAudiences
from backend.audiences.destinations.interface import Batch, DestinationError, RemoteAudience
from backend.audiences.destinations.meta import normalize as meta_normalize
from backend.audiences.destinations.meta.client import MetaAudiences
from backend.audiences.hashing import sha256_hex

ROW = [sha256_hex("a@example.com"), "", "", "", "", "", "", "", sha256_hex("1")]


def batch(rows, session_id=11, seq=1, last=True):
    return Batch(rows=rows, session_id=session_id, seq=seq, last=last, estimated_total=len(rows))


@pytest.fixture
def meta_client(meta):
    client = MetaAudiences(meta.account_id, meta.token, graph_url=meta.url)
    return client, client.create_audience(RemoteAudience("t", "t", 7))


@pytest.fixture
def google_client(google):
    client = GoogleAudiences(google.account_id, google.token, base_url=google.url)
    return client, client.create_audience(RemoteAudience("t", "t", 7))


def refused(fn, *args) -> DestinationError:
    with pytest.raises(DestinationError) as caught:
        fn(*args)
    return caught.value


# ---- Meta
def test_meta_refuses_a_wrong_token(meta):
    error = refused(MetaAudiences(meta.account_id, "stolen", graph_url=meta.url).create_audience,
                    RemoteAudience("t", "t", 7))
    assert "190" in error.reason and not error.retryable


def test_meta_refuses_an_unhashed_email(meta_client, meta):
    client, audience_id = meta_client
    error = refused(client.add, audience_id, batch([["a@example.com", *ROW[1:]]]))
    assert "EMAIL must be SHA-256 hashed" in error.reason
    upper = refused(client.add, audience_id, batch([[ROW[0].upper(), *ROW[1:]]], session_id=12))
    assert "64 lower-case hex" in upper.reason
    assert meta.audiences[audience_id].rows == set()


def graph_refusal(client, audience_id: str, schema, data, session_id: int = 41) -> str:
    """A body the SDK would not build (it checks row lengths itself), sent through the SDK's own transport."""
    session = {"session_id": session_id, "batch_seq": 1, "last_batch_flag": True, "estimated_num_total": 1}
    with pytest.raises(FacebookRequestError) as caught:
        client.api.call("POST", (audience_id, "users"),
                        params={"payload": {"schema": schema, "data": data, "is_raw": True}, "session": session})
    return caught.value.api_error_message()


def test_meta_refuses_rows_that_do_not_match_the_schema(meta_client):
    client, audience_id = meta_client
    schema = meta_normalize.SCHEMA
    assert "does not match schema" in graph_refusal(client, audience_id, schema, [ROW[:-1]])
    assert "Invalid schema" in graph_refusal(client, audience_id, [*schema[:-1], "EMAIL"], [ROW])
    assert "Invalid schema" in graph_refusal(client, audience_id, ["EMAIL", "SHOE_SIZE"], [ROW[:2]])
    nothing = ["" for _ in ROW]
    assert "needs EMAIL, PHONE" in refused(client.add, audience_id, batch([nothing], session_id=13)).reason
    # Once an audience has rows in one field order, a batch in another order is refused (rows are positional).
    client.add(audience_id, batch([ROW], session_id=14))
    swapped = [schema[1], schema[0], *schema[2:]]
    assert "differs" in graph_refusal(client, audience_id, swapped, [[ROW[1], ROW[0], *ROW[2:]]])


def test_meta_refuses_more_than_10000_rows(meta_client):
    client, audience_id = meta_client
    rows = [[sha256_hex(f"{i}@example.com"), *ROW[1:]] for i in range(10_001)]
    assert "at most 10000" in refused(client.add, audience_id, batch(rows)).reason


def test_meta_session_batches_arrive_in_order_and_stop_at_the_last(meta_client, meta):
    client, audience_id = meta_client
    client.add(audience_id, batch([ROW], session_id=21, seq=1, last=False))
    assert "out of order" in refused(client.add, audience_id, batch([ROW], session_id=21, seq=3)).reason
    client.add(audience_id, batch([ROW], session_id=21, seq=2, last=True))
    assert "last batch" in refused(client.add, audience_id, batch([ROW], session_id=21, seq=3)).reason
    assert "starts at batch_seq 1" in refused(client.add, audience_id, batch([ROW], session_id=22, seq=2)).reason
    # A session belongs to one operation: a removal cannot continue an upload's session.
    client.add(audience_id, batch([ROW], session_id=23, seq=1, last=False))
    assert "another upload" in refused(client.remove, audience_id, batch([ROW], session_id=23, seq=2)).reason


def test_meta_refuses_a_removal_payload_in_the_url(meta_client, meta):
    """What the SDK's own remove_users does: the DELETE's parameters go into the URL (too long for a front end)."""
    client, audience_id = meta_client
    rows = [[sha256_hex(f"{i}@example.com"), *ROW[1:]] for i in range(300)]
    with pytest.raises(FacebookRequestError) as caught:
        CustomAudience(audience_id, api=client.api).remove_users(
            meta_normalize.SCHEMA, rows, is_raw=True, pre_hashed=True,
            session={"session_id": 31, "batch_seq": 1, "last_batch_flag": True, "estimated_num_total": 300})
    assert caught.value.http_status() == 414
    client.remove(audience_id, batch(rows, session_id=32))  # ours sends the body: accepted


# ---- Google
def test_google_refuses_a_wrong_token(google):
    error = refused(GoogleAudiences(google.account_id, "stolen", base_url=google.url).create_audience,
                    RemoteAudience("t", "t", 7))
    assert error.status == 401 and not error.retryable


def test_google_refuses_an_unhashed_email(google_client, google):
    client, list_id = google_client
    error = refused(client.add, list_id, batch([[["email", "a@example.com"]]]))
    assert error.status == 400 and "SHA-256" in error.reason
    assert google.lists[list_id].members == set()


def test_google_refuses_more_than_10000_members(google_client):
    client, list_id = google_client
    rows = [[["email", sha256_hex(f"{i}@example.com")]] for i in range(10_001)]
    assert "1 to 10000" in refused(client.add, list_id, batch(rows)).reason


def test_google_requires_consent_and_terms_for_ingestion(google_client, google, monkeypatch):
    from google.ads import datamanager_v1 as dm

    from backend.audiences.destinations.google import client as google_module

    client, list_id = google_client
    denied = dm.Consent(ad_user_data=dm.ConsentStatus.CONSENT_GRANTED,
                        ad_personalization=dm.ConsentStatus.CONSENT_DENIED)
    monkeypatch.setattr(google_module, "GRANTED", denied)  # the request's consent
    monkeypatch.setattr(google_module, "_GRANTED_PB", dm.Consent.pb(denied))  # and each member's
    assert "consent" in refused(client.add, list_id, batch([[["email", sha256_hex("a@b.co")]]])).reason


def test_google_refuses_unknown_fields_and_a_foreign_account(google_client, google):
    client, list_id = google_client
    headers = {"Authorization": f"Bearer {google.token}", "Content-Type": "application/json"}
    body = {"destinations": [{"operatingAccount": {"accountType": "GOOGLE_ADS", "accountId": google.account_id},
                              "productDestinationId": list_id}],
            "audienceMembers": [{"userData": {"userIdentifiers": [{"emailAddress": sha256_hex("a@b.co")}]},
                                 "shoeSize": 44}],
            "encoding": "HEX", "consent": {"adUserData": "CONSENT_GRANTED", "adPersonalization": "CONSENT_GRANTED"},
            "termsOfService": {"customerMatchTermsOfServiceStatus": "ACCEPTED"}}
    response = httpx.post(f"{google.url}/v1/audienceMembers:ingest", headers=headers, content=json.dumps(body))
    assert response.status_code == 400 and "shoeSize" in response.text
    del body["audienceMembers"][0]["shoeSize"]
    assert httpx.post(f"{google.url}/v1/audienceMembers:ingest", headers=headers,
                      content=json.dumps(body)).status_code == 200
    del body["termsOfService"]  # the Customer Match terms must be accepted for an ingestion
    refused_terms = httpx.post(f"{google.url}/v1/audienceMembers:ingest", headers=headers, content=json.dumps(body))
    assert refused_terms.status_code == 400 and "terms_of_service" in refused_terms.text
    body["termsOfService"] = {"customerMatchTermsOfServiceStatus": "ACCEPTED"}
    body["destinations"][0]["operatingAccount"]["accountId"] = "999"
    assert httpx.post(f"{google.url}/v1/audienceMembers:ingest", headers=headers,
                      content=json.dumps(body)).status_code == 403


def test_google_user_list_needs_a_membership_duration_within_540_days(google):
    client = GoogleAudiences(google.account_id, google.token, base_url=google.url)
    list_id = client.create_audience(RemoteAudience("two days", "t", 2))
    assert google.lists[list_id].duration_days == 2
    assert google.lists[client.create_audience(RemoteAudience("long", "t", 5000))].duration_days == 540
