"""The "tag the customer on the platform" action: add or remove one tag on the person's customer record in the
store (Shopify's customer tags; on WooCommerce a customer meta entry, see integrations/woocommerce/customer_tags).

The write needs a permission the install does not ask for (Shopify `write_customers`; a WooCommerce key with
write access). What a merchant would expect, and what this does:
- A recipe with a tag step cannot be switched on while the shop lacks it: the recipe screen says so and offers
  the platform's grant (Shopify: authorize again with the extra scope; WooCommerce: connect again read/write).
  Saving the steps of a recipe that is off is allowed, so nothing typed is lost.
- If the permission goes away after that (a key made read-only, a scope revoked), the step waits with the status
  "waiting for permission", looks again every SCOPE_RECHECK (on Shopify asking which scopes it grants, in case
  the merchant granted it in Shopify's admin), and is recorded failed with that reason after
  SCOPE_PATIENCE; the run then goes on with its next step. Nothing is dropped without a record.
- Platform failures (timeouts, 5xx, throttling the client could not wait out) are tried again with back-off, at
  most TAG_ATTEMPTS times, then recorded failed with the last error. A refusal retrying cannot fix (no such
  customer, a tag the platform will not take) is recorded failed at once.

Idempotent: the TagWrite row (one per run and step) is checked first, so a re-delivered step that already went
through is not sent again; and both platforms' writes are no-ops when the tag is already as asked. The engine's
rules hold as for every step (exit conditions and quiet hours are checked by engine.advance before this runs).
Marketing consent is not required: a tag is a note on the merchant's own record, nothing is sent to the person;
a redacted or erased customer is never tagged.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db.models import Count, F

from backend.customers.models import Customer, CustomerProfile, Identity
from backend.shops.models import Shop
from integrations.base.errors import ClientError, IntegrationError, MissingScope

from .models import Recipe, RecipeRun, TagWrite

logger = logging.getLogger("personalize.recipes.tags")

TAG_ATTEMPTS = 6  # platform failures before the step is recorded failed (back-off 2, 4, 8, 16, 32 minutes)
SCOPE_RECHECK = timedelta(minutes=15)
SCOPE_PATIENCE = timedelta(days=3)
LOCK_SECONDS = 120  # one write per customer at a time (WooCommerce's is a read, then a write)
FINAL = (TagWrite.Status.DONE, TagWrite.Status.FAILED, TagWrite.Status.SKIPPED)
SHOPIFY_WRITE = "write_customers"
WOO_WRITE = ("read_write", "write")


def granted(shop: Shop) -> set[str]:
    return {s.strip() for s in (shop.scopes or "").split(",") if s.strip()}


def has_write_scope(shop: Shop) -> bool:
    """Whether the shop's recorded grant (the platform's last answer) allows writing customers."""
    if shop.platform == Shop.Platform.SHOPIFY:
        return SHOPIFY_WRITE in granted(shop)
    return bool(granted(shop) & set(WOO_WRITE))


def uses_tags(steps: list[dict]) -> bool:
    return any(isinstance(s, dict) and s.get("action") == "tag" for s in steps or [])


def needs_grant(shop: Shop, steps: list[dict]) -> bool:
    return uses_tags(steps) and not has_write_scope(shop)


def grant_link(shop: Shop) -> dict[str, str]:
    """Where the merchant grants the permission: Shopify's authorize page (through our grant view), or the
    WooCommerce connect form for this store (which asks for read/write keys)."""
    if shop.platform == Shop.Platform.SHOPIFY:
        return {"kind": "shopify", "path": "/shopify/grant", "scope": SHOPIFY_WRITE}
    from integrations.woocommerce.models import WooStore

    store = WooStore.objects.for_shop(shop).first()
    return {"kind": "woocommerce", "path": "/woocommerce/connect", "store_url": store.store_url if store else ""}


def status_counts(shop: Shop, recipe: Recipe) -> dict:
    """The recipe's tag steps as the screen reports them: how many are done, waiting for permission (runs still
    going), retrying, failed (with the latest reason)."""
    rows = TagWrite.objects.for_shop(shop).filter(recipe=recipe)
    counts = {r["status"]: r["n"] for r in rows.values("status").annotate(n=Count("pk")).order_by()}
    waiting = rows.filter(status=TagWrite.Status.WAITING_SCOPE, run__state=RecipeRun.State.ACTIVE).count()
    failed = rows.filter(status=TagWrite.Status.FAILED).order_by("-finished_at").values_list("reason", flat=True)
    return {"done": counts.get(TagWrite.Status.DONE, 0), "waiting": waiting,
            "retrying": counts.get(TagWrite.Status.RETRYING, 0), "failed": counts.get(TagWrite.Status.FAILED, 0),
            "last_failure": failed.first() or ""}


def platform_customer(shop: Shop, profile: CustomerProfile) -> str:
    """The platform id of the person's customer record (the most recently updated one, not redacted); "" for a
    visitor or a guest the platform has no customer for."""
    return Customer.objects.for_shop(shop).filter(
        redacted_at__isnull=True,
        pk__in=Identity.objects.for_shop(shop).filter(profile=profile, kind=Identity.Kind.CUSTOMER).values(
            "customer_id")).order_by(F("platform_updated_at").desc(nulls_last=True), "-pk").values_list(
        "platform_id", flat=True).first() or ""


def change_on_platform(shop: Shop, platform_id: str, tag: str, mode: str) -> None:
    if shop.platform == Shop.Platform.SHOPIFY:
        from integrations.shopify import customer_tags

        customer_tags.change_tag(shop, platform_id, tag, mode)
    else:
        from integrations.woocommerce import customer_tags as woo_tags

        woo_tags.change_tag(shop, platform_id, tag, mode)


def learn_scopes(shop: Shop) -> None:
    """The platform refused for want of permission: record what it grants now (its answer, not our guess)."""
    scopes = granted(shop)
    if shop.platform == Shop.Platform.SHOPIFY:
        from integrations.shopify import customer_tags

        try:
            fresh = ",".join(customer_tags.granted_scopes(shop))
        except IntegrationError as exc:  # the refusal itself is an answer: write_customers is not granted
            logger.info("could not read access scopes shop=%s: %s", shop.domain, exc)
            fresh = ",".join(sorted(scopes - {SHOPIFY_WRITE}))
    else:
        fresh = "read"  # the key read the customer and was refused the write
    Shop.objects.filter(pk=shop.pk).update(scopes=fresh[:1000])
    shop.scopes = fresh[:1000]
    logger.warning("shop=%s lacks the write permission for customer tags; granted now: %s", shop.domain, fresh)


def recheck_scopes(shop: Shop) -> None:
    """A Shopify merchant may grant the scope outside our grant page (the admin's optional-scopes prompt): while
    steps wait, ask Shopify what it grants, at most once per SCOPE_RECHECK per shop. WooCommerce has no call
    that reports a key's permission; its grant is recorded when the store is connected again (auth.accept_keys)."""
    if shop.platform != Shop.Platform.SHOPIFY or not cache.add(f"recipes:scopes:{shop.pk}", 1,
                                                                 int(SCOPE_RECHECK.total_seconds())):
        return
    from integrations.shopify import customer_tags

    try:
        fresh = ",".join(customer_tags.granted_scopes(shop))[:1000]
    except IntegrationError as exc:
        logger.info("could not read access scopes shop=%s: %s", shop.domain, exc)
        return
    if fresh and fresh != shop.scopes:
        Shop.objects.filter(pk=shop.pk).update(scopes=fresh)
        shop.scopes = fresh


def _close(write: TagWrite, status: str, reason: str, now: datetime) -> None:
    TagWrite.objects.for_shop(write.shop_id).filter(pk=write.pk).update(status=status, reason=reason[:300],
                                                                         finished_at=now)


def _wait_for_scope(run: RecipeRun, write: TagWrite, now: datetime) -> str:
    from .engine import DONE, WAITING, _move_on, _reschedule

    since = write.waiting_since or now
    if now - since >= SCOPE_PATIENCE:
        _close(write, TagWrite.Status.FAILED, "permission to edit customers was not granted", now)
        _move_on(run, now)
        return DONE
    TagWrite.objects.for_shop(write.shop_id).filter(pk=write.pk).update(
        status=TagWrite.Status.WAITING_SCOPE, waiting_since=since, reason="waiting for permission to edit customers")
    _reschedule(run, now + SCOPE_RECHECK)
    return WAITING


def tag_step(shop: Shop, run: RecipeRun, step: dict, profile: CustomerProfile, now: datetime) -> str:
    """Run one tag step for one run; the engine's outcome (SENT when the platform was asked and agreed)."""
    from .engine import BUSY, DONE, SENT, WAITING, _move_on, _reschedule

    write, _ = TagWrite.objects.for_shop(shop).get_or_create(
        shop=shop, run=run, step=run.step,
        defaults={"recipe_id": run.recipe_id, "tag": str(step.get("tag", ""))[:255],
                  "mode": "remove" if step.get("mode") == "remove" else "add", "created_at": now})
    if write.status in FINAL:  # a re-delivery of a step that already went through (or was given up)
        _move_on(run, now)
        return DONE
    platform_id = platform_customer(shop, profile)
    if not platform_id or not profile.is_active:
        _close(write, TagWrite.Status.SKIPPED, "no customer record in the store (a visitor or a guest)", now)
        _move_on(run, now)
        return DONE
    if not has_write_scope(shop) and write.status == TagWrite.Status.WAITING_SCOPE:
        recheck_scopes(shop)
    if not has_write_scope(shop):
        return _wait_for_scope(run, write, now)
    lock = f"recipes:tag:{shop.pk}:{platform_id}"
    if not cache.add(lock, 1, LOCK_SECONDS):  # another step is writing this customer's tags right now
        _reschedule(run, now + timedelta(minutes=1))
        return BUSY
    attempts = write.attempts + 1
    TagWrite.objects.for_shop(shop).filter(pk=write.pk).update(attempts=attempts)
    try:
        change_on_platform(shop, platform_id, write.tag, write.mode)
    except MissingScope:
        learn_scopes(shop)
        return _wait_for_scope(run, write, now)
    except ClientError as refused:  # the platform refused this very request: asking again cannot help
        logger.warning("tag step refused shop=%s run=%s: %s", shop.domain, run.pk, refused)
        _close(write, TagWrite.Status.FAILED, str(refused), now)
        _move_on(run, now)
        return DONE
    except Exception as exc:  # noqa: BLE001 - a platform failure (or our bug) must be retried and recorded, not lost
        reason = f"{type(exc).__name__}: {exc}"[:300]
        if attempts >= TAG_ATTEMPTS:
            logger.warning("tag step failed for good shop=%s run=%s: %s", shop.domain, run.pk, reason)
            _close(write, TagWrite.Status.FAILED, reason, now)
            _move_on(run, now)
            return DONE
        logger.info("tag step failed shop=%s run=%s attempt=%s: %s", shop.domain, run.pk, attempts, reason)
        TagWrite.objects.for_shop(shop).filter(pk=write.pk).update(status=TagWrite.Status.RETRYING, reason=reason)
        _reschedule(run, now + timedelta(minutes=2 ** attempts))
        return WAITING
    finally:
        cache.delete(lock)
    _close(write, TagWrite.Status.DONE, "", now)
    _move_on(run, now)
    return SENT
