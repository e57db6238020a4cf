"""Sync, not dump, end to end: storefront events and orders through the app's own paths, audiences synced to the
stand-ins over real HTTP with the real SDKs, time moved forward by passing `now` (never by sleeping)."""
from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from backend.audiences import sync as sync_module
from backend.audiences.hashing import sha256_hex
from backend.audiences.models import Audience, AudienceRun, SentMember
from backend.audiences.presets import create_from_preset
from backend.audiences.sync import sync_audience
from backend.customers.models import CustomerProfile
from backend.dashboard.models import AuditEntry
from backend.segments import tasks as segment_tasks
from backend.storefront.access import customer_signature
from tests.customers.factories import make_order
from tests.storefront.factories import make_customer, make_product

pytestmark = pytest.mark.django_db

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"


def shopper(shop, platform_id: str, email: str, *, marketing: bool = True, **kw):
    customer = make_customer(shop, platform_id=platform_id, email=email, accepts_marketing=marketing,
                             first_name=kw.pop("first_name", "Ana"), last_name=kw.pop("last_name", "Pérez"),
                             country=kw.pop("country", "ES"), **kw)
    segment_tasks.profile_changed(shop.pk, customer.pk)
    return customer


def view_product(client, shop, customer, product, visitor: str) -> None:
    """The storefront script's batch for a signed-in shopper looking at a product."""
    body = {"key": shop.public_key, "visitor": visitor, "session": "s-1", "consent": {"analytics": True},
            "customer": customer.platform_id, "customer_sig": customer_signature(shop, customer.platform_id),
            "events": [{"type": "product_viewed", "product": product.platform_id, "ts": int(time.time() * 1000)}]}
    response = client.post("/api/storefront/events", json.dumps(body), content_type="text/plain",
                           HTTP_USER_AGENT=UA)
    assert response.status_code == 202 and response.json()["accepted"] == 1


def test_viewed_not_bought_2_days_joins_leaves_on_purchase_and_on_day_3(
        client, shop, meta_connection, google_connection, meta, google, django_capture_on_commit_callbacks):
    product = make_product(shop)
    ana = shopper(shop, "42", "Ana.Perez@Example.com")
    bea = shopper(shop, "43", "bea@example.com")
    audiences = [create_from_preset("viewed-not-bought-2d", c) for c in (meta_connection, google_connection)]
    for audience in audiences:  # the merchant refreshes weekly: leaving on time must not wait for that
        audience.refresh_minutes = 7 * 24 * 60
        audience.save()
    with django_capture_on_commit_callbacks(execute=True):
        view_product(client, shop, ana, product, "v-ana")
        view_product(client, shop, bea, product, "v-bea")
    viewed_at = timezone.now()

    for audience in audiences:
        run = sync_audience(audience)
        assert run.status == AudienceRun.Status.DONE and run.added == 2 and not run.resumed
    ana_hash, bea_hash = sha256_hex("ana.perez@example.com"), sha256_hex("bea@example.com")
    meta_id, google_id = (Audience.objects.for_shop(shop).get(pk=a.pk).remote_id for a in audiences)
    assert meta.emails(meta_id) == {ana_hash, bea_hash}
    assert google.emails(google_id) == {ana_hash, bea_hash}
    # The next run is due when the first of them leaves (2 days after their view), not at the weekly refresh.
    audience = Audience.objects.for_shop(shop).get(pk=audiences[0].pk)
    assert viewed_at + timedelta(days=2) - timedelta(minutes=1) < audience.next_run_at
    assert audience.next_run_at <= viewed_at + timedelta(days=2, seconds=2)

    # Ana buys: the next run removes her (and sends nothing else).
    with django_capture_on_commit_callbacks(execute=True):
        make_order(shop, ana, "30.00")
    for audience in audiences:
        run = sync_audience(Audience.objects.for_shop(shop).get(pk=audience.pk))
        assert (run.added, run.removed) == (0, 1)
    assert meta.emails(meta_id) == {bea_hash} and google.emails(google_id) == {bea_hash}

    # Nothing happens for Bea, but on day 3 the 2-day audience no longer holds her.
    day3 = timezone.now() + timedelta(days=2, hours=1)
    for audience in audiences:
        run = sync_audience(Audience.objects.for_shop(shop).get(pk=audience.pk), now=day3)
        assert (run.added, run.removed, run.members) == (0, 1, 0)
    assert meta.emails(meta_id) == set() and google.emails(google_id) == set()
    assert Audience.objects.for_shop(shop).get(pk=audiences[0].pk).size == 0


