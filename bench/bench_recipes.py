"""Recipes at scale (issue 15): 100,000 customers enter a recipe at once.

Figures:
- steps scheduled per second: runs written with their first step's due time (triggers.enter_many, the path a scan
  or a segment's entry takes), then leased and handed out by the beat's dispatcher (scheduler.claim_due);
- emails rendered per second: a step's email as sent (cart items, also-bought/for-you/bestseller recommendations,
  signed links, MJML to HTML, plain text), one shopper after another;
- steps executed per second: the whole step (exit check, consent, cap, claim, render, send record, move on) with
  Django's in-memory email backend, so the figure is ours and not a mail server's.
Default database: a throwaway SQLite file; set DATABASE_URL for PostgreSQL. Usage:
  bench_recipes.py [--customers 100000] [--render 1000] [--steps 500]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--render", type=int, default=1000, help="emails to render for the rendering figure")
    ap.add_argument("--steps", type=int, default=500, help="whole steps to execute")
    args = ap.parse_args()

    if not os.environ.get("DATABASE_URL"):
        tmp = tempfile.mkdtemp(prefix="bench_recipes_")
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    os.environ.pop("REDIS_URL", None)  # tasks in-process: the figures are the engine's, not a broker's
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()
    from datetime import timedelta
    from decimal import Decimal

    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0)

    from backend.catalog.models import Product, Variant
    from backend.customers.models import Customer, CustomerProfile, Identity
    from backend.emails.render import render_email
    from backend.orders.models import LineItem, Order
    from backend.recipes import engine, scheduler, triggers
    from backend.recipes.models import RecipeRun, RecipeSettings
    from backend.recipes.presets import enable_preset
    from backend.recommendations.also_bought import full_recompute
    from backend.shops.models import Shop

    shop = Shop(platform=Shop.Platform.SHOPIFY, domain=f"bench-recipes-{int(time.time())}.myshopify.com",
                currency="EUR", name="Bench")
    shop.mark_installed()
    shop.save()
    RecipeSettings.objects.create(shop=shop, quiet_start_hour=0, quiet_end_hour=0, cap_emails=5)
    products = Product.objects.bulk_create([Product(shop=shop, platform_id=f"p{i}", title=f"Product {i}",
                                                    handle=f"p-{i}", total_inventory=50,
                                                    image_url=f"https://cdn.example/{i}.jpg") for i in range(60)])
    Variant.objects.bulk_create([Variant(shop=shop, product=p, platform_id=f"v{p.platform_id}",
                                         price=Decimal(10 + i % 40), inventory_quantity=50)
                                 for i, p in enumerate(products)])
    now = timezone.now()
    orders = Order.objects.bulk_create([Order(shop=shop, platform_id=f"o{i}", currency="EUR",
                                              processed_at=now - timedelta(days=1 + i % 60)) for i in range(600)])
    LineItem.objects.bulk_create([LineItem(shop=shop, order=o, platform_id=f"l{o.pk}-{k}",
                                           product=products[(i * 7 + k * 13) % 60], quantity=1, price=Decimal(20))
                                  for i, o in enumerate(orders) for k in range(3)])
    full_recompute(shop)

    n = args.customers
    t0 = time.perf_counter()
    customers = Customer.objects.bulk_create([
        Customer(shop=shop, platform_id=f"c{i}", email=f"shopper{i}@example.com", accepts_marketing=True,
                 country="ES" if i % 2 else "US") for i in range(n)], batch_size=5000)
    profiles = CustomerProfile.objects.bulk_create([
        CustomerProfile(shop=shop, email=c.email, country=c.country, is_known=True) for c in customers],
        batch_size=5000)
    Identity.objects.bulk_create([
        Identity(shop=shop, profile=p, kind=Identity.Kind.CUSTOMER, value=str(c.pk), customer=c)
        for p, c in zip(profiles, customers, strict=True)], batch_size=5000)
    print(f"setup: {n:,} customers with profiles in {time.perf_counter() - t0:.1f} s")

    recipe, _ = enable_preset(shop, "win-back")
    ids = [p.pk for p in profiles]
    t0 = time.perf_counter()
    entered = triggers.enter_many(recipe, ids, "bench", now=now)
    scheduled_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    leased = scheduler.claim_due(now=now + timedelta(seconds=1), limit=n)
    claim_s = time.perf_counter() - t0
    print(f"steps scheduled: {entered:,} runs in {scheduled_s:.2f} s = {entered / scheduled_s:,.0f} steps/s")
    print(f"steps handed out by the beat (leased): {len(leased):,} in {claim_s:.2f} s = "
          f"{len(leased) / claim_s:,.0f} steps/s")

    sample = profiles[: args.render]
    t0 = time.perf_counter()
    for i, profile in enumerate(sample):
        render_email(shop, "cart", profile, {"products": [products[i % 60].pk, products[(i + 5) % 60].pk]},
                     i + 1, profile.email, "es" if i % 2 else "en")
    render_s = time.perf_counter() - t0
    print(f"emails rendered: {len(sample):,} in {render_s:.2f} s = {len(sample) / render_s:,.1f} emails/s "
          "(cart + recommendations + MJML + text, one process)")

    run_ids = list(RecipeRun.objects.for_shop(shop).order_by("pk").values_list("pk", flat=True)[: args.steps])
    RecipeRun.objects.for_shop(shop).filter(pk__in=run_ids).update(lease_until=None)
    t0 = time.perf_counter()
    outcomes = [engine.advance(pk, now=now + timedelta(seconds=2)) for pk in run_ids]
    steps_s = time.perf_counter() - t0
    sent = outcomes.count(engine.SENT)
    print(f"steps executed: {len(run_ids):,} ({sent:,} emails sent to the in-memory backend) in {steps_s:.2f} s = "
          f"{len(run_ids) / steps_s:,.1f} steps/s (one process)")
    print("machine: 2 shared cores, other work running; a worker pool per core scales the last two figures")


if __name__ == "__main__":
    main()
