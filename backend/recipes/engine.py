"""One step of one run, start to finish: exit check, quiet hours, frequency cap, consent, then the action.

`advance` is safe to call any number of times for the same run (a beat that handed it out twice, a broker that
re-delivered, a worker restarted mid-step): the run moves on only from the step it was at, and the email step's
send record decides whether anything is sent (backend/emails/sending.py).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from backend.customers.models import CustomerProfile, Identity
from backend.emails import consent, sending
from backend.emails.language import language_for
from backend.emails.models import EmailSend
from backend.emails.render import render_email
from backend.events.models import Event, EventType
from backend.orders.models import Order
from backend.shops.models import Shop

from .models import Recipe, RecipeRun, RecipeSettings
from .timing import after_quiet_hours, due_at, in_quiet_hours, shop_zone

logger = logging.getLogger("personalize.recipes")

SENT, EXITED, DONE, WAITING, BUSY = "sent", "exited", "done", "waiting", "busy"
WEBHOOK_ATTEMPTS = 5
COUNTED = (EmailSend.Status.CLAIMED, EmailSend.Status.RENDERED, EmailSend.Status.SENDING, EmailSend.Status.SENT,
           EmailSend.Status.UNCERTAIN)


def settings_for(shop: Shop | int) -> RecipeSettings:
    shop_id = shop if isinstance(shop, int) else shop.pk
    row, _ = RecipeSettings.objects.for_shop(shop_id).get_or_create(shop_id=shop_id)
    return row


def _identities(profile: CustomerProfile) -> tuple[list[int], list[str]]:
    rows = Identity.objects.for_shop(profile.shop_id).filter(
        profile=profile, kind__in=[Identity.Kind.CUSTOMER, Identity.Kind.VISITOR]).values_list(
        "kind", "customer_id", "value")
    customers = [c for k, c, _ in rows if k == Identity.Kind.CUSTOMER and c]
    visitors = [v for k, _, v in rows if k == Identity.Kind.VISITOR]
    return customers, visitors


def exit_reason(run: RecipeRun, profile: CustomerProfile) -> str:
    """Why the run must stop before this step ("" to go on): the recipe's exit conditions, read from the source
    rows (orders and events), not from the profile's derived copy that a later refresh fills in."""
    customers, visitors = _identities(profile)
    if "ordered" in run.recipe.exit_when:
        orders = Order.objects.for_shop(run.shop_id).filter(cancelled_at__isnull=True).filter(
            Q(processed_at__gte=run.started_at) | Q(processed_at__isnull=True, platform_created_at__gte=run.started_at))
        who = Q(customer_id__in=customers) if customers else Q(pk__in=[])
        if profile.email:
            who |= Q(email__iexact=profile.email)
        if run.context.get("order"):
            orders = orders.exclude(pk=run.context["order"])
        if orders.filter(who).exists():
            return "ordered"
    if "carted" in run.recipe.exit_when:
        who = Q(customer_id__in=customers) | Q(visitor_id__in=visitors) if (customers or visitors) else None
        if who is not None and Event.objects.for_shop(run.shop_id).filter(
                who, type=EventType.ADDED_TO_CART, created_at__gt=run.started_at).exists():
            return "carted"
    return ""


def _finish(run: RecipeRun, state: str, reason: str, now: datetime) -> None:
    RecipeRun.objects.for_shop(run.shop_id).filter(pk=run.pk, step=run.step, state=RecipeRun.State.ACTIVE).update(
        state=state, exit_reason=reason[:40], finished_at=now, lease_until=None, next_due_at=None)


def _move_on(run: RecipeRun, now: datetime) -> None:
    """The step is done: schedule the next one from the trigger time, or finish. Only from the step it was at."""
    steps = run.recipe.steps
    following = run.step + 1
    rows = RecipeRun.objects.for_shop(run.shop_id).filter(pk=run.pk, step=run.step, state=RecipeRun.State.ACTIVE)
    if following >= len(steps):
        rows.update(step=following, state=RecipeRun.State.DONE, finished_at=now, lease_until=None, next_due_at=None)
        return
    rows.update(step=following, lease_until=None,
                next_due_at=due_at(run.started_at, int(steps[following]["after_minutes"]), now))


def _reschedule(run: RecipeRun, when: datetime) -> None:
    RecipeRun.objects.for_shop(run.shop_id).filter(pk=run.pk, step=run.step).update(next_due_at=when, lease_until=None)


def cap_reached(profile: CustomerProfile, settings: RecipeSettings, now: datetime, send_pk: int) -> bool:
    since = now - timedelta(hours=settings.cap_hours)
    used = EmailSend.objects.for_shop(profile.shop_id).filter(
        profile=profile, is_test=False, status__in=COUNTED, created_at__gt=since).exclude(pk=send_pk).count()
    return used >= settings.cap_emails


def basis_value(shop: Shop, run: RecipeRun, profile: CustomerProfile) -> Decimal:
    """What a code's tier is chosen by: the cart's value for cart emails, the customer's value otherwise."""
    if run.context.get("products"):
        from backend.storefront.cards import cards

        found = cards(shop.pk, [int(p) for p in run.context["products"]], reload=True)
        return sum((c.price or Decimal(0) for c in found.values() if c.showable), Decimal(0))
    return Decimal(profile.expected_value_365 or profile.total_spent or 0)


