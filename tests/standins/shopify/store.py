"""The generated store behind one stand-in shop: deterministic by seed, sized by `StoreSize`.

Memory stays small at benchmark sizes because nothing is materialised up front: numpy columns hold the few
random draws per object (category, price, stock, dates, order lines...), and GraphQL-shaped dicts are built on
demand from them (`product(i)`, `order(i)`...). Mutations (price change, new order, refund...) are kept as small
overlays on top of the generated columns, so the generated part never changes.

Catalog rules (tests can rely on them):
- Product i belongs to category ``CATEGORIES[i % len(CATEGORIES)]``; each category is a collection (custom
  collection, id ``COLLECTION_BASE + category index``); products with a compare-at price are also in the "Sale"
  collection (id ``COLLECTION_BASE + len(CATEGORIES)``).
- About 30% of titles are Spanish ("Chaqueta ...", "Gorro ..."), the rest English.
- Two locations: LOCATION_BASE+1 "Almacén Central" (warehouse, online) and LOCATION_BASE+2 "Tienda Gran Vía" (POS).
  About 12% of variants are out of stock at both.

Co-purchase rules (``COMPANION_RULES``): an order's first line is an "anchor" product; for each rule of the
anchor's category the order also contains, with the rule's probability, the anchor's *companion* in that
category: the product at the same rank (``rank % count``) in the companion category, e.g. the k-th jacket is
bought with the k-th hat, the k-th gloves and the k-th scarf. `Store.companions(i)` lists them with their
probability, so a test can assert "bought together" products. Extra random lines fill orders up to the size's
mean lines per order. Popularity within a category is skewed (rank r is picked with density ~ 1/sqrt(r)), so
bestsellers exist.

Orders: spread over the last 18 months before `now` (sorted by time, so order numbers grow with time); ~84% web,
~10% POS (sourceName "pos", location = the shop), ~3% marketplace (an app such as "Facebook & Instagram"),
~2% draft (sourceName "shopify_draft_order"), ~1% Shopify mobile ("iphone"); ~3% cancelled, ~4% refunded
(half full, half partial); ~15% carry a discount code; ~5% are guest orders without a customer.
Customers: countries ES, MX, AR, US, GB, CO, CL, FR with names in the country's language.
"""
from __future__ import annotations

import itertools
import threading
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np

PRODUCT_BASE = 8_100_000_000_000
VARIANT_BASE = 45_200_000_000_000
INVENTORY_ITEM_BASE = 47_300_000_000_000
COLLECTION_BASE = 480_000_000_000
LOCATION_BASE = 76_500_000_000
CUSTOMER_BASE = 7_900_000_000_000
ORDER_BASE = 6_100_000_000_000
LINE_ITEM_BASE = 15_800_000_000_000
REFUND_BASE = 990_000_000_000
APP_IDS = {"Facebook & Instagram": 2329312, "Google & YouTube": 1780363, "Amazon": 5541283}

DAY = 86_400


@dataclass(frozen=True)
class StoreSize:
    """How big a generated store is. Defaults are test-sized; the benchmark uses 50,000 / 200,000."""

    products: int = 120
    variants_per_product: float = 3.0
    customers: int = 200
    orders: int = 600
    lines_per_order: float = 3.0


@dataclass(frozen=True)
class Category:
    handle: str
    title_en: str
    title_es: str
    nouns_en: tuple[str, ...]
    nouns_es: tuple[str, ...]
    price: tuple[int, int]
    options: tuple[str, tuple[str, ...]]
    weight: float  # share of anchor lines


_SIZES = ("XS", "S", "M", "L", "XL", "XXL")
_COLORS = ("Black", "Navy", "Grey", "Red", "Camel", "Olive", "Cream")
CATEGORIES: tuple[Category, ...] = (
    Category("jackets", "Jackets", "Chaquetas", ("Parka", "Bomber Jacket", "Rain Jacket", "Puffer Jacket",
             "Denim Jacket", "Leather Jacket"), ("Chaqueta", "Cazadora", "Parka", "Abrigo", "Plumífero"),
             (59, 249), ("Size", _SIZES), 1.6),
    Category("hats", "Hats", "Gorros", ("Beanie", "Bucket Hat", "Cap", "Wool Hat"), ("Gorro", "Boina", "Gorra"),
             (12, 39), ("Color", _COLORS), 0.8),
    Category("gloves", "Gloves", "Guantes", ("Gloves", "Mittens", "Touchscreen Gloves"), ("Guantes", "Manoplas"),
             (14, 49), ("Size", ("S", "M", "L", "XL")), 0.6),
    Category("shoes", "Shoes", "Zapatos", ("Sneakers", "Boots", "Loafers", "Trail Runners", "Chelsea Boots"),
             ("Zapatillas", "Botas", "Mocasines", "Botines"), (45, 179),
             ("Size", ("38", "39", "40", "41", "42", "43", "44", "45")), 1.3),
    Category("scarves", "Scarves", "Bufandas", ("Scarf", "Snood", "Wrap"), ("Bufanda", "Pañuelo", "Fular"),
             (15, 59), ("Color", _COLORS), 0.6),
    Category("t-shirts", "T-Shirts", "Camisetas", ("T-Shirt", "Tee", "Long Sleeve Tee", "Polo"),
             ("Camiseta", "Polo"), (12, 35), ("Size", _SIZES), 1.4),
    Category("jeans", "Jeans", "Vaqueros", ("Slim Jeans", "Straight Jeans", "Relaxed Jeans", "Chinos"),
             ("Vaqueros", "Pantalón", "Chinos"), (39, 119), ("Waist", ("28", "30", "32", "34", "36", "38")), 1.2),
    Category("sweaters", "Sweaters", "Jerséis", ("Sweater", "Cardigan", "Hoodie", "Crewneck"),
             ("Jersey", "Sudadera", "Cárdigan"), (29, 99), ("Size", _SIZES), 1.0),
    Category("socks", "Socks", "Calcetines", ("Socks", "Hiking Socks", "Ankle Socks"),
             ("Calcetines", "Calcetines Térmicos"), (5, 16), ("Size", ("35-38", "39-42", "43-46")), 0.5),
    Category("belts", "Belts", "Cinturones", ("Belt", "Leather Belt", "Canvas Belt"), ("Cinturón",),
             (15, 49), ("Length", ("85", "90", "95", "100", "105")), 0.4),
)
CATEGORY_INDEX = {c.handle: k for k, c in enumerate(CATEGORIES)}
SALE_COLLECTION = len(CATEGORIES)