def test_first_run_sends_everyone_later_runs_only_the_difference(shop, meta_connection, meta):
    people = [shopper(shop, f"c{i}", f"p{i}@example.com") for i in range(5)]
    for c in people:
        make_order(shop, c, "500.00")
        segment_tasks.profile_changed(shop.pk, c.pk)
    audience = create_from_preset("recent-buyers-30d", meta_connection)
    first = sync_audience(audience)
    assert (first.added, first.removed) == (5, 0)
    again = sync_audience(Audience.objects.for_shop(shop).get(pk=audience.pk))
    assert (again.added, again.removed, again.batches) == (0, 0, 0)
    newcomer = shopper(shop, "c9", "new@example.com")
    make_order(shop, newcomer, "20.00")
    segment_tasks.profile_changed(shop.pk, newcomer.pk)
    third = sync_audience(Audience.objects.for_shop(shop).get(pk=audience.pk))
    assert (third.added, third.removed) == (1, 0)
    assert sha256_hex("new@example.com") in meta.emails(Audience.objects.for_shop(shop).get(pk=audience.pk).remote_id)


def test_a_changed_email_replaces_the_row(shop, meta_connection, meta):
    from backend.customers.identities import normalise_email
    from backend.customers.models import Identity

    c = shopper(shop, "c1", "old@example.com")
    make_order(shop, c, "10.00")
    segment_tasks.profile_changed(shop.pk, c.pk)
    audience = create_from_preset("recent-buyers-30d", meta_connection)
    sync_audience(audience)
    profile = Identity.objects.for_shop(shop).get(kind="customer", customer=c).profile
    new = normalise_email("New@example.com")
    Identity.objects.for_shop(shop).filter(profile=profile, kind="email").update(value=new)
    run = sync_audience(Audience.objects.for_shop(shop).get(pk=audience.pk))
    assert (run.added, run.removed) == (1, 1)
    assert meta.emails(Audience.objects.for_shop(shop).get(pk=audience.pk).remote_id) == {sha256_hex("new@example.com")}


def test_only_marketing_consent_is_sent_and_withdrawing_removes(shop, google_connection, google):
    yes = shopper(shop, "c1", "yes@example.com")
    no = shopper(shop, "c2", "no@example.com", marketing=False)
    for c in (yes, no):
        make_order(shop, c, "10.00")
        segment_tasks.profile_changed(shop.pk, c.pk)
    audience = create_from_preset("recent-buyers-30d", google_connection)
    run = sync_audience(audience)
    list_id = Audience.objects.for_shop(shop).get(pk=audience.pk).remote_id
    assert run.added == 1 and google.emails(list_id) == {sha256_hex("yes@example.com")}
    yes.accepts_marketing = False
    yes.save()
    segment_tasks.profile_changed(shop.pk, yes.pk)
    run = sync_audience(Audience.objects.for_shop(shop).get(pk=audience.pk))
    assert run.removed == 1 and google.emails(list_id) == set()