def issue_code(shop: Shop, run: RecipeRun, step: dict, profile: CustomerProfile, now: datetime) -> str:
    """A unique code from the step's popup campaign pools (their daily caps apply), tier chosen by value; "" when
    no campaign is named or none is ready. Claimed under the run's own id: a retry gets the same code back."""
    from backend.popups import codes
    from backend.popups.models import Campaign
    from backend.popups.offers import PERCENT, Offer

    config = step.get("code") or {}
    campaign = Campaign.objects.for_shop(shop).filter(pk=config.get("campaign") or 0).first()
    if campaign is None or not config.get("tiers"):
        return ""
    value = basis_value(shop, run, profile)
    tier = [t for t in config["tiers"] if Decimal(str(t["min_value"])) <= value][-1:] or config["tiers"][:1]
    offer = Offer(PERCENT, Decimal(str(tier[0]["percent"])).quantize(Decimal("0.01")))
    try:
        return codes.claim(campaign, offer, visitor_id=f"recipe:{run.pk}:{run.step}", ip=f"recipe-run:{run.pk}",
                           now=now).code
    except codes.ClaimRefused as refused:
        logger.info("no code for run %s step %s: %s", run.pk, run.step, refused.reason)
        return ""


def email_step(shop: Shop, run: RecipeRun, step: dict, profile: CustomerProfile, settings: RecipeSettings,
               now: datetime) -> str:
    send = sending.open_send(shop.pk, run.pk, run.step, recipe_id=run.recipe_id, profile_id=profile.pk,
                             created_at=now)
    if send.status in sending.FINAL:
        return DONE
    address = consent.marketing_address(profile)
    rows = EmailSend.objects.for_shop(shop).filter(pk=send.pk, status=EmailSend.Status.CLAIMED)
    if not address:
        rows.update(status=EmailSend.Status.SKIPPED, reason="no consent")
        return EXITED
    with transaction.atomic():
        # One person's sends are decided one at a time (PostgreSQL row lock): two recipes' steps due together
        # can't both pass the cap.
        CustomerProfile.objects.for_shop(shop).select_for_update().filter(pk=profile.pk).first()
        if send.attempts == 0 and cap_reached(profile, settings, now, send.pk):
            rows.update(status=EmailSend.Status.SKIPPED, reason="frequency cap")
            return DONE
        token = sending.claim(send, now)
    if not token:
        return DONE if send.status in sending.FINAL else BUSY
    if not send.code and step.get("code"):
        send.code = issue_code(shop, run, step, profile, now)
    send.to_email = address
    EmailSend.objects.for_shop(shop).filter(pk=send.pk).update(to_email=address, code=send.code)
    language = language_for(shop, profile)
    outcome = sending.deliver(send, token, lambda s: render_email(
        shop, step["template"], profile, run.context, s.pk, address, language, code=s.code),
        from_email=settings.from_email)
    if outcome == sending.RETRY:
        return WAITING
    return SENT if outcome == sending.SENT else (DONE if outcome == sending.DONE else BUSY)


def advance(run_id: int, now: datetime | None = None) -> str:
    """Run the run's due step if it is due; what happened."""
    now = now or timezone.now()
    run = RecipeRun.all_shops.select_related("recipe").filter(pk=run_id).first()
    if run is None or run.state != RecipeRun.State.ACTIVE:
        return DONE
    recipe: Recipe = run.recipe
    if run.next_due_at and run.next_due_at > now:
        RecipeRun.objects.for_shop(run.shop_id).filter(pk=run.pk, step=run.step).update(lease_until=None)
        return WAITING
    if not recipe.enabled:
        _finish(run, RecipeRun.State.EXITED, "recipe off", now)
        return EXITED
    if run.step >= len(recipe.steps):
        _finish(run, RecipeRun.State.DONE, "", now)
        return DONE
    shop = Shop.objects.get(pk=run.shop_id)
    profile = CustomerProfile.objects.for_shop(shop).filter(pk=run.profile_id).first()
    reason = "profile gone" if profile is None else exit_reason(run, profile)
    if reason:
        _finish(run, RecipeRun.State.EXITED, reason, now)
        return EXITED
    settings = settings_for(shop)
    zone = shop_zone(shop.timezone)
    if in_quiet_hours(now, zone, settings.quiet_start_hour, settings.quiet_end_hour):
        _reschedule(run, after_quiet_hours(now, zone, settings.quiet_start_hour, settings.quiet_end_hour))
        return WAITING
    step = recipe.steps[run.step]
    if step.get("action") == "webhook":
        return webhook_step(shop, run, step, profile, now)
    if step.get("action") == "flow":
        return flow_step(shop, run, profile, now)
    if step.get("action") == "audience":
        return audience_step(shop, run, step, profile, now)
    if step.get("action") == "tag":
        from .tagging import tag_step

        return tag_step(shop, run, step, profile, now)
    outcome = email_step(shop, run, step, profile, settings, now)
    if outcome == EXITED:
        _finish(run, RecipeRun.State.EXITED, "no consent", now)
    elif outcome in (SENT, DONE):
        _move_on(run, now)
    elif outcome == WAITING:  # the mail server said no: try again later, backing off
        _reschedule(run, now + timedelta(minutes=5 * 2 ** min(run_attempts(run), 6)))
    return outcome