COMPANION_RULES: dict[str, tuple[tuple[str, float], ...]] = {
    "jackets": (("hats", 0.55), ("gloves", 0.45), ("scarves", 0.30)),
    "shoes": (("socks", 0.60),),
    "jeans": (("t-shirts", 0.50), ("belts", 0.30)),
    "sweaters": (("scarves", 0.35),),
}

_STYLES = ("Alpine", "Urban", "Coastal", "Nordic", "Sierra", "Andes", "Highland", "Metro", "Harbor", "Summit",
           "Cantábrico", "Pampa", "Atlas", "Riviera", "Tundra", "Dune", "Granite", "Willow", "Aurora", "Canyon")
_VENDORS = ("Northwind Apparel", "Sierra Outfitters", "Costa Textil", "Bruma & Co", "Andes Knitwear")
_COUNTRIES: tuple[tuple[str, str, float, str, tuple[tuple[str, str, str], ...]], ...] = (
    # code, language, weight, phone prefix, (city, province, province code)
    ("ES", "es", 0.35, "+346", (("Madrid", "Madrid", "M"), ("Barcelona", "Barcelona", "B"),
                                ("Valencia", "Valencia", "V"), ("Sevilla", "Sevilla", "SE"), ("Bilbao", "Bizkaia", "BI"))),
    ("MX", "es", 0.15, "+5255", (("Ciudad de México", "Ciudad de México", "DF"), ("Guadalajara", "Jalisco", "JAL"),
                                 ("Monterrey", "Nuevo León", "NL"))),
    ("AR", "es", 0.10, "+54911", (("Buenos Aires", "Buenos Aires", "B"), ("Córdoba", "Córdoba", "X"),
                                  ("Rosario", "Santa Fe", "S"))),
    ("US", "en", 0.15, "+1415", (("San Francisco", "California", "CA"), ("New York", "New York", "NY"),
                                 ("Austin", "Texas", "TX"))),
    ("GB", "en", 0.10, "+447", (("London", "England", "ENG"), ("Manchester", "England", "ENG"),
                                ("Edinburgh", "Scotland", "SCT"))),
    ("CO", "es", 0.05, "+57310", (("Bogotá", "Bogotá", "DC"), ("Medellín", "Antioquia", "ANT"))),
    ("CL", "es", 0.05, "+569", (("Santiago", "Santiago Metropolitan", "RM"), ("Valparaíso", "Valparaíso", "VS"))),
    ("FR", "fr", 0.05, "+336", (("Paris", "Île-de-France", "IDF"), ("Lyon", "Auvergne-Rhône-Alpes", "ARA"))),
)
_FIRST = {"es": ("Lucía", "Mateo", "Sofía", "Hugo", "Martina", "Pablo", "Valentina", "Diego", "Carmen", "Javier",
                 "Camila", "Santiago", "Elena", "Andrés", "Paula", "Tomás"),
          "en": ("Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Ava", "James", "Isla", "Harry", "Mia", "Jack"),
          "fr": ("Camille", "Louis", "Léa", "Gabriel", "Chloé", "Jules", "Manon", "Arthur")}