@pytest.mark.parametrize("platform", ["meta", "google"])
def test_a_run_that_fails_half_way_resumes_without_resending(platform, request, shop, monkeypatch):
    monkeypatch.setattr(sync_module, "MAX_BATCH", 2)
    server = request.getfixturevalue(platform)
    connection = request.getfixturevalue(f"{platform}_connection")
    people = [shopper(shop, f"c{i}", f"p{i}@example.com") for i in range(5)]
    for c in people:
        make_order(shop, c, "10.00")
        segment_tasks.profile_changed(shop.pk, c.pk)
    audience = create_from_preset("recent-buyers-30d", connection)
    server.fail_next(503, after=1)  # the first batch arrives, the second meets an outage
    failed = sync_audience(audience)
    assert failed.status == AudienceRun.Status.FAILED and failed.added == 2
    stored = Audience.objects.for_shop(shop).get(pk=audience.pk)
    assert stored.last_result == Audience.Result.FAILED and stored.size == 2
    assert stored.next_run_at <= timezone.now() + timedelta(minutes=6)  # retried soon, not in an hour
    resumed = sync_audience(stored)
    assert resumed.status == AudienceRun.Status.DONE and resumed.resumed and resumed.added == 3
    assert [n for _, _, n in server.requests] == [2, 2, 1]  # 2 before the failure, then only the 3 missing
    assert len(server.emails(stored.remote_id)) == 5


def test_redaction_removes_the_customer_from_every_destination_at_once(
        shop, meta_connection, google_connection, meta, google, django_capture_on_commit_callbacks):
    from backend.shops.redaction import CustomerRef, redact_customer

    gone = shopper(shop, "77", "Gone@Example.com", phone="+34 612 345 678")
    stays = shopper(shop, "78", "stays@example.com")
    for c in (gone, stays):
        make_order(shop, c, "10.00")
        segment_tasks.profile_changed(shop.pk, c.pk)
    audiences = [create_from_preset("recent-buyers-30d", c) for c in (meta_connection, google_connection)]
    for a in audiences:
        sync_audience(a)
    ids = [Audience.objects.for_shop(shop).get(pk=a.pk).remote_id for a in audiences]
    assert sha256_hex("gone@example.com") in meta.emails(ids[0]) and sha256_hex("gone@example.com") in \
        google.emails(ids[1])

    with django_capture_on_commit_callbacks(execute=True):
        redact_customer(shop, CustomerRef(platform_id="77", email="gone@example.com"))
    assert meta.emails(ids[0]) == {sha256_hex("stays@example.com")}
    assert google.emails(ids[1]) == {sha256_hex("stays@example.com")}
    assert not SentMember.objects.for_shop(shop).filter(row__contains=sha256_hex("gone@example.com")).exists()
    runs = AudienceRun.objects.for_shop(shop).filter(trigger=AudienceRun.Trigger.REDACTION)
    assert sorted(r.removed for r in runs) == [1, 1]
    # ...and the next scheduled run does not bring them back.
    for a in audiences:
        run = sync_audience(Audience.objects.for_shop(shop).get(pk=a.pk))
        assert run.added == 0
    assert sha256_hex("gone@example.com") not in meta.emails(ids[0])


def test_the_audit_log_records_each_run_with_counts_only(shop, meta_connection, meta):
    c = shopper(shop, "c1", "secret.person@example.com")
    make_order(shop, c, "10.00")
    segment_tasks.profile_changed(shop.pk, c.pk)
    audience = create_from_preset("recent-buyers-30d", meta_connection)
    sync_audience(audience)
    entry = AuditEntry.objects.for_shop(shop).get(action="audience.synced")
    assert entry.actor == "system" and entry.target == f"audience:{audience.pk}"
    assert entry.after["added"] == 1 and entry.after["status"] == "done" and entry.after["size"] == 1
    text = json.dumps([entry.before, entry.after, entry.target])
    assert "secret" not in text and sha256_hex("secret.person@example.com") not in text


def test_a_destination_refusal_is_recorded_not_raised(shop, meta, meta_connection):
    meta_connection.access_token = "revoked"
    meta_connection.save()
    audience = create_from_preset("vip", meta_connection)
    run = sync_audience(audience)
    assert run.status == AudienceRun.Status.FAILED and "190" in run.error
    stored = Audience.objects.for_shop(shop).get(pk=audience.pk)
    assert stored.last_result == "failed" and stored.next_run_at > timezone.now() + timedelta(minutes=30)