def webhook_step(shop: Shop, run: RecipeRun, step: dict, profile: CustomerProfile, now: datetime) -> str:
    """Call the merchant's URL; a 2xx moves on, anything else is tried again with backoff, at most
    WEBHOOK_ATTEMPTS times (then the run moves on: the merchant's endpoint being down must not stall it)."""
    import httpx

    from . import webhooks

    key = f"webhook_attempts_{run.step}"
    attempts = int(run.context.get(key, 0)) + 1
    RecipeRun.objects.for_shop(shop).filter(pk=run.pk, step=run.step).update(context={**run.context, key: attempts})
    try:
        status = webhooks.call(run.recipe, run, step, profile, domain=shop.domain)
    except webhooks.WebhookRefused as refused:
        logger.warning("recipe %s webhook refused for shop %s: %s", run.recipe_id, shop.domain, refused)
        _move_on(run, now)
        return DONE
    except httpx.HTTPError as exc:
        logger.info("recipe %s webhook failed for shop %s: %s", run.recipe_id, shop.domain, exc)
        status = 0
    if 200 <= status < 300 or attempts >= WEBHOOK_ATTEMPTS:
        _move_on(run, now)
        return SENT if 200 <= status < 300 else DONE
    _reschedule(run, now + timedelta(minutes=2 ** attempts))
    return WAITING


def flow_step(shop: Shop, run: RecipeRun, profile: CustomerProfile, now: datetime) -> str:
    """Fire the app's Shopify Flow trigger for this customer (Shopify shops; a person with no Shopify customer
    id can't be referenced, so the step is passed). Platform errors are retried with backoff, like webhooks."""
    from backend.customers.models import Customer
    from integrations.base.errors import IntegrationError
    from integrations.shopify import flow

    platform_id = Customer.objects.for_shop(shop).filter(
        pk__in=Identity.objects.for_shop(shop).filter(profile=profile, kind=Identity.Kind.CUSTOMER).values(
            "customer_id")).values_list("platform_id", flat=True).first()
    if shop.platform != Shop.Platform.SHOPIFY or not platform_id:
        _move_on(run, now)
        return DONE
    key = f"flow_attempts_{run.step}"
    attempts = int(run.context.get(key, 0)) + 1
    RecipeRun.objects.for_shop(shop).filter(pk=run.pk, step=run.step).update(context={**run.context, key: attempts})
    try:
        flow.fire(shop, flow.RECIPE_STEP_HANDLE, flow.recipe_step_payload(
            platform_id, run.recipe.key, run.step + 1, profile.value_tier))
    except flow.FlowRefused as refused:  # the trigger or payload is wrong: retrying can't help
        logger.warning("flow trigger refused for shop %s: %s", shop.domain, refused)
        _move_on(run, now)
        return DONE
    except IntegrationError as exc:
        if attempts >= WEBHOOK_ATTEMPTS:
            _move_on(run, now)
            return DONE
        logger.info("flow trigger failed for shop %s (attempt %s): %s", shop.domain, attempts, exc)
        _reschedule(run, now + timedelta(minutes=2 ** attempts))
        return WAITING
    _move_on(run, now)
    return SENT


def run_attempts(run: RecipeRun) -> int:
    return EmailSend.objects.for_shop(run.shop_id).filter(run=run, step=run.step).values_list(
        "attempts", flat=True).first() or 0


def audience_step(shop: Shop, run: RecipeRun, step: dict, profile: CustomerProfile, now: datetime) -> str:
    """Put the person in (or take them out of) a "fed by automations" ad audience. Only the membership row is
    written here, and the audience made due: its own beat job sends the difference to the platform, with its
    retries and ledger. Someone without marketing consent is never added (the sync checks consent again)."""
    from backend.audiences.models import Audience, RecipeMember

    audience = Audience.objects.for_shop(shop).filter(pk=step.get("audience") or 0,
                                                      source=Audience.Source.RECIPES).first()
    members = RecipeMember.objects.for_shop(shop).filter(audience=audience, profile_id=profile.pk)
    outcome = DONE
    if audience is None:
        logger.warning("recipe %s step %s: audience %s is gone", run.recipe_id, run.step, step.get("audience"))
    elif step.get("mode") == "remove":
        outcome = SENT if members.delete()[0] else DONE
    elif profile.accepts_marketing and profile.is_active:
        # Idempotent: a second delivery of the step finds the row already there.
        RecipeMember.objects.bulk_create([RecipeMember(shop=shop, audience=audience, profile_id=profile.pk,
                                                       recipe_id=run.recipe_id, added_at=now)],
                                         ignore_conflicts=True)
        outcome = SENT
    if outcome == SENT:
        Audience.objects.for_shop(shop).filter(pk=audience.pk).update(next_run_at=now)
    _move_on(run, now)
    return outcome
