"""Sending one step's email exactly once, whatever crashes or double deliveries happen around it.

The send record (EmailSend, unique per run and step) is claimed before anything is rendered, with a lease:
- claimed/rendered with a lapsed lease: the worker died before handing the message over; the next one renders
  and sends it again (nothing reached the mail server, so nothing is sent twice, and nothing is skipped);
- claimed/rendered with a live lease: another worker holds it; this delivery does nothing;
- "sending" is committed after the mail server connection is open and just before the message is handed over.
  A worker that dies between that commit and recording "sent" leaves "sending": the mail server may or may not
  have accepted the message, so it is marked "uncertain" and never sent again. We choose at most once for that
  moment (milliseconds, one SMTP DATA exchange) over a duplicate in the shopper's inbox.
- an error from the mail server (refused, unreachable) releases the claim for a retry with backoff.
The Message-ID is the same for every attempt of one send, so a receiving system that deduplicates by it can too.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from . import links
from .models import EmailSend
from .render import Rendered

logger = logging.getLogger("personalize.emails")

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 5

SENT, DONE, BUSY, RETRY = "sent", "done", "busy", "retry"
FINAL = (EmailSend.Status.SENT, EmailSend.Status.UNCERTAIN, EmailSend.Status.SKIPPED, EmailSend.Status.FAILED)


def message_id(send: EmailSend) -> str:
    host = urlsplit(settings.APP_URL).hostname or "localhost"
    return f"<recipe-{send.shop_id}-{send.pk}@{host}>"


def open_send(shop_id: int, run_id: int, step: int, **defaults: object) -> EmailSend:
    """The send record of (run, step), created on first use."""
    rows = EmailSend.objects.for_shop(shop_id)
    send = rows.filter(run_id=run_id, step=step).first()
    if send is not None:
        return send
    try:
        with transaction.atomic():
            return rows.create(shop_id=shop_id, run_id=run_id, step=step, **defaults)
    except IntegrityError:  # a parallel delivery created it first
        return rows.get(run_id=run_id, step=step)


def claim(send: EmailSend, now: datetime | None = None) -> str:
    """A claim token when this worker may render and send now; "" with send.status telling why not."""
    now = now or timezone.now()
    rows = EmailSend.objects.for_shop(send.shop_id).filter(pk=send.pk)
    if send.status == EmailSend.Status.SENDING and send.lease_until and send.lease_until < now:
        # Died after handing the message over, before recording the answer: never again (see module doc).
        rows.filter(status=EmailSend.Status.SENDING, lease_until__lt=now).update(
            status=EmailSend.Status.UNCERTAIN, reason="worker died while handing over")
        send.refresh_from_db()
        return ""
    token = uuid.uuid4().hex
    taken = rows.filter(status__in=[EmailSend.Status.CLAIMED, EmailSend.Status.RENDERED]).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)).update(
        claim_token=token, lease_until=now + LEASE, status=EmailSend.Status.CLAIMED, attempts=send.attempts + 1)
    send.refresh_from_db()
    return token if taken else ""


def build_message(send: EmailSend, rendered: Rendered, from_email: str) -> EmailMultiAlternatives:
    unsubscribe = links.unsubscribe_url(send.shop_id, send.to_email)
    message = EmailMultiAlternatives(
        subject=rendered.subject, body=rendered.text, from_email=from_email or settings.DEFAULT_FROM_EMAIL,
        to=[send.to_email],
        headers={
            "Message-ID": message_id(send),
            # RFC 8058 one-click: mail clients POST "List-Unsubscribe=One-Click" to the https address.
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Content-Language": rendered.language,
        },
    )
    message.attach_alternative(rendered.html, "text/html")
    # django-anymail sends these to the ESP, which echoes them in bounce/complaint events (tracking.py).
    message.metadata = {"shop": str(send.shop_id), "send": str(send.pk)}
    message.tags = ["recipe"]
    return message


def deliver(send: EmailSend, token: str, render: Callable[[EmailSend], Rendered], from_email: str = "") -> str:
    """Render and send a claimed send: SENT, BUSY (lost the claim) or RETRY (the mail server said no)."""
    rows = EmailSend.objects.for_shop(send.shop_id).filter(pk=send.pk, claim_token=token)
    rendered = render(send)
    if not rows.filter(status=EmailSend.Status.CLAIMED).update(
            status=EmailSend.Status.RENDERED, subject=rendered.subject[:255], language=rendered.language,
            message_id=message_id(send)):
        return BUSY
    message = build_message(send, rendered, from_email)
    connection = get_connection(fail_silently=False)
    try:
        connection.open()  # connect, greet and sign in before "sending": a dead server is a plain retry
        smtp = getattr(connection, "connection", None)
        if hasattr(smtp, "ehlo_or_helo_if_needed"):  # smtplib greets lazily, at the first message otherwise
            smtp.ehlo_or_helo_if_needed()
        if not rows.filter(status=EmailSend.Status.RENDERED).update(
                status=EmailSend.Status.SENDING, lease_until=timezone.now() + LEASE):
            return BUSY
        connection.send_messages([message])
    except Exception as exc:  # refused, unreachable, timed out: give the claim back for a later attempt
        logger.warning("email send %s failed (attempt %s): %s", send.pk, send.attempts, exc)
        final = send.attempts >= MAX_ATTEMPTS
        rows.filter(status__in=[EmailSend.Status.RENDERED, EmailSend.Status.SENDING]).update(
            status=EmailSend.Status.FAILED if final else EmailSend.Status.CLAIMED, lease_until=None,
            reason=str(exc)[:60])
        return DONE if final else RETRY
    finally:
        connection.close()
    rows.filter(status=EmailSend.Status.SENDING).update(status=EmailSend.Status.SENT, sent_at=timezone.now())
    return SENT


def send_test(rendered: Rendered, to_email: str, shop_id: int, from_email: str = "") -> None:
    """A merchant's test: the same message, to the merchant, recorded as a test (never counted, never capped)."""
    send = EmailSend.objects.create(shop_id=shop_id, to_email=to_email, is_test=True, status=EmailSend.Status.SENDING,
                                    subject=rendered.subject[:255], language=rendered.language)
    build_message(send, rendered, from_email).send(fail_silently=False)
    EmailSend.objects.for_shop(shop_id).filter(pk=send.pk).update(status=EmailSend.Status.SENT,
                                                                  sent_at=timezone.now())
