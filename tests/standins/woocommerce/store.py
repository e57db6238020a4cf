"""A generated WooCommerce store: deterministic from a seed, sized by a knob, changeable by tests.

Records are generated lazily from their id (a 100,000-order store costs no memory until a page is read) and
shaped like WooCommerce REST API v3 responses. A change made through this class (update, delete) bumps
`date_modified_gmt` and is handed to the webhook dispatcher, as WooCommerce does from its save hooks.

Ids follow WordPress: products and their variations share one id space (both are posts), customers are users,
orders live in their own table (HPOS). Orders have co-purchase structure: a jacket often comes with a hat or
gloves, shoes with socks, so "customers also bought" has something real to find.
"""
from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

EPOCH = datetime(2025, 1, 1, tzinfo=UTC)

# category slug -> (name, complementary category slugs shoppers buy with it)
CATEGORIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "jackets": ("Jackets", ("hats", "gloves", "scarves")),
    "hats": ("Hats", ("gloves", "scarves")),
    "gloves": ("Gloves", ("hats", "jackets")),
    "scarves": ("Scarves", ("hats", "gloves")),
    "shoes": ("Shoes", ("socks",)),
    "socks": ("Socks", ("shoes",)),
    "bags": ("Bags", ("wallets",)),
    "wallets": ("Wallets", ("bags",)),
}
TAGS = ["new", "sale", "bestseller", "eco", "limited", "winter", "summer", "unisex"]
SIZES = ["S", "M", "L", "XL"]
COLOURS = ["Black", "Navy", "Red", "Olive"]
ADJECTIVES = ["Alpine", "Harbor", "Summit", "Urban", "Coastal", "Nordic", "Canyon", "Meadow", "Ember", "Glacier"]
FIRST = ["Ana", "Luis", "Marta", "John", "Emma", "Lucas", "Sofia", "Noah", "Chloe", "Pablo", "Mia", "Leo"]
LAST = ["Garcia", "Smith", "Martin", "Lopez", "Brown", "Muller", "Rossi", "Dubois", "Silva", "Jones"]
PLACES = [("ES", "Madrid", "M"), ("ES", "Barcelona", "B"), ("US", "Austin", "TX"), ("US", "Boston", "MA"),
          ("GB", "London", ""), ("FR", "Lyon", ""), ("DE", "Berlin", ""), ("MX", "Monterrey", "NL")]
COUPONS = ["WELCOME10", "WINTER15", "VIP20"]
STATUSES = ["completed"] * 14 + ["processing"] * 3 + ["cancelled", "refunded", "on-hold"]
CREATED_VIA = ["checkout"] * 16 + ["store-api"] * 2 + ["pos-rest-api", "admin"]

PRODUCT_ID_BASE = 100
PRODUCT_ID_STRIDE = 8  # a product and up to 7 variations take consecutive post ids
CATEGORY_ID_BASE = 15
TAG_ID_BASE = 40
ORDER_ID_BASE = 5000
CUSTOMER_ID_BASE = 2  # user 1 is the shop admin


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat()


def money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


@dataclass
class StoreSize:
    products: int = 60
    customers: int = 40
    orders: int = 150