def test_bulk_segment_change_runs_its_audiences_right_away(shop, meta_connection, meta,
                                                          django_capture_on_commit_callbacks):
    from backend.segments.membership import evaluate_segment
    from backend.segments.models import Segment

    audience = create_from_preset("vip", meta_connection)
    people = [shopper(shop, f"c{i}", f"vip{i}@example.com") for i in range(3)]
    CustomerProfile.objects.for_shop(shop).filter(email__startswith="vip").update(value_tier="vip")
    with django_capture_on_commit_callbacks(execute=True):
        evaluate_segment(Segment.objects.for_shop(shop).get(preset="vip"))
    run = AudienceRun.objects.for_shop(shop).get(audience=audience)
    assert run.trigger == AudienceRun.Trigger.BULK and run.added == len(people)


def test_due_audiences_are_queued_by_the_beat_job(shop, meta_connection, meta):
    from backend.audiences.tasks import run_due_audiences

    audience = create_from_preset("vip", meta_connection)
    assert run_due_audiences() == 1  # new: due at once (and run in-process here)
    stored = Audience.objects.for_shop(shop).get(pk=audience.pk)
    assert stored.last_result == "ok" and stored.next_run_at > timezone.now() + timedelta(minutes=59)
    assert run_due_audiences() == 0


def test_a_session_numbers_only_the_batches_it_sends_and_closes_on_the_last():
    assert list(sync_module._session(iter(["a", "b", "c"]))) == [(1, False, "a"), (2, False, "b"), (3, True, "c")]
    assert list(sync_module._session(iter(["only"]))) == [(1, True, "only")]
    assert list(sync_module._session(iter([]))) == []


def test_people_who_cannot_be_matched_leave_no_gap_in_the_session(shop, meta_connection, meta, monkeypatch):
    """A chunk of people all without email or phone: the next batch still follows on, the last one is flagged."""
    monkeypatch.setattr(sync_module, "MAX_BATCH", 2)
    reachable = [shopper(shop, f"r{i}", f"r{i}@example.com") for i in range(3)]
    from backend.customers.models import Identity

    for c in reachable:
        make_order(shop, c, "10.00")
        segment_tasks.profile_changed(shop.pk, c.pk)
    audience = create_from_preset("recent-buyers-30d", meta_connection)
    # Between the difference and the upload, the first two lost their email (a redaction, say): the first chunk
    # of two has nobody to send, the second chunk is the session's first and last batch.
    real_desired = sync_module._desired

    def desired_then_forget(*args, **kwargs):
        found = real_desired(*args, **kwargs)
        Identity.objects.for_shop(shop).filter(kind="email", value__in=["r0@example.com", "r1@example.com"]).delete()
        return found

    monkeypatch.setattr(sync_module, "_desired", desired_then_forget)
    run = sync_audience(audience)
    assert run.status == AudienceRun.Status.DONE and run.added == 1 and run.batches == 1
    assert meta.refusals == []
    assert [s.closed for s in meta.sessions.values() if s.audience_id == audience.remote_id] == [True]


def test_redaction_by_email_alone_finds_them_in_what_was_sent(shop, meta_connection, meta,
                                                             django_capture_on_commit_callbacks):
    """The request names only an email no customer row carries any more: the ledger's hashes still find them."""
    from backend.customers.models import Customer
    from backend.shops.redaction import CustomerRef, redact_customer

    ghost = shopper(shop, "90", "ghost@example.com")
    make_order(shop, ghost, "10.00")
    segment_tasks.profile_changed(shop.pk, ghost.pk)
    audience = create_from_preset("recent-buyers-30d", meta_connection)
    sync_audience(audience)
    Customer.objects.for_shop(shop).filter(pk=ghost.pk).update(email="renamed@example.com", platform_id="91")
    with django_capture_on_commit_callbacks(execute=True):
        redact_customer(shop, CustomerRef(platform_id="nobody", email="Ghost@Example.com"))
    assert meta.emails(audience.remote_id) == set()
