"""Recommendation engines. Door: `registry.recommend(shop, widget, ctx)`.

cooccurrence.py    pure NumPy/SciPy item-item math (shared with bench/), similarities bm25 | cosine | lift | jaccard
also_bought.py     orders -> baskets -> stored top-K lists (full recompute, incremental per order, lookup)
complementary.py   merchant rules "jackets -> hats, gloves" (validated), mixed into also-bought
fallback.py        also-bought widget: co-purchases + rules, then co-viewed -> same collection -> bestsellers
recently_viewed.py continue shopping, merged across a customer's devices
bestsellers.py     hourly sales buckets per segment, live top sellers by units/revenue over 24h/7d/30d
eligibility.py     never shown: out of stock, excluded, self, already bought (unless re-buyable)
tasks.py / signals.py   order_recorded (function + Celery task on "compute"), post_save hook, nightly recompute
"""