class Store:
    def __init__(self, size: StoreSize | None = None, seed: int = 7, base_url: str = "http://127.0.0.1") -> None:
        self.size = size or StoreSize()
        self.seed = seed
        self.base_url = base_url
        self.currency = "EUR"
        self.lock = threading.RLock()
        self.cat_slugs = list(CATEGORIES)
        self.categories = {
            CATEGORY_ID_BASE + i: {"id": CATEGORY_ID_BASE + i, "name": CATEGORIES[s][0], "slug": s, "parent": 0,
                                   "description": "", "display": "default", "image": None, "menu_order": i,
                                   "count": 0}
            for i, s in enumerate(self.cat_slugs)
        }
        self.tags = {TAG_ID_BASE + i: {"id": TAG_ID_BASE + i, "name": t.title(), "slug": t, "count": 0}
                     for i, t in enumerate(TAGS)}
        # Overrides: a record changed or created at runtime; deletions are remembered as ids.
        self.product_overrides: dict[int, dict] = {}
        self.variation_overrides: dict[int, dict] = {}
        self.customer_overrides: dict[int, dict] = {}
        self.order_overrides: dict[int, dict] = {}
        self.deleted_products: set[int] = set()
        self.deleted_customers: set[int] = set()
        self.deleted_orders: set[int] = set()
        self.next_order_id = ORDER_ID_BASE + self.size.orders
        self.next_product_id = PRODUCT_ID_BASE + self.size.products * PRODUCT_ID_STRIDE
        self.clock = EPOCH + timedelta(days=720)  # "now" in the store; every change moves it forward
        self.listeners: list[Callable[[str, dict], None]] = []

    # --- ids -------------------------------------------------------------------------------------------------

    def product_ids(self) -> list[int]:
        base = (PRODUCT_ID_BASE + i * PRODUCT_ID_STRIDE for i in range(self.size.products))
        extra = [pid for pid in self.product_overrides if pid >= PRODUCT_ID_BASE + self.size.products
                 * PRODUCT_ID_STRIDE]
        return [pid for pid in [*base, *sorted(extra)] if pid not in self.deleted_products]

    def customer_ids(self) -> list[int]:
        return [CUSTOMER_ID_BASE + i for i in range(self.size.customers)
                if CUSTOMER_ID_BASE + i not in self.deleted_customers]

    def order_ids(self) -> list[int]:
        return [oid for oid in range(ORDER_ID_BASE, self.next_order_id) if oid not in self.deleted_orders]

    def _rng(self, kind: str, key: int) -> random.Random:
        return random.Random(f"{self.seed}:{kind}:{key}")

    # --- products and variations -----------------------------------------------------------------------------

    def _product_index(self, pid: int) -> int | None:
        off = pid - PRODUCT_ID_BASE
        if off < 0 or off % PRODUCT_ID_STRIDE or off // PRODUCT_ID_STRIDE >= self.size.products:
            return None
        return off // PRODUCT_ID_STRIDE

    def _generated_product(self, pid: int) -> dict | None:
        idx = self._product_index(pid)
        if idx is None:
            return None
        rng = self._rng("product", idx)
        slug = self.cat_slugs[idx % len(self.cat_slugs)]
        cat_id = CATEGORY_ID_BASE + self.cat_slugs.index(slug)
        noun = CATEGORIES[slug][0].rstrip("s")
        name = f"{ADJECTIVES[(idx // len(self.cat_slugs)) % len(ADJECTIVES)]} {noun} {idx}"
        variable = rng.random() < 0.4
        n_var = rng.randint(2, 4) if variable else 0
        price = Decimal(rng.randint(900, 15900)) / 100
        on_sale = rng.random() < 0.15
        tags = sorted(rng.sample(range(len(TAGS)), rng.randint(0, 2)))
        created = EPOCH + timedelta(minutes=idx * 7)
        modified = created + timedelta(days=rng.randint(0, 30))
        stock = rng.choice([0, 3, 10, 25, 60]) if not variable else None
        status = "publish" if rng.random() < 0.97 else "draft"
        p = {
            "id": pid,
            "name": name,
            "slug": name.lower().replace(" ", "-"),
            "permalink": f"{self.base_url}/product/{name.lower().replace(' ', '-')}/",
            "date_created": iso(created), "date_created_gmt": iso(created),
            "date_modified": iso(modified), "date_modified_gmt": iso(modified),
            "type": "variable" if variable else "simple",
            "status": status,
            "featured": False,
            "catalog_visibility": "visible",
            "description": f"<p>{name}, made to last.</p>",
            "short_description": "",
            "sku": f"SKU-{pid}",
            "price": money(price * Decimal("0.8") if on_sale else price),
            "regular_price": money(price),
            "sale_price": money(price * Decimal("0.8")) if on_sale else "",
            "on_sale": on_sale,
            "purchasable": True,
            "total_sales": 0,
            "manage_stock": not variable,
            "stock_quantity": stock,
            "stock_status": ("instock" if (stock or 0) > 0 else "outofstock") if not variable else "instock",
            "backorders": "no",
            "backorders_allowed": False,
            "categories": [{"id": cat_id, "name": CATEGORIES[slug][0], "slug": slug}],
            "tags": [{"id": TAG_ID_BASE + t, "name": TAGS[t].title(), "slug": TAGS[t]} for t in tags],
            "images": [{"id": pid * 10, "src": f"{self.base_url}/wp-content/uploads/{pid}.jpg", "name": name,
                        "alt": name}],
            "attributes": ([{"id": 1, "name": "Size", "variation": True, "options": SIZES[:n_var]}]
                           if variable else []),
            "variations": [pid + k + 1 for k in range(n_var)],
            "parent_id": 0,
            "meta_data": [],
        }
        if variable:
            p["regular_price"] = p["price"] = p["sale_price"] = ""
        return p

    def _generated_variation(self, parent: dict, vid: int) -> dict:
        k = vid - parent["id"] - 1
        rng = self._rng("variation", vid)
        price = Decimal(rng.randint(900, 15900)) / 100
        stock = rng.choice([0, 2, 8, 20])
        size = SIZES[k % len(SIZES)]
        return {
            "id": vid,
            "date_created": parent["date_created"], "date_created_gmt": parent["date_created_gmt"],
            "date_modified": parent["date_modified"], "date_modified_gmt": parent["date_modified_gmt"],
            "description": "",
            "permalink": f"{parent['permalink']}?attribute_size={size}",
            "sku": f"SKU-{parent['id']}-{size}",
            "price": money(price), "regular_price": money(price), "sale_price": "", "on_sale": False,
            "status": "publish", "purchasable": True,
            "manage_stock": True, "stock_quantity": stock,
            "stock_status": "instock" if stock > 0 else "outofstock",
            "backorders": "no", "backorders_allowed": False,
            "image": None,
            "attributes": [{"id": 1, "name": "Size", "option": size}],
            "parent_id": parent["id"],
            "type": "variation",
            "name": f"{parent['name']} - {size}",
            "meta_data": [],
        }

    def get_product(self, pid: int) -> dict | None:
        if pid in self.deleted_products:
            return None
        return self.product_overrides.get(pid) or self._generated_product(pid)

    def get_variations(self, pid: int) -> list[dict]:
        parent = self.get_product(pid)
        if parent is None:
            return []
        return [self.variation_overrides.get(vid) or self._generated_variation(parent, vid)
                for vid in parent["variations"]]

    # --- customers -------------------------------------------------------------------------------------------

    def _generated_customer(self, cid: int) -> dict | None:
        i = cid - CUSTOMER_ID_BASE
        if i < 0 or i >= self.size.customers:
            return None
        rng = self._rng("customer", i)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        country, city, state = rng.choice(PLACES)
        email = f"{first}.{last}.{i}@example.com".lower()
        created = EPOCH + timedelta(hours=i * 5)
        addr = {"first_name": first, "last_name": last, "company": "", "address_1": f"{i} Main St",
                "address_2": "", "city": city, "state": state, "postcode": f"{10000 + i}", "country": country}
        return {
            "id": cid,
            "date_created": iso(created), "date_created_gmt": iso(created),
            "date_modified": iso(created + timedelta(days=2)), "date_modified_gmt": iso(created + timedelta(days=2)),
            "email": email, "first_name": first, "last_name": last, "role": "customer",
            "username": email.split("@")[0],
            "billing": {**addr, "email": email, "phone": f"+3460{i:07d}"},
            "shipping": {**addr, "phone": ""},
            "is_paying_customer": True,
            "avatar_url": "",
            "meta_data": [],
        }

    def get_customer(self, cid: int) -> dict | None:
        if cid in self.deleted_customers:
            return None
        return self.customer_overrides.get(cid) or self._generated_customer(cid)

    # --- orders ----------------------------------------------------------------------------------------------

    def _pick_product(self, rng: random.Random, slug: str | None = None) -> dict | None:
        n = self.size.products
        if n == 0:
            return None
        # Popularity follows a skewed curve: a few products sell a lot (bestsellers), most sell a little.
        idx = min(n - 1, int(n * rng.random() ** 2.2))
        if slug is not None:
            c = self.cat_slugs.index(slug)
            idx = idx - idx % len(self.cat_slugs) + c
            if idx >= n:
                idx = c if c < n else None
            if idx is None:
                return None
        return self._generated_product(PRODUCT_ID_BASE + idx * PRODUCT_ID_STRIDE)

    def _partner(self, product: dict, slug: str) -> dict | None:
        # Each product has a favourite companion in each complementary category: the co-purchase signal.
        idx = self._product_index(product["id"]) or 0
        c = self.cat_slugs.index(slug)
        block = (idx // len(self.cat_slugs)) % 5
        cand = block * len(self.cat_slugs) + c
        return self._generated_product(PRODUCT_ID_BASE + cand * PRODUCT_ID_STRIDE) if cand < self.size.products \
            else None

    def _generated_order(self, oid: int) -> dict | None:
        j = oid - ORDER_ID_BASE
        if j < 0 or j >= self.size.orders:
            return None
        rng = self._rng("order", j)
        lines: list[tuple[dict, dict | None, int]] = []
        first = self._pick_product(rng)
        if first is not None:
            picks = [first]
            slug = first["categories"][0]["slug"]
            for comp in CATEGORIES[slug][1]:
                if rng.random() < 0.45:
                    partner = self._partner(first, comp) if rng.random() < 0.7 else self._pick_product(rng, comp)
                    if partner is not None and partner["id"] not in {p["id"] for p in picks}:
                        picks.append(partner)
            if rng.random() < 0.2:
                extra = self._pick_product(rng)
                if extra is not None and extra["id"] not in {p["id"] for p in picks}:
                    picks.append(extra)
            for p in picks:
                var = None
                if p["variations"]:
                    vid = p["variations"][rng.randrange(len(p["variations"]))]
                    var = self._generated_variation(p, vid)
                lines.append((p, var, 1 if rng.random() < 0.85 else 2))
        customer_id = CUSTOMER_ID_BASE + rng.randrange(self.size.customers) if self.size.customers and \
            rng.random() < 0.9 else 0
        created = EPOCH + timedelta(minutes=int(j * (700 * 24 * 60) / max(1, self.size.orders)))
        status = rng.choice(STATUSES)
        coupon = rng.choice(COUPONS) if rng.random() < 0.15 else ""
        return self._order_from_lines(oid, lines, customer_id, created, status, coupon,
                                      rng.choice(CREATED_VIA), rng)

    def _order_from_lines(self, oid: int, lines: list[tuple[dict, dict | None, int]], customer_id: int,
                          created: datetime, status: str, coupon: str, created_via: str,
                          rng: random.Random) -> dict:
        line_items = []
        subtotal = Decimal("0")
        for n, (p, var, qty) in enumerate(lines):
            unit = Decimal((var or p)["price"] or "0")
            line_sub = unit * qty
            subtotal += line_sub
            line_items.append({
                "id": oid * 10 + n, "name": (var or p)["name"], "product_id": p["id"],
                "variation_id": var["id"] if var else 0, "quantity": qty, "tax_class": "",
                "subtotal": money(line_sub), "subtotal_tax": "0.00", "total": money(line_sub), "total_tax": "0.00",
                "taxes": [], "meta_data": [], "sku": (var or p)["sku"], "price": float(unit),
                "parent_name": p["name"] if var else None,
            })
        discount = Decimal("0")
        if coupon:
            # WooCommerce spreads a coupon over the lines; the order's discount is the sum of the line shares.
            for li in line_items:
                share = (Decimal(li["subtotal"]) * Decimal("0.10")).quantize(Decimal("0.01"))
                li["total"] = money(Decimal(li["subtotal"]) - share)
                discount += share
        shipping = Decimal("4.95") if subtotal < 60 else Decimal("0")
        tax = ((subtotal - discount) * Decimal("0.21")).quantize(Decimal("0.01"))
        total = subtotal - discount + shipping + tax
        customer = self.get_customer(customer_id) if customer_id else None
        place = rng.choice(PLACES)
        billing = dict(customer["billing"]) if customer else {
            "first_name": "Guest", "last_name": "Buyer", "company": "", "address_1": "1 Plaza", "address_2": "",
            "city": place[1], "state": place[2], "postcode": "00001", "country": place[0],
            "email": f"guest{oid}@example.org", "phone": ""}
        modified = created + timedelta(hours=rng.randint(0, 72))
        refunds = []
        if status == "refunded":
            refunds = [{"id": oid * 10 + 9, "reason": "Customer changed their mind", "total": money(-total)}]
        return {
            "id": oid, "parent_id": 0, "number": str(oid), "order_key": f"wc_order_{oid:x}",
            "created_via": created_via, "version": "11.0.1", "status": status, "currency": self.currency,
            "date_created": iso(created), "date_created_gmt": iso(created),
            "date_modified": iso(modified), "date_modified_gmt": iso(modified),
            "discount_total": money(discount), "discount_tax": "0.00",
            "shipping_total": money(shipping), "shipping_tax": "0.00",
            "cart_tax": money(tax), "total": money(total), "total_tax": money(tax),
            "prices_include_tax": False, "customer_id": customer_id, "customer_ip_address": "",
            "customer_user_agent": "", "customer_note": "",
            "billing": billing, "shipping": {k: v for k, v in billing.items() if k != "email"},
            "payment_method": "stripe", "payment_method_title": "Card", "transaction_id": "",
            "date_paid": iso(created) if status in {"completed", "processing", "refunded"} else None,
            "date_paid_gmt": iso(created) if status in {"completed", "processing", "refunded"} else None,
            "date_completed": iso(modified) if status == "completed" else None,
            "date_completed_gmt": iso(modified) if status == "completed" else None,
            "cart_hash": "", "meta_data": [],
            "line_items": line_items,
            "tax_lines": [], "shipping_lines": [], "fee_lines": [],
            "coupon_lines": ([{"id": oid * 10 + 8, "code": coupon.lower(), "discount": money(discount),
                               "discount_tax": "0.00", "meta_data": []}] if coupon else []),
            "refunds": refunds,
        }

    def get_order(self, oid: int) -> dict | None:
        if oid in self.deleted_orders:
            return None
        return self.order_overrides.get(oid) or self._generated_order(oid)

    # --- listing ---------------------------------------------------------------------------------------------

    def records(self, resource: str) -> Iterator[dict]:
        getter, ids = {
            "products": (self.get_product, self.product_ids),
            "customers": (self.get_customer, self.customer_ids),
            "orders": (self.get_order, self.order_ids),
        }[resource]
        for rid in ids():
            rec = getter(rid)
            if rec is not None:
                yield rec

    def modified_ts(self, resource: str, rid: int) -> str:
        rec = {"products": self.get_product, "customers": self.get_customer, "orders": self.get_order}[resource](rid)
        return rec["date_modified_gmt"] if rec else ""

    # --- changes (what a merchant or a shopper does in the store) --------------------------------------------

    def tick(self, seconds: int = 60) -> str:
        self.clock += timedelta(seconds=seconds)
        return iso(self.clock)

    def _emit(self, topic: str, payload: dict) -> None:
        for listener in list(self.listeners):
            listener(topic, payload)

    def update_product(self, pid: int, **fields) -> dict:
        with self.lock:
            p = dict(self.get_product(pid) or {})
            if not p:
                raise KeyError(pid)
            p.update(fields)
            p["date_modified"] = p["date_modified_gmt"] = self.tick()
            self.product_overrides[pid] = p
        self._emit("product.updated", p)
        return p

    def update_variation(self, pid: int, vid: int, **fields) -> dict:
        with self.lock:
            var = next(v for v in self.get_variations(pid) if v["id"] == vid)
            var = {**var, **fields}
            var["date_modified"] = var["date_modified_gmt"] = self.tick()
            self.variation_overrides[vid] = var
        # WooCommerce fires product.updated with the variation itself as the payload.
        self._emit("product.updated", var)
        return var

    def create_product(self, name: str, price: str, category: str = "hats", stock: int = 10) -> dict:
        with self.lock:
            pid = self.next_product_id
            self.next_product_id += PRODUCT_ID_STRIDE
            template = self._generated_product(PRODUCT_ID_BASE) or {}
            now = self.tick()
            slug = name.lower().replace(" ", "-")
            p = {**template, "id": pid, "name": name, "slug": slug, "type": "simple", "status": "publish",
                 "permalink": f"{self.base_url}/product/{slug}/", "sku": f"SKU-{pid}",
                 "price": price, "regular_price": price, "sale_price": "", "on_sale": False,
                 "manage_stock": True, "stock_quantity": stock,
                 "stock_status": "instock" if stock > 0 else "outofstock",
                 "categories": [{"id": CATEGORY_ID_BASE + self.cat_slugs.index(category),
                                 "name": CATEGORIES[category][0], "slug": category}],
                 "tags": [], "variations": [], "attributes": [],
                 "images": [{"id": pid * 10, "src": f"{self.base_url}/wp-content/uploads/{pid}.jpg",
                             "name": name, "alt": name}],
                 "date_created": now, "date_created_gmt": now, "date_modified": now, "date_modified_gmt": now}
            self.product_overrides[pid] = p
        self._emit("product.created", p)
        return p

    def delete_product(self, pid: int) -> None:
        with self.lock:
            self.deleted_products.add(pid)
            self.product_overrides.pop(pid, None)
        self._emit("product.deleted", {"id": pid})

    def update_customer(self, cid: int, **fields) -> dict:
        with self.lock:
            c = dict(self.get_customer(cid) or {})
            if not c:
                raise KeyError(cid)
            c.update(fields)
            c["date_modified"] = c["date_modified_gmt"] = self.tick()
            self.customer_overrides[cid] = c
        self._emit("customer.updated", c)
        return c

    def delete_customer(self, cid: int) -> None:
        with self.lock:
            self.deleted_customers.add(cid)
            self.customer_overrides.pop(cid, None)
        self._emit("customer.deleted", {"id": cid})

    def create_order(self, product_ids: list[int], customer_id: int = 0, coupon: str = "",
                     created_via: str = "checkout") -> dict:
        with self.lock:
            oid = self.next_order_id
            self.next_order_id += 1
            rng = self._rng("order-new", oid)
            lines = []
            for pid in product_ids:
                p = self.get_product(pid)
                if p is None:
                    raise KeyError(pid)
                var = self.get_variations(pid)[0] if p["variations"] else None
                lines.append((p, var, 1))
            now = self.tick()
            o = self._order_from_lines(oid, lines, customer_id, datetime.fromisoformat(now).replace(tzinfo=UTC),
                                       "processing", coupon, created_via, rng)
            o["date_modified"] = o["date_modified_gmt"] = now
            self.order_overrides[oid] = o
        self._emit("order.created", o)
        return o

    def update_order(self, oid: int, **fields) -> dict:
        with self.lock:
            o = dict(self.get_order(oid) or {})
            if not o:
                raise KeyError(oid)
            o.update(fields)
            o["date_modified"] = o["date_modified_gmt"] = self.tick()
            self.order_overrides[oid] = o
        self._emit("order.updated", o)
        return o

    def delete_order(self, oid: int) -> None:
        with self.lock:
            self.deleted_orders.add(oid)
            self.order_overrides.pop(oid, None)
        self._emit("order.deleted", {"id": oid})