_LAST = {"es": ("García", "Fernández", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Díaz", "Romero",
                "Navarro", "Torres", "Ruiz", "Álvarez", "Castro", "Ortega", "Rubio"),
         "en": ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Evans", "Walker"),
         "fr": ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand")}
_DISCOUNT_CODES = ("WELCOME10", "SUMMER20", "VIP15", "BLACKFRIDAY25", "REBAJAS10")
_CANCEL_REASONS = ("CUSTOMER", "INVENTORY", "FRAUD", "DECLINED")
LOCATIONS = ((LOCATION_BASE + 1, "Almacén Central", "Calle de Alcalá 120", True),
             (LOCATION_BASE + 2, "Tienda Gran Vía", "Gran Vía 32", False))

CENT = Decimal("0.01")


def gid(kind: str, legacy_id: int | str) -> str:
    return f"gid://shopify/{kind}/{legacy_id}"


def iso(ts: float) -> str:
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "-".join("".join(ch if ch.isalnum() else " " for ch in ascii_text).split())


@dataclass
class OrderSpec:
    """What an order is made of; generated orders get theirs from the columns, created ones are stored."""

    index: int
    created: int
    customer: int  # -1: guest
    lines: list[tuple[int, int, int]]  # (product index, variant index, quantity)
    unit_prices: list[Decimal]
    source: str  # web | pos | marketplace:<app name> | shopify_draft_order | iphone
    discount_code: str | None
    updated: int
    cancelled: int | None = None
    cancel_reason: str | None = None
    refunds: list[dict[str, Any]] = field(default_factory=list)  # {"id", "created", "lines": [(line_no, qty)]}
    financial_status: str = "PAID"


class Store:
    """One shop's data. Thread-safe for readers; mutators take the store lock."""

    def __init__(self, domain: str, size: StoreSize | None = None, seed: int = 1, *, now: datetime | None = None,
                 currency: str = "EUR", name: str | None = None, timezone: str = "Europe/Madrid") -> None:
        self.domain = domain
        self.size = size or StoreSize()
        self.seed = seed
        self.currency = currency
        self.timezone = timezone
        self.name = name or domain.split(".")[0].replace("-", " ").title()
        now = now or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        self.now = int(now.timestamp())
        self.lock = threading.RLock()
        self.version = 0  # bumped on every mutation (cache key for sorted indexes)
        self._product_patch: dict[int, dict[str, Any]] = {}
        self._variant_patch: dict[int, dict[str, Any]] = {}
        self._stock_patch: dict[tuple[int, int], tuple[int, int]] = {}  # (variant, location k) -> (qty, updated)
        self._customer_patch: dict[int, dict[str, Any]] = {}
        self._order_patch: dict[int, OrderSpec] = {}
        self._extra_customers: dict[int, dict[str, Any]] = {}
        self._extra_orders = 0
        self.deleted_products: set[int] = set()
        self._ids = itertools.count(1)
        self._generate()

    # ----------------------------------------------------------------- generation (vectorised, seconds at 50k/200k)
    def _generate(self) -> None:
        rng = np.random.default_rng(self.seed)
        s = self.size
        n_p, n_c, n_o = s.products, s.customers, s.orders
        ncat = len(CATEGORIES)
        now = self.now
        # Products
        self.p_cat = (np.arange(n_p) % ncat).astype(np.int16)
        self.p_spanish = rng.random(n_p) < 0.3
        self.p_noun = rng.integers(0, 1 << 30, n_p)
        self.p_style = rng.integers(0, len(_STYLES), n_p)
        self.p_color = rng.integers(0, len(_COLORS), n_p)
        self.p_vendor = rng.integers(0, len(_VENDORS), n_p)
        lo = np.array([c.price[0] for c in CATEGORIES])[self.p_cat]
        hi = np.array([c.price[1] for c in CATEGORIES])[self.p_cat]
        self.p_price_cents = (np.floor(lo + rng.random(n_p) * (hi - lo)) * 100 + 95).astype(np.int64)
        self.p_on_sale = rng.random(n_p) < 0.2
        self.p_status = rng.choice(3, n_p, p=[0.95, 0.03, 0.02])  # ACTIVE, DRAFT, ARCHIVED
        self.p_created = (now - rng.integers(30 * DAY, 730 * DAY, n_p)).astype(np.int64)
        self.p_updated = self.p_created + ((now - self.p_created) * rng.random(n_p)).astype(np.int64)
        n_opts = np.array([len(c.options[1]) for c in CATEGORIES])[self.p_cat]
        vcount = 1 + rng.poisson(max(s.variants_per_product - 1, 0), n_p)
        self.p_vcount = np.minimum(vcount, n_opts).astype(np.int64)
        self.p_vstart = np.concatenate([[0], np.cumsum(self.p_vcount)[:-1]]).astype(np.int64)
        n_v = int(self.p_vcount.sum())
        self.n_variants = n_v
        self.v_product = np.repeat(np.arange(n_p), self.p_vcount)
        self.v_pos = np.arange(n_v) - self.p_vstart[self.v_product]
        out = rng.random(n_v) < 0.12
        self.v_stock = np.stack([rng.poisson(14, n_v), rng.poisson(5, n_v)], axis=1).astype(np.int64)
        self.v_stock[out] = 0
        self.v_updated = np.maximum(self.p_updated[self.v_product], self.p_created[self.v_product])
        # category members, for companions and popularity
        self.cat_members = [np.nonzero(self.p_cat == k)[0] for k in range(ncat)]
        # Customers
        weights = np.array([c[2] for c in _COUNTRIES])
        self.c_country = rng.choice(len(_COUNTRIES), n_c, p=weights / weights.sum())
        self.c_first = rng.integers(0, 1 << 30, n_c)
        self.c_last = rng.integers(0, 1 << 30, n_c)
        self.c_city = rng.integers(0, 1 << 30, n_c)
        self.c_phone = rng.integers(10_000_000, 99_999_999, n_c)
        self.c_marketing = rng.random(n_c) < 0.45
        self.c_tag = rng.choice(4, n_c, p=[0.8, 0.08, 0.1, 0.02])  # none, vip, newsletter, wholesale
        self.c_created = (now - rng.integers(1 * DAY, 730 * DAY, n_c)).astype(np.int64)
        # Orders: sorted times over 18 months with a growth trend
        span = 548 * DAY
        self.o_created = np.sort(now - (span * (1 - np.sqrt(rng.random(n_o))))).astype(np.int64) - 3600
        guest = rng.random(n_o) < 0.05
        cust = np.floor(n_c * rng.random(n_o) ** 1.7).astype(np.int64) if n_c else np.zeros(n_o, np.int64)
        self.o_customer = np.where(guest | (n_c == 0), -1, cust)
        has = self.o_customer >= 0
        # a customer exists before their first order
        np.minimum.at(self.c_created, self.o_customer[has], self.o_created[has] - 3 * 3600)
        self.c_updated = self.c_created + ((now - self.c_created) * rng.random(n_c) * 0.5).astype(np.int64)
        self.o_source = rng.choice(6, n_o, p=[0.84, 0.10, 0.03, 0.02, 0.01, 0.0])
        self.o_app = rng.integers(0, len(APP_IDS), n_o)
        self.o_discount = np.where(rng.random(n_o) < 0.15, rng.integers(0, len(_DISCOUNT_CODES), n_o), -1)
        fate = rng.random(n_o)
        self.o_fate = np.select([fate < 0.03, fate < 0.05, fate < 0.07], [1, 2, 3], 0)  # cancel, full refund, partial
        self.o_fate_delay = rng.integers(2 * 3600, 10 * DAY, n_o)
        self.o_updated = np.minimum(self.o_created + np.where(self.o_fate > 0, self.o_fate_delay,
                                                              rng.integers(60, 3 * 3600, n_o)), now - 60)
        self._generate_lines(rng)

    def _generate_lines(self, rng: np.random.Generator) -> None:
        s = self.size
        n_o = s.orders
        ncat = len(CATEGORIES)
        cat_w = np.array([c.weight for c in CATEGORIES])
        anchor_cat = rng.choice(ncat, n_o, p=cat_w / cat_w.sum())
        mean_companions = {k: sum(p for _, p in COMPANION_RULES.get(c.handle, ())) for k, c in enumerate(CATEGORIES)}
        avg_comp = float(sum(mean_companions[k] * w for k, w in enumerate(cat_w / cat_w.sum())))
        extra = rng.poisson(max(s.lines_per_order - 1 - avg_comp, 0), n_o)
        u = rng.random((n_o, 8))
        lines_p: list[int] = []
        offsets = np.zeros(n_o + 1, np.int64)
        rules = [[(CATEGORY_INDEX[h], p) for h, p in COMPANION_RULES.get(c.handle, ())] for c in CATEGORIES]
        members = [m.tolist() for m in self.cat_members]
        counts = [len(m) for m in members]
        n_p = s.products
        for o in range(n_o):
            ac = anchor_cat[o]
            if not counts[ac]:
                ac = o % ncat if counts[o % ncat] else 0
            if not counts[ac]:
                offsets[o + 1] = len(lines_p)
                continue
            rank = int(counts[ac] * u[o, 0] ** 2)  # skewed: low ranks are bestsellers
            anchor = members[ac][rank]
            chosen = [anchor]
            for j, (cc, p) in enumerate(rules[ac]):
                if counts[cc] and u[o, 1 + j] < p:
                    chosen.append(members[cc][rank % counts[cc]])
            for k in range(int(extra[o])):
                r = (u[o, 4 + k % 4] * 7919 * (k + 1)) % 1.0
                cand = int(n_p * r ** 2)
                if cand not in chosen:
                    chosen.append(cand)
            lines_p.extend(chosen)
            offsets[o + 1] = len(lines_p)
        self.o_offsets = offsets
        self.l_product = np.array(lines_p, dtype=np.int64)
        n_l = len(lines_p)
        vc = self.p_vcount[self.l_product] if n_l else np.zeros(0, np.int64)
        self.l_variant = self.p_vstart[self.l_product] + np.floor(rng.random(n_l) * vc).astype(np.int64)
        self.l_qty = rng.choice([1, 2, 3], n_l, p=[0.85, 0.12, 0.03])

    # ----------------------------------------------------------------- rules exposed to tests
    def companions(self, product: int) -> list[tuple[int, float]]:
        """The products bought with `product` as an anchor, with the probability of each (see module doc)."""
        cat = int(self.p_cat[product])
        rank = int(np.searchsorted(self.cat_members[cat], product))
        out = []
        for handle, p in COMPANION_RULES.get(CATEGORIES[cat].handle, ()):
            m = self.cat_members[CATEGORY_INDEX[handle]]
            if len(m):
                out.append((int(m[rank % len(m)]), p))
        return out

    # ----------------------------------------------------------------- counts and ids
    @property
    def product_count(self) -> int:
        return self.size.products

    @property
    def order_count(self) -> int:
        return self.size.orders + self._extra_orders

    @property
    def customer_count(self) -> int:
        return self.size.customers + len(self._extra_customers)

    def product_indexes(self) -> list[int]:
        return [i for i in range(self.size.products) if i not in self.deleted_products]

    def order_indexes(self) -> range:
        return range(self.order_count)

    def customer_indexes(self) -> range:
        return range(self.customer_count)

    # ----------------------------------------------------------------- product side
    def product_title(self, i: int) -> str:
        patch = self._product_patch.get(i)
        if patch and "title" in patch:
            return patch["title"]
        cat = CATEGORIES[int(self.p_cat[i])]
        style = _STYLES[int(self.p_style[i])]
        if self.p_spanish[i]:
            noun = cat.nouns_es[int(self.p_noun[i]) % len(cat.nouns_es)]
            return f"{noun} {style}"
        noun = cat.nouns_en[int(self.p_noun[i]) % len(cat.nouns_en)]
        return f"{style} {noun}"

    def variant_price(self, v: int) -> Decimal:
        patch = self._variant_patch.get(v)
        if patch and "price" in patch:
            return patch["price"]
        p = int(self.v_product[v])
        cents = int(self.p_price_cents[p])
        return Decimal(cents) / 100

    def variant_compare_at(self, v: int) -> Decimal | None:
        patch = self._variant_patch.get(v)
        if patch and "compare_at" in patch:
            return patch["compare_at"]
        p = int(self.v_product[v])
        if not self.p_on_sale[p]:
            return None
        return (Decimal(int(self.p_price_cents[p])) * Decimal("1.3") / 100).quantize(Decimal("1")) - Decimal("0.05")

    def stock(self, v: int, loc: int) -> tuple[int, int]:
        """(available, updated) for variant v at location index loc (0 or 1)."""
        hit = self._stock_patch.get((v, loc))
        if hit:
            return hit
        return int(self.v_stock[v, loc]), int(self.v_updated[v])

    def product_updated(self, i: int) -> int:
        patch = self._product_patch.get(i)
        return patch["updated"] if patch and "updated" in patch else int(self.p_updated[i])

    def product_collections(self, i: int) -> list[int]:
        cols = [int(self.p_cat[i])]
        if self.variant_compare_at(int(self.p_vstart[i])) is not None:
            cols.append(SALE_COLLECTION)
        return cols

    def location(self, k: int) -> dict[str, Any]:
        lid, name, address, online = LOCATIONS[k]
        return {"__typename": "Location", "id": gid("Location", lid), "legacyResourceId": str(lid), "name": name,
                "isActive": True, "fulfillsOnlineOrders": online, "shipsInventory": online,
                "address": {"address1": address, "city": "Madrid", "countryCode": "ES", "zip": "28013"},
                "createdAt": iso(self.now - 800 * DAY), "updatedAt": iso(self.now - 800 * DAY)}

    def inventory_level(self, v: int, loc: int) -> dict[str, Any]:
        qty, updated = self.stock(v, loc)
        item_id = INVENTORY_ITEM_BASE + v
        quantities = {"available": qty, "on_hand": qty, "committed": 0, "incoming": 0, "reserved": 0}

        def _quantities(names: list[str] | None = None, **_: Any) -> list[dict[str, Any]]:
            return [{"name": n, "quantity": quantities.get(n, 0), "id": f"{n}-{item_id}-{loc}",
                     "updatedAt": iso(updated)} for n in (names or ["available"])]

        return {"__typename": "InventoryLevel",
                "id": f"gid://shopify/InventoryLevel/{LOCATIONS[loc][0]}?inventory_item_id={item_id}",
                "location": self.location(loc), "quantities": _quantities, "available": qty,
                "createdAt": iso(self.now - 800 * DAY), "updatedAt": iso(updated),
                "canDeactivate": True, "item": lambda **_: self.inventory_item(v)}

    def inventory_item(self, v: int) -> dict[str, Any]:
        item_id = INVENTORY_ITEM_BASE + v
        levels = lambda **_: [self.inventory_level(v, k) for k in range(len(LOCATIONS))]  # noqa: E731
        return {"__typename": "InventoryItem", "id": gid("InventoryItem", item_id), "legacyResourceId": str(item_id),
                "sku": self._sku(v), "tracked": True, "requiresShipping": True,
                "createdAt": iso(self.p_created[int(self.v_product[v])]), "updatedAt": iso(self.stock(v, 0)[1]),
                "inventoryLevels": levels, "variant": lambda **_: self.variant(v),
                "inventoryLevel": lambda locationId=None, **_: next(
                    (self.inventory_level(v, k) for k, loc in enumerate(LOCATIONS) if gid("Location", loc[0]) ==
                     locationId), None)}

    def _sku(self, v: int) -> str:
        p = int(self.v_product[v])
        cat = CATEGORIES[int(self.p_cat[p])]
        return f"{cat.handle[:3].upper()}-{p + 1:06d}-{int(self.v_pos[v]) + 1}"

    def variant_option(self, v: int) -> tuple[str, str]:
        p = int(self.v_product[v])
        cat = CATEGORIES[int(self.p_cat[p])]
        name, values = cat.options
        return name, values[(int(self.v_pos[v]) + (int(self.p_color[p]) if name == "Color" else 0)) % len(values)]

    def variant(self, v: int) -> dict[str, Any]:
        p = int(self.v_product[v])
        vid = VARIANT_BASE + v
        opt_name, opt_value = self.variant_option(v)
        s0, s1 = self.stock(v, 0)[0], self.stock(v, 1)[0]
        cap = self.variant_compare_at(v)
        updated = max(int(self.v_updated[v]), self._variant_patch.get(v, {}).get("updated", 0),
                      self.stock(v, 0)[1], self.stock(v, 1)[1])
        return {"__typename": "ProductVariant", "id": gid("ProductVariant", vid), "legacyResourceId": str(vid),
                "title": opt_value, "displayName": f"{self.product_title(p)} - {opt_value}",
                "sku": self._sku(v), "barcode": str(8_400_000_000_000 + v), "position": int(self.v_pos[v]) + 1,
                "price": money(self.variant_price(v)), "compareAtPrice": money(cap) if cap is not None else None,
                "inventoryQuantity": s0 + s1, "availableForSale": (s0 + s1) > 0 and p not in self.deleted_products,
                "inventoryPolicy": "DENY", "taxable": True,
                "selectedOptions": [{"name": opt_name, "value": opt_value}],
                "createdAt": iso(self.p_created[p]), "updatedAt": iso(updated),
                "inventoryItem": lambda **_: self.inventory_item(v), "product": lambda **_: self.product(p)}

    def product(self, i: int) -> dict[str, Any]:
        pid = PRODUCT_BASE + i
        title = self.product_title(i)
        cat = CATEGORIES[int(self.p_cat[i])]
        vs, vc = int(self.p_vstart[i]), int(self.p_vcount[i])
        prices = [self.variant_price(v) for v in range(vs, vs + vc)]
        total = sum(self.stock(v, 0)[0] + self.stock(v, 1)[0] for v in range(vs, vs + vc))
        status = ("ACTIVE", "DRAFT", "ARCHIVED")[int(self.p_status[i])]
        patch = self._product_patch.get(i, {})
        status = patch.get("status", status)
        handle = f"{_slug(title)}-{i + 1}"
        tags = [cat.handle, _COLORS[int(self.p_color[i])].lower()] + (["sale"] if self.p_on_sale[i] else [])
        image = {"__typename": "Image", "id": gid("ProductImage", 30_000_000_000 + i),
                 "url": f"https://cdn.shopify.com/s/files/1/0000/0001/products/{handle}.jpg",
                 "altText": title, "width": 1200, "height": 1500}
        return {
            "__typename": "Product", "id": gid("Product", pid), "legacyResourceId": str(pid), "title": title,
            "handle": handle, "vendor": _VENDORS[int(self.p_vendor[i])], "productType": cat.title_en,
            "status": status, "tags": tags, "descriptionHtml": f"<p>{title}: {cat.title_es} / {cat.title_en}.</p>",
            "description": f"{title}: {cat.title_es} / {cat.title_en}.",
            "onlineStoreUrl": f"https://{self.domain}/products/{handle}" if status == "ACTIVE" else None,
            "createdAt": iso(self.p_created[i]), "publishedAt": iso(self.p_created[i]) if status == "ACTIVE" else None,
            "updatedAt": iso(self.product_updated(i)), "totalInventory": total,
            "tracksInventory": True, "hasOnlyDefaultVariant": False, "hasOutOfStockVariants": total == 0,
            "featuredImage": image, "featuredMedia": {"__typename": "MediaImage", "id": gid("MediaImage", 31_000_000_000 + i),
                                                      "image": image, "alt": title, "mediaContentType": "IMAGE"},
            "images": lambda **_: [image],
            "media": lambda **_: [{"__typename": "MediaImage", "id": gid("MediaImage", 31_000_000_000 + i),
                                   "image": image, "alt": title, "mediaContentType": "IMAGE"}],
            "priceRangeV2": {"minVariantPrice": {"amount": money(min(prices)), "currencyCode": self.currency},
                             "maxVariantPrice": {"amount": money(max(prices)), "currencyCode": self.currency}},
            "options": lambda **_: [{"name": cat.options[0], "values": [self.variant_option(v)[1]
                                                                       for v in range(vs, vs + vc)]}],
            "variants": lambda **_: [self.variant(v) for v in range(vs, vs + vc)],
            "variantsCount": {"count": vc, "precision": "EXACT"},
            "collections": lambda **_: [self.collection(c) for c in self.product_collections(i)],
        }

    def collection(self, k: int) -> dict[str, Any]:
        cid = COLLECTION_BASE + k
        if k == SALE_COLLECTION:
            title, handle = "Rebajas / Sale", "sale"
        else:
            title, handle = CATEGORIES[k].title_es if k % 3 == 0 else CATEGORIES[k].title_en, CATEGORIES[k].handle

        def products(**_: Any) -> list[dict[str, Any]]:
            return [self.product(i) for i in self.collection_product_indexes(k)]

        return {"__typename": "Collection", "id": gid("Collection", cid), "legacyResourceId": str(cid),
                "title": title, "handle": handle, "updatedAt": iso(self.now - 400 * DAY), "sortOrder": "BEST_SELLING",
                "description": title, "descriptionHtml": f"<p>{title}</p>", "products": products,
                "productsCount": {"count": len(self.collection_product_indexes(k)), "precision": "EXACT"}}

    def collection_product_indexes(self, k: int) -> list[int]:
        if k == SALE_COLLECTION:
            idx = np.nonzero(self.p_on_sale)[0].tolist()
            idx = [i for i in idx if self.variant_compare_at(int(self.p_vstart[i])) is not None]
        else:
            idx = self.cat_members[k].tolist()
        return [i for i in idx if i not in self.deleted_products]

    @property
    def collection_count(self) -> int:
        return len(CATEGORIES) + 1

    # ----------------------------------------------------------------- customers
    def _customer_base(self, c: int) -> dict[str, Any]:
        code, lang, _, prefix, cities = _COUNTRIES[int(self.c_country[c])]
        first = _FIRST[lang][int(self.c_first[c]) % len(_FIRST[lang])]
        last = _LAST[lang][int(self.c_last[c]) % len(_LAST[lang])]
        city, province, province_code = cities[int(self.c_city[c]) % len(cities)]
        email = f"{_slug(first)}.{_slug(last)}.{c + 1}@example.com"
        phone = f"{prefix}{int(self.c_phone[c]):08d}"[:13]
        tags = [[], ["vip"], ["newsletter"], ["wholesale"]][int(self.c_tag[c])]
        return {"first": first, "last": last, "email": email, "phone": phone, "country": code, "city": city,
                "province": province, "province_code": province_code, "marketing": bool(self.c_marketing[c]),
                "tags": tags, "created": int(self.c_created[c]), "updated": int(self.c_updated[c]),
                "locale": {"es": "es", "en": "en", "fr": "fr"}[lang]}

    def customer_fields(self, c: int) -> dict[str, Any]:
        base = self._extra_customers.get(c) or self._customer_base(c)
        patch = self._customer_patch.get(c)
        return {**base, **patch} if patch else base

    def customer(self, c: int) -> dict[str, Any]:
        f = self.customer_fields(c)
        cid = CUSTOMER_BASE + c
        address = None
        if not f.get("redacted"):
            address = {"__typename": "MailingAddress", "id": gid("MailingAddress", 20_000_000_000 + c),
                       "firstName": f["first"], "lastName": f["last"], "name": f"{f['first']} {f['last']}",
                       "address1": f"Calle {c % 90 + 1}", "city": f["city"], "province": f["province"],
                       "provinceCode": f["province_code"], "country": f["country"], "countryCodeV2": f["country"],
                       "zip": f"{10000 + c % 89999}", "phone": f["phone"]}
        state = "SUBSCRIBED" if f["marketing"] else "NOT_SUBSCRIBED"
        consent = {"marketingState": state, "marketingOptInLevel": "SINGLE_OPT_IN" if f["marketing"] else None,
                   "consentUpdatedAt": iso(f["created"])}
        return {"__typename": "Customer", "id": gid("Customer", cid), "legacyResourceId": str(cid),
                "firstName": f["first"], "lastName": f["last"], "displayName": f"{f['first']} {f['last']}".strip(),
                "email": f["email"], "phone": f["phone"], "locale": f["locale"], "tags": f["tags"],
                "verifiedEmail": True, "state": "ENABLED", "taxExempt": False, "note": None,
                "defaultEmailAddress": {"emailAddress": f["email"], "marketingState": state} if f["email"] else None,
                "defaultPhoneNumber": {"phoneNumber": f["phone"], "marketingState": "NOT_SUBSCRIBED"}
                if f["phone"] else None,
                "emailMarketingConsent": consent, "acceptsMarketing": f["marketing"],
                "defaultAddress": address, "addresses": lambda **_: [address] if address else [],
                "createdAt": iso(f["created"]), "updatedAt": iso(f["updated"]),
                "numberOfOrders": "0", "amountSpent": {"amount": "0.00", "currencyCode": self.currency}}

    def customer_updated(self, c: int) -> int:
        return self.customer_fields(c)["updated"]

    # ----------------------------------------------------------------- orders
    def order_spec(self, o: int) -> OrderSpec:
        hit = self._order_patch.get(o)
        if hit is not None:
            return hit
        a, b = int(self.o_offsets[o]), int(self.o_offsets[o + 1])
        lines = [(int(self.l_product[k]), int(self.l_variant[k]), int(self.l_qty[k])) for k in range(a, b)]
        prices = [Decimal(int(self.p_price_cents[p])) / 100 for p, _, _ in lines]
        src = int(self.o_source[o])
        source = ("web", "pos", "marketplace", "shopify_draft_order", "iphone", "web")[src]
        if source == "marketplace":
            source = "marketplace:" + list(APP_IDS)[int(self.o_app[o])]
        dc = int(self.o_discount[o])
        created, updated = int(self.o_created[o]), int(self.o_updated[o])
        fate = int(self.o_fate[o])
        spec = OrderSpec(o, created, int(self.o_customer[o]), lines, prices, source,
                         _DISCOUNT_CODES[dc] if dc >= 0 else None, updated)
        when = created + int(self.o_fate_delay[o])
        if fate == 1:
            spec.cancelled, spec.cancel_reason = when, _CANCEL_REASONS[o % len(_CANCEL_REASONS)]
            spec.financial_status = "REFUNDED" if o % 2 else "VOIDED"
            if spec.financial_status == "REFUNDED":
                spec.refunds = [{"id": REFUND_BASE + o * 4, "created": when,
                                 "lines": [(n, q) for n, (_, _, q) in enumerate(lines)]}]
        elif fate == 2:
            spec.financial_status = "REFUNDED"
            spec.refunds = [{"id": REFUND_BASE + o * 4, "created": when,
                             "lines": [(n, q) for n, (_, _, q) in enumerate(lines)]}]
        elif fate == 3 and lines:
            spec.financial_status = "PARTIALLY_REFUNDED" if len(lines) > 1 or lines[0][2] > 1 else "REFUNDED"
            spec.refunds = [{"id": REFUND_BASE + o * 4, "created": when, "lines": [(len(lines) - 1, 1)]}]
        elif source == "shopify_draft_order" and o % 3 == 0:
            spec.financial_status = "PENDING"
        return spec

    def order_updated(self, o: int) -> int:
        hit = self._order_patch.get(o)
        return hit.updated if hit is not None else int(self.o_updated[o])

    def order_totals(self, spec: OrderSpec) -> dict[str, Decimal]:
        subtotal = sum((price * qty for price, (_, _, qty) in zip(spec.unit_prices, spec.lines, strict=True)),
                       Decimal(0))
        pct = Decimal(int("".join(ch for ch in spec.discount_code if ch.isdigit()))) if spec.discount_code else 0
        discount = (subtotal * pct / 100).quantize(CENT) if pct else Decimal(0)
        shipping = Decimal("4.95") if spec.source.startswith("web") and subtotal - discount < 50 else Decimal(0)
        total = subtotal - discount + shipping
        refunded = Decimal(0)
        for r in spec.refunds:
            for n, q in r["lines"]:
                refunded += spec.unit_prices[n] * q
        refunded = min(refunded * (1 - Decimal(pct) / 100) if pct else refunded, total).quantize(CENT)
        tax = (total * Decimal(21) / Decimal(121)).quantize(CENT)
        return {"subtotal": subtotal - discount, "discount": discount, "shipping": shipping, "total": total,
                "tax": tax, "refunded": refunded, "current": total - refunded}

    def _bag(self, amount: Decimal) -> dict[str, Any]:
        m = {"amount": money(amount), "currencyCode": self.currency}
        return {"shopMoney": m, "presentmentMoney": m}

    def line_item(self, spec: OrderSpec, n: int) -> dict[str, Any]:
        p, v, qty = spec.lines[n]
        price = spec.unit_prices[n]
        line_id = LINE_ITEM_BASE + (int(self.o_offsets[spec.index]) + n if spec.index < self.size.orders
                                    else 10_000_000_000 + spec.index * 100 + n)
        refunded = sum(q for r in spec.refunds for k, q in r["lines"] if k == n)
        opt = self.variant_option(v)[1]
        title = self.product_title(p)
        deleted = p in self.deleted_products
        return {"__typename": "LineItem", "id": gid("LineItem", line_id), "title": title, "name": f"{title} - {opt}",
                "variantTitle": opt, "sku": self._sku(v), "vendor": _VENDORS[int(self.p_vendor[p])],
                "quantity": qty, "currentQuantity": qty - refunded, "refundableQuantity": qty - refunded,
                "originalUnitPriceSet": self._bag(price), "discountedUnitPriceSet": self._bag(price),
                "originalTotalSet": self._bag(price * qty), "discountedTotalSet": self._bag(price * qty),
                "totalDiscountSet": self._bag(Decimal(0)), "requiresShipping": True, "taxable": True,
                "isGiftCard": False,
                "product": None if deleted else lambda **_: self.product(p),
                "variant": None if deleted else lambda **_: self.variant(v)}

    def order(self, o: int) -> dict[str, Any]:
        spec = self.order_spec(o)
        oid = ORDER_BASE + o
        t = self.order_totals(spec)
        source = spec.source
        app = None
        source_name = source
        if source.startswith("marketplace:"):
            app_name = source.split(":", 1)[1]
            source_name = str(APP_IDS[app_name])
            app = {"id": gid("App", APP_IDS[app_name]), "name": app_name}
        elif source == "pos":
            app = {"id": gid("App", 129785), "name": "Point of Sale"}
        elif source in ("web", "iphone"):
            app = {"id": gid("App", 580111), "name": "Online Store"}
        elif source == "shopify_draft_order":
            app = {"id": gid("App", 1354745), "name": "Draft Orders"}
        customer = None
        email = phone = None
        address = None
        if spec.customer >= 0:
            cf = self.customer_fields(spec.customer)
            customer = lambda **_: self.customer(spec.customer)  # noqa: E731
            if not cf.get("redacted"):
                email, phone = cf["email"], cf["phone"]
                address = {"firstName": cf["first"], "lastName": cf["last"], "name": f"{cf['first']} {cf['last']}",
                           "city": cf["city"], "province": cf["province"], "provinceCode": cf["province_code"],
                           "country": cf["country"], "countryCodeV2": cf["country"], "zip": "28013",
                           "address1": f"Calle {spec.customer % 90 + 1}", "phone": cf["phone"]}
        refunds = [{"__typename": "Refund", "id": gid("Refund", r["id"]), "legacyResourceId": str(r["id"]),
                    "createdAt": iso(r["created"]), "updatedAt": iso(r["created"]), "note": None,
                    "totalRefundedSet": self._bag(sum((spec.unit_prices[n] * q for n, q in r["lines"]), Decimal(0))),
                    "refundLineItems": [{"quantity": q, "restockType": "RETURN", "restocked": True,
                                         "lineItem": self.line_item(spec, n),
                                         "subtotalSet": self._bag(spec.unit_prices[n] * q),
                                         "priceSet": self._bag(spec.unit_prices[n])} for n, q in r["lines"]]}
                   for r in spec.refunds]
        pos = source == "pos"
        return {
            "__typename": "Order", "id": gid("Order", oid), "legacyResourceId": str(oid),
            "name": f"#{1001 + o}", "email": email, "phone": phone, "createdAt": iso(spec.created),
            "processedAt": iso(spec.created), "updatedAt": iso(spec.updated),
            "cancelledAt": iso(spec.cancelled) if spec.cancelled else None, "cancelReason": spec.cancel_reason,
            "closed": spec.cancelled is not None, "closedAt": iso(spec.cancelled) if spec.cancelled else None,
            "confirmed": True, "test": False, "currencyCode": self.currency, "presentmentCurrencyCode": self.currency,
            "sourceName": source_name, "sourceIdentifier": f"{oid}" if not pos else f"pos-{oid}", "app": app,
            "channelInformation": {"channelDefinition": {"handle": source_name}} if app else None,
            "retailLocation": self.location(1) if pos else None,
            "physicalLocation": self.location(1) if pos else None,
            "displayFinancialStatus": spec.financial_status,
            "displayFulfillmentStatus": "FULFILLED" if spec.cancelled is None else "UNFULFILLED",
            "discountCode": spec.discount_code, "discountCodes": [spec.discount_code] if spec.discount_code else [],
            "customer": customer, "customerLocale": "es", "customerAcceptsMarketing": False,
            "shippingAddress": None if pos else address, "billingAddress": address,
            "tags": ["pos"] if pos else [], "taxesIncluded": True, "note": None,
            "subtotalPriceSet": self._bag(t["subtotal"]), "currentSubtotalPriceSet": self._bag(t["subtotal"]),
            "totalDiscountsSet": self._bag(t["discount"]), "currentTotalDiscountsSet": self._bag(t["discount"]),
            "totalShippingPriceSet": self._bag(t["shipping"]), "currentShippingPriceSet": self._bag(t["shipping"]),
            "totalTaxSet": self._bag(t["tax"]), "currentTotalTaxSet": self._bag(t["tax"]),
            "totalPriceSet": self._bag(t["total"]), "originalTotalPriceSet": self._bag(t["total"]),
            "currentTotalPriceSet": self._bag(t["current"]), "totalRefundedSet": self._bag(t["refunded"]),
            "subtotalLineItemsQuantity": sum(q for _, _, q in spec.lines),
            "lineItems": lambda **_: [self.line_item(spec, n) for n in range(len(spec.lines))],
            "refunds": lambda **_: refunds,
        }

    # ----------------------------------------------------------------- mutations (callers fire the webhooks)
    def _bump(self) -> int:
        self.version += 1
        return max(self.now, int(datetime.now(UTC).timestamp())) + self.version  # strictly increasing

    def set_variant_price(self, v: int, price: Decimal, compare_at: Decimal | None | bool = False) -> None:
        with self.lock:
            t = self._bump()
            patch = self._variant_patch.setdefault(v, {})
            patch["price"] = Decimal(price)
            if compare_at is not False:
                patch["compare_at"] = None if compare_at is None else Decimal(compare_at)
            patch["updated"] = t
            self._product_patch.setdefault(int(self.v_product[v]), {})["updated"] = t

    def set_stock(self, v: int, loc: int, available: int) -> None:
        with self.lock:
            t = self._bump()
            self._stock_patch[(v, loc)] = (int(available), t)

    def update_product(self, i: int, **fields: Any) -> None:
        with self.lock:
            t = self._bump()
            patch = self._product_patch.setdefault(i, {})
            patch.update(fields)
            patch["updated"] = t

    def delete_product(self, i: int) -> None:
        with self.lock:
            self._bump()
            self.deleted_products.add(i)

    def add_customer(self, **fields: Any) -> int:
        with self.lock:
            t = self._bump()
            c = self.customer_count
            lang = fields.pop("locale", "es")
            base = {"first": "Nuevo", "last": "Cliente", "email": f"new.customer.{c + 1}@example.com",
                    "phone": f"+3460000{c % 10000:04d}", "country": "ES", "city": "Madrid", "province": "Madrid",
                    "province_code": "M", "marketing": False, "tags": [], "created": t, "updated": t, "locale": lang}
            base.update(fields)
            self._extra_customers[c] = base
            return c

    def update_customer(self, c: int, **fields: Any) -> None:
        with self.lock:
            t = self._bump()
            patch = self._customer_patch.setdefault(c, {})
            patch.update(fields)
            patch["updated"] = t

    def add_order(self, lines: list[tuple[int, int]], customer: int = -1, source: str = "web",
                  discount_code: str | None = None, created: int | None = None) -> int:
        """lines: (variant index, quantity). Decrements stock at the first location (POS: the shop)."""
        with self.lock:
            t = self._bump()
            o = self.order_count
            spec_lines = [(int(self.v_product[v]), v, q) for v, q in lines]
            spec = OrderSpec(o, created or t, customer, spec_lines, [self.variant_price(v) for v, _ in lines],
                             source, discount_code, t)
            self._order_patch[o] = spec
            self._extra_orders += 1
            loc = 1 if source == "pos" else 0
            for v, q in lines:
                qty, _ = self.stock(v, loc)
                self._stock_patch[(v, loc)] = (max(qty - q, 0), t)
            return o

    def cancel_order(self, o: int, reason: str = "CUSTOMER") -> None:
        with self.lock:
            t = self._bump()
            spec = self.order_spec(o)
            spec.cancelled, spec.cancel_reason, spec.updated = t, reason, t
            spec.financial_status = "VOIDED" if not spec.refunds else spec.financial_status
            self._order_patch[o] = spec

    def refund_order(self, o: int, lines: list[tuple[int, int]] | None = None) -> dict[str, Any]:
        """lines: (line number, quantity); None refunds everything still refundable."""
        with self.lock:
            t = self._bump()
            spec = self.order_spec(o)
            done = {}
            for r in spec.refunds:
                for n, q in r["lines"]:
                    done[n] = done.get(n, 0) + q
            if lines is None:
                lines = [(n, q - done.get(n, 0)) for n, (_, _, q) in enumerate(spec.lines) if q - done.get(n, 0) > 0]
            refund = {"id": REFUND_BASE + o * 4 + 1 + len(spec.refunds), "created": t, "lines": lines}
            spec.refunds = [*spec.refunds, refund]
            for n, q in lines:
                done[n] = done.get(n, 0) + q
            full = all(done.get(n, 0) >= q for n, (_, _, q) in enumerate(spec.lines))
            spec.financial_status = "REFUNDED" if full else "PARTIALLY_REFUNDED"
            spec.updated = t
            self._order_patch[o] = spec
            return refund

    # ----------------------------------------------------------------- sorted access for connections
    def updated_column(self, kind: str) -> np.ndarray:
        """updated_at per index (epoch seconds), overlays applied."""
        with self.lock:
            if kind == "products":
                col = self.p_updated.copy()
                for i, patch in self._product_patch.items():
                    col[i] = patch.get("updated", col[i])
                for (v, _), (_, t) in self._stock_patch.items():
                    p = int(self.v_product[v])
                    col[p] = max(col[p], t)
                return col
            if kind == "customers":
                col = np.concatenate([self.c_updated, np.array([c["updated"] for c in
                                                                self._extra_customers.values()], np.int64)])
                for c, patch in self._customer_patch.items():
                    col[c] = patch.get("updated", col[c])
                return col
            col = np.concatenate([self.o_updated, np.zeros(self.order_count - self.size.orders, np.int64)])
            for o, spec in self._order_patch.items():
                col[o] = spec.updated
            return col

    def created_column(self, kind: str) -> np.ndarray:
        with self.lock:
            if kind == "products":
                return self.p_created
            if kind == "customers":
                return np.concatenate([self.c_created, np.array([c["created"] for c in
                                                                 self._extra_customers.values()], np.int64)])
            return np.concatenate([self.o_created, np.array([self._order_patch[o].created for o in
                                                             range(self.size.orders, self.order_count)], np.int64)])

    def get(self, kind: str, i: int) -> dict[str, Any]:
        return {"products": self.product, "customers": self.customer, "orders": self.order}[kind](i)

    def count(self, kind: str) -> int:
        return {"products": self.product_count, "customers": self.customer_count, "orders": self.order_count}[kind]

    def valid_index(self, kind: str, i: int) -> bool:
        if kind == "products":
            return 0 <= i < self.product_count and i not in self.deleted_products
        return 0 <= i < self.count(kind)

    def shop(self) -> dict[str, Any]:
        return {"__typename": "Shop", "id": gid("Shop", 60_000_000 + self.seed), "name": self.name,
                "email": f"owner@{self.domain}", "contactEmail": f"hola@{self.domain}",
                "myshopifyDomain": self.domain, "currencyCode": self.currency, "ianaTimezone": self.timezone,
                "timezoneAbbreviation": "CET", "primaryDomain": {"id": gid("Domain", 1), "host": self.domain,
                                                                  "url": f"https://{self.domain}", "sslEnabled": True},
                "url": f"https://{self.domain}", "plan": {"displayName": "Shopify", "partnerDevelopment": True,
                                                          "shopifyPlus": False},
                "enabledPresentmentCurrencies": [self.currency], "taxesIncluded": True, "weightUnit": "KILOGRAMS",
                "createdAt": iso(self.now - 800 * DAY), "updatedAt": iso(self.now - 10 * DAY),
                "billingAddress": {"country": "Spain", "countryCodeV2": "ES", "city": "Madrid"},
                "shopOwnerName": "Ana Demo", "description": "Ropa y accesorios / apparel and accessories"}

    def index_from_gid(self, value: str) -> tuple[str, int] | None:
        """Map a GID back to (kind, index) for node()/productVariant() lookups."""
        try:
            _, _, _, kind, rest = value.split("/", 4)
            legacy = int(rest.split("?")[0])
        except ValueError:
            return None
        bases = {"Product": PRODUCT_BASE, "ProductVariant": VARIANT_BASE, "InventoryItem": INVENTORY_ITEM_BASE,
                 "Customer": CUSTOMER_BASE, "Order": ORDER_BASE, "Collection": COLLECTION_BASE,
                 "Location": LOCATION_BASE + 1}
        base = bases.get(kind)
        if base is None:
            return None
        return kind, legacy - base

    def product_index(self, product_gid: str) -> int:
        hit = self.index_from_gid(product_gid)
        if not hit or hit[0] != "Product":
            raise KeyError(product_gid)
        return hit[1]
