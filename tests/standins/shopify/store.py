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
probability, so a test can assert "bought together" products. Extra lines (up to 4), uniformly random products
(noise), fill orders up to the size's mean lines per order. Anchor popularity within a category is skewed (rank
r is picked with density ~ 1/sqrt(r)), so bestsellers exist.

Orders: spread over the last 18 months before `now` (sorted by time, so order numbers grow with time); ~84% web,
~10% POS (sourceName "pos", location = the shop), ~3% marketplace (an app such as "Facebook & Instagram"),
~2% draft (sourceName "shopify_draft_order"), ~1% Shopify mobile ("iphone"); ~3% cancelled, ~4% refunded
(half full, half partial); ~15% carry a discount code; ~5% are guest orders without a customer.
Customers: countries ES, MX, AR, US, GB, CO, CL, FR with names in the country's language.
"""
from __future__ import annotations

import functools
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
                                ("Valencia", "Valencia", "V"), ("Sevilla", "Sevilla", "SE"),
                                ("Bilbao", "Bizkaia", "BI"))),
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

_APP_NAMES = tuple(APP_IDS)


def gid(kind: str, legacy_id: int | str) -> str:
    return f"gid://shopify/{kind}/{legacy_id}"


@functools.lru_cache(maxsize=4096)
def _day(days: int) -> str:
    return datetime.fromtimestamp(days * DAY, UTC).strftime("%Y-%m-%dT")


def iso(ts: float) -> str:
    """Epoch seconds -> '2025-01-31T12:00:00Z' (hot path of bulk output: the date part is cached)."""
    t = int(ts)
    days, sec = divmod(t, DAY)
    return f"{_day(days)}{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}Z"


def cents_str(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(int(cents))
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def to_cents(value: Decimal | str | int | float) -> int:
    return int((Decimal(str(value)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "-".join("".join(ch if ch.isalnum() else " " for ch in ascii_text).split())


class Node(dict):
    """A GraphQL object computed field by field on access (only what a query selects is ever built).

    Behaves as a read-only mapping: `node["title"]`, `node.get("id")`, `dict(node.items())`. Fields with
    arguments or connections hold callables taking the field's arguments (e.g. `node["variants"]()`).
    """

    __slots__ = ("_getters", "key", "_ctx", "_make_ctx")

    def __init__(self, getters: dict[str, Any], key: Any, make_ctx: Any = None) -> None:  # noqa: D107
        # dict.__new__ already made the (always empty) underlying dict: no super().__init__() on this hot path.
        self._getters, self.key, self._ctx, self._make_ctx = getters, key, None, make_ctx

    @property
    def ctx(self) -> Any:
        if self._ctx is None:
            self._ctx = self._make_ctx(self.key)
        return self._ctx

    def __getitem__(self, name: str) -> Any:
        return self._getters[name](self)

    def get(self, name: str, default: Any = None) -> Any:
        getter = self._getters.get(name)
        return default if getter is None else getter(self)

    def __contains__(self, name: object) -> bool:
        return name in self._getters

    def __iter__(self) -> Any:
        return iter(self._getters)

    def __len__(self) -> int:
        return len(self._getters)

    def keys(self) -> Any:
        return self._getters.keys()

    def items(self) -> Any:
        return [(k, self[k]) for k in self._getters]

    def values(self) -> Any:
        return [self[k] for k in self._getters]

    def __repr__(self) -> str:
        return f"<{self._getters['__typename'](self)} node {self.key!r}>"

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__


@dataclass
class OrderSpec:
    """What an order is made of; generated orders get theirs from the columns, created ones are stored."""

    index: int
    created: int
    customer: int  # -1: guest
    lines: list[tuple[int, int, int]]  # (product index, variant index, quantity)
    unit_prices: list[int]  # cents
    source: str  # web | pos | marketplace:<app name> | shopify_draft_order | iphone
    discount_code: str | None
    updated: int
    cancelled: int | None = None
    cancel_reason: str | None = None
    refunds: list[dict[str, Any]] = field(default_factory=list)  # {"id", "created", "lines": [(line_no, qty)]}
    financial_status: str = "PAID"
    first_line: int = -1  # index of the first generated line (line item ids); -1 for created orders
    totals: dict[str, int] | None = None


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
        self.version = 0  # bumped on every mutation
        # Where product pictures live: Shopify's CDN by default; the demo points it at the stand-in's own server.
        self.image_base = "https://cdn.shopify.com/s/files/1/0000/0001/products"
        self._last_change = 0
        self._product_patch: dict[int, dict[str, Any]] = {}
        self._variant_patch: dict[int, dict[str, Any]] = {}
        self._stock_patch: dict[tuple[int, int], tuple[int, int]] = {}  # (variant, location k) -> (qty, updated)
        self._customer_patch: dict[int, dict[str, Any]] = {}
        self._order_patch: dict[int, OrderSpec] = {}
        self._extra_customers: dict[int, dict[str, Any]] = {}
        self._extra_orders = 0
        self._titles: dict[int, str] = {}
        self.deleted_products: set[int] = set()
        self._generate()
        self._build_product_getters()
        self._build_customer_getters()
        self._build_order_getters()

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
        u = rng.random((n_o, 4))
        noise = rng.integers(0, max(s.products, 1), (n_o, 4))  # extra lines: uniformly random products
        lines_p: list[int] = []
        offsets = np.zeros(n_o + 1, np.int64)
        rules = [[(CATEGORY_INDEX[h], p) for h, p in COMPANION_RULES.get(c.handle, ())] for c in CATEGORIES]
        members = [m.tolist() for m in self.cat_members]
        counts = [len(m) for m in members]
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
            for k in range(min(int(extra[o]), 4)):
                cand = int(noise[o, k])
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
    def live_product_count(self) -> int:
        """Products that exist now (product_count minus deleted ones)."""
        return self.size.products - len(self.deleted_products)

    @property
    def line_count(self) -> int:
        """Line items over all orders, created ones included."""
        extra = sum(len(self._order_patch[o].lines) for o in range(self.size.orders, self.order_count))
        return len(self.l_product) + extra

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
        title = self._titles.get(i)  # every order line repeats its product's title: build each once
        if title is None:
            cat = CATEGORIES[int(self.p_cat[i])]
            style = _STYLES[int(self.p_style[i])]
            if self.p_spanish[i]:
                title = f"{cat.nouns_es[int(self.p_noun[i]) % len(cat.nouns_es)]} {style}"
            else:
                title = f"{style} {cat.nouns_en[int(self.p_noun[i]) % len(cat.nouns_en)]}"
            self._titles[i] = title
        return title

    def product_handle(self, i: int) -> str:
        return f"{_slug(self.product_title(i))}-{i + 1}"

    def product_status(self, i: int) -> str:
        patch = self._product_patch.get(i)
        if patch and "status" in patch:
            return patch["status"]
        return ("ACTIVE", "DRAFT", "ARCHIVED")[int(self.p_status[i])]

    def variant_range(self, i: int) -> range:
        start = int(self.p_vstart[i])
        return range(start, start + int(self.p_vcount[i]))

    def variant_price_cents(self, v: int) -> int:
        patch = self._variant_patch.get(v)
        if patch and "price" in patch:
            return patch["price"]
        return int(self.p_price_cents[int(self.v_product[v])])

    def variant_compare_at_cents(self, v: int) -> int | None:
        patch = self._variant_patch.get(v)
        if patch and "compare_at" in patch:
            return patch["compare_at"]
        p = int(self.v_product[v])
        if not self.p_on_sale[p]:
            return None
        return int(self.p_price_cents[p]) * 13 // 1000 * 100 + 95

    def variant_price(self, v: int) -> Decimal:
        return Decimal(self.variant_price_cents(v)) / 100

    def variant_compare_at(self, v: int) -> Decimal | None:
        cents = self.variant_compare_at_cents(v)
        return None if cents is None else Decimal(cents) / 100

    def stock(self, v: int, loc: int) -> tuple[int, int]:
        """(available, updated) for variant v at location index loc (0 or 1)."""
        hit = self._stock_patch.get((v, loc))
        if hit:
            return hit
        return int(self.v_stock[v, loc]), int(self.v_updated[v])

    def variant_updated(self, v: int) -> int:
        t = int(self.v_updated[v])
        patch = self._variant_patch.get(v)
        if patch:
            t = max(t, patch.get("updated", 0))
        if self._stock_patch:
            t = max(t, self.stock(v, 0)[1], self.stock(v, 1)[1])
        return t

    def product_updated(self, i: int) -> int:
        patch = self._product_patch.get(i)
        return patch["updated"] if patch and "updated" in patch else int(self.p_updated[i])

    def product_collections(self, i: int) -> list[int]:
        cols = [int(self.p_cat[i])]
        if self.variant_compare_at_cents(int(self.p_vstart[i])) is not None:
            cols.append(SALE_COLLECTION)
        return cols

    def _sku(self, v: int) -> str:
        p = int(self.v_product[v])
        return f"{CATEGORIES[int(self.p_cat[p])].handle[:3].upper()}-{p + 1:06d}-{int(self.v_pos[v]) + 1}"

    def variant_option(self, v: int) -> tuple[str, str]:
        p = int(self.v_product[v])
        name, values = CATEGORIES[int(self.p_cat[p])].options
        return name, values[(int(self.v_pos[v]) + (int(self.p_color[p]) if name == "Color" else 0)) % len(values)]

    def product_image(self, i: int) -> dict[str, Any]:
        return {"__typename": "Image", "id": gid("ProductImage", 30_000_000_000 + i),
                "url": f"{self.image_base}/{self.product_handle(i)}.jpg",
                "altText": self.product_title(i), "width": 1200, "height": 1500}

    def _media(self, i: int) -> dict[str, Any]:
        return {"__typename": "MediaImage", "id": gid("MediaImage", 31_000_000_000 + i), "image": self.product_image(i),
                "alt": self.product_title(i), "mediaContentType": "IMAGE", "status": "READY"}

    def location(self, k: int) -> dict[str, Any]:
        lid, name, address, online = LOCATIONS[k]
        return {"__typename": "Location", "id": gid("Location", lid), "legacyResourceId": str(lid), "name": name,
                "isActive": True, "fulfillsOnlineOrders": online, "shipsInventory": online,
                "address": {"address1": address, "city": "Madrid", "countryCode": "ES", "zip": "28013"},
                "createdAt": iso(self.now - 800 * DAY), "updatedAt": iso(self.now - 800 * DAY)}

    def inventory_level(self, v: int, loc: int) -> Node:
        return Node(self._g_level, (v, loc))

    def inventory_item(self, v: int) -> Node:
        return Node(self._g_item, v)

    def variant(self, v: int) -> Node:
        return Node(self._g_variant, v)

    def product(self, i: int) -> Node:
        return Node(self._g_product, i)

    def collection(self, k: int) -> Node:
        return Node(self._g_collection, k)

    def _build_product_getters(self) -> None:
        s = self
        locations = [self.location(k) for k in range(len(LOCATIONS))]
        self._locations = locations

        def level_quantities(n: Node) -> Any:
            v, loc = n.key

            def quantities(names: list[str] | None = None, **_: Any) -> list[dict[str, Any]]:
                qty, updated = s.stock(v, loc)
                values = {"available": qty, "on_hand": qty, "committed": 0, "incoming": 0, "reserved": 0}
                return [{"name": name, "quantity": values.get(name, 0), "updatedAt": iso(updated),
                         "id": f"gid://shopify/InventoryQuantity/{LOCATIONS[loc][0]}?inventory_item_id="
                               f"{INVENTORY_ITEM_BASE + v}&name={name}"} for name in (names or ["available"])]
            return quantities

        self._g_level = {
            "__typename": lambda n: "InventoryLevel",
            "id": lambda n: f"gid://shopify/InventoryLevel/{LOCATIONS[n.key[1]][0]}?inventory_item_id="
                            f"{INVENTORY_ITEM_BASE + n.key[0]}",
            "location": lambda n: locations[n.key[1]],
            "quantities": level_quantities,
            "available": lambda n: s.stock(*n.key)[0],
            "createdAt": lambda n: iso(s.now - 800 * DAY),
            "updatedAt": lambda n: iso(s.stock(*n.key)[1]),
            "canDeactivate": lambda n: True,
            "item": lambda n: (lambda **_: s.inventory_item(n.key[0])),
        }

        def item_level(n: Node) -> Any:
            def level(locationId: str | None = None, **_: Any) -> Node | None:  # noqa: N803 - GraphQL arg name
                k = next((k for k, loc in enumerate(LOCATIONS) if gid("Location", loc[0]) == locationId), None)
                return None if k is None else s.inventory_level(n.key, k)
            return level

        self._g_item = {
            "__typename": lambda n: "InventoryItem",
            "id": lambda n: f"gid://shopify/InventoryItem/{INVENTORY_ITEM_BASE + n.key}",
            "legacyResourceId": lambda n: str(INVENTORY_ITEM_BASE + n.key),
            "sku": lambda n: s._sku(n.key), "tracked": lambda n: True, "requiresShipping": lambda n: True,
            "createdAt": lambda n: iso(s.p_created[int(s.v_product[n.key])]),
            "updatedAt": lambda n: iso(s.variant_updated(n.key)),
            "inventoryLevels": lambda n: (lambda **_: [s.inventory_level(n.key, k) for k in range(len(LOCATIONS))]),
            "inventoryLevel": item_level,
            "variant": lambda n: (lambda **_: s.variant(n.key)),
        }

        def stock_total(v: int) -> int:
            return s.stock(v, 0)[0] + s.stock(v, 1)[0]

        def compare_at(n: Node) -> str | None:
            cents = s.variant_compare_at_cents(n.key)
            return None if cents is None else cents_str(cents)

        self._g_variant = {
            "__typename": lambda n: "ProductVariant",
            "id": lambda n: f"gid://shopify/ProductVariant/{VARIANT_BASE + n.key}",
            "legacyResourceId": lambda n: str(VARIANT_BASE + n.key),
            "title": lambda n: s.variant_option(n.key)[1],
            "displayName": lambda n: f"{s.product_title(int(s.v_product[n.key]))} - {s.variant_option(n.key)[1]}",
            "sku": lambda n: s._sku(n.key), "barcode": lambda n: str(8_400_000_000_000 + n.key),
            "position": lambda n: int(s.v_pos[n.key]) + 1,
            "price": lambda n: cents_str(s.variant_price_cents(n.key)),
            "compareAtPrice": compare_at,
            "inventoryQuantity": lambda n: stock_total(n.key),
            "sellableOnlineQuantity": lambda n: s.stock(n.key, 0)[0],
            "availableForSale": lambda n: stock_total(n.key) > 0 and int(s.v_product[n.key]) not in s.deleted_products,
            "inventoryPolicy": lambda n: "DENY", "taxable": lambda n: True, "requiresComponents": lambda n: False,
            "selectedOptions": lambda n: [dict(zip(("name", "value"), s.variant_option(n.key), strict=True))],
            "createdAt": lambda n: iso(s.p_created[int(s.v_product[n.key])]),
            "updatedAt": lambda n: iso(s.variant_updated(n.key)),
            "image": lambda n: s.product_image(int(s.v_product[n.key])),
            "inventoryItem": lambda n: (lambda **_: s.inventory_item(n.key)),
            "product": lambda n: (lambda **_: s.product(int(s.v_product[n.key]))),
        }

        def price_range(n: Node) -> dict[str, Any]:
            prices = [s.variant_price_cents(v) for v in s.variant_range(n.key)]
            return {"minVariantPrice": {"amount": cents_str(min(prices)), "currencyCode": s.currency},
                    "maxVariantPrice": {"amount": cents_str(max(prices)), "currencyCode": s.currency}}

        def tags(n: Node) -> list[str]:
            i = n.key
            out = [CATEGORIES[int(s.p_cat[i])].handle, _COLORS[int(s.p_color[i])].lower()]
            return [*out, "sale"] if s.p_on_sale[i] else out

        def total_inventory(n: Node) -> int:
            return sum(stock_total(v) for v in s.variant_range(n.key))

        def cat(n: Node) -> Category:
            return CATEGORIES[int(s.p_cat[n.key])]

        def description(n: Node) -> str:
            return f"{s.product_title(n.key)}: {cat(n).title_es} / {cat(n).title_en}."

        self._g_product = {
            "__typename": lambda n: "Product",
            "id": lambda n: f"gid://shopify/Product/{PRODUCT_BASE + n.key}",
            "legacyResourceId": lambda n: str(PRODUCT_BASE + n.key),
            "title": lambda n: s.product_title(n.key), "handle": lambda n: s.product_handle(n.key),
            "vendor": lambda n: _VENDORS[int(s.p_vendor[n.key])], "productType": lambda n: cat(n).title_en,
            "status": lambda n: s.product_status(n.key), "tags": tags,
            "description": lambda n: (lambda **_: description(n)),
            "descriptionHtml": lambda n: f"<p>{description(n)}</p>",
            "onlineStoreUrl": lambda n: f"https://{s.domain}/products/{s.product_handle(n.key)}"
            if s.product_status(n.key) == "ACTIVE" else None,
            "createdAt": lambda n: iso(s.p_created[n.key]),
            "publishedAt": lambda n: iso(s.p_created[n.key]) if s.product_status(n.key) == "ACTIVE" else None,
            "updatedAt": lambda n: iso(s.product_updated(n.key)),
            "totalInventory": total_inventory, "tracksInventory": lambda n: True,
            "hasOnlyDefaultVariant": lambda n: False, "isGiftCard": lambda n: False,
            "hasOutOfStockVariants": lambda n: any(stock_total(v) == 0 for v in s.variant_range(n.key)),
            "featuredImage": lambda n: s.product_image(n.key), "featuredMedia": lambda n: s._media(n.key),
            "images": lambda n: (lambda **_: [s.product_image(n.key)]),
            "media": lambda n: (lambda **_: [s._media(n.key)]),
            "priceRangeV2": price_range,
            "options": lambda n: (lambda **_: [{"name": cat(n).options[0], "id": gid("ProductOption", n.key),
                                                 "values": [s.variant_option(v)[1] for v in s.variant_range(n.key)]}]),
            "variants": lambda n: (lambda **_: [s.variant(v) for v in s.variant_range(n.key)]),
            "variantsCount": lambda n: {"count": int(s.p_vcount[n.key]), "precision": "EXACT"},
            "collections": lambda n: (lambda **_: [s.collection(c) for c in s.product_collections(n.key)]),
            "seo": lambda n: {"title": s.product_title(n.key), "description": description(n)},
        }

        def collection_title(k: int) -> str:
            if k == SALE_COLLECTION:
                return "Rebajas / Sale"
            return CATEGORIES[k].title_es if k % 3 == 0 else CATEGORIES[k].title_en

        self._g_collection = {
            "__typename": lambda n: "Collection",
            "id": lambda n: f"gid://shopify/Collection/{COLLECTION_BASE + n.key}",
            "legacyResourceId": lambda n: str(COLLECTION_BASE + n.key),
            "title": lambda n: collection_title(n.key),
            "handle": lambda n: "sale" if n.key == SALE_COLLECTION else CATEGORIES[n.key].handle,
            "updatedAt": lambda n: iso(s.now - 400 * DAY), "sortOrder": lambda n: "BEST_SELLING",
            "description": lambda n: (lambda **_: collection_title(n.key)),
            "descriptionHtml": lambda n: f"<p>{collection_title(n.key)}</p>",
            "products": lambda n: (lambda **_: [s.product(i) for i in s.collection_product_indexes(n.key)]),
            "productsCount": lambda n: {"count": len(s.collection_product_indexes(n.key)), "precision": "EXACT"},
        }

    def collection_product_indexes(self, k: int) -> list[int]:
        if k == SALE_COLLECTION:
            idx = [int(i) for i in np.nonzero(self.p_on_sale)[0]]
            if self._variant_patch:
                idx = [i for i in range(self.size.products)
                       if self.variant_compare_at_cents(int(self.p_vstart[i])) is not None]
        else:
            idx = self.cat_members[k].tolist()
        return [i for i in idx if i not in self.deleted_products] if self.deleted_products else idx

    @property
    def collection_count(self) -> int:
        return len(CATEGORIES) + 1

    # ----------------------------------------------------------------- customers
    def _customer_base(self, c: int) -> dict[str, Any]:
        code, lang, _, prefix, cities = _COUNTRIES[int(self.c_country[c])]
        first = _FIRST[lang][int(self.c_first[c]) % len(_FIRST[lang])]
        last = _LAST[lang][int(self.c_last[c]) % len(_LAST[lang])]
        city, province, province_code = cities[int(self.c_city[c]) % len(cities)]
        tags = [[], ["vip"], ["newsletter"], ["wholesale"]][int(self.c_tag[c])]
        return {"first": first, "last": last, "email": f"{_slug(first)}.{_slug(last)}.{c + 1}@example.com",
                "phone": f"{prefix}{int(self.c_phone[c]):08d}"[:13], "country": code, "city": city,
                "province": province, "province_code": province_code, "marketing": bool(self.c_marketing[c]),
                "tags": tags, "created": int(self.c_created[c]), "updated": int(self.c_updated[c]), "locale": lang}

    def customer_fields(self, c: int) -> dict[str, Any]:
        base = self._extra_customers.get(c) or self._customer_base(c)
        patch = self._customer_patch.get(c)
        return {**base, **patch} if patch else base

    def customer(self, c: int) -> Node:
        return Node(self._g_customer, c, self.customer_fields)

    def customer_address(self, c: int, f: dict[str, Any]) -> dict[str, Any] | None:
        if f.get("redacted"):
            return None
        return {"__typename": "MailingAddress", "id": gid("MailingAddress", 20_000_000_000 + c),
                "firstName": f["first"], "lastName": f["last"], "name": f"{f['first']} {f['last']}",
                "address1": f"Calle {c % 90 + 1}", "address2": None, "company": None, "city": f["city"],
                "province": f["province"], "provinceCode": f["province_code"], "country": f["country"],
                "countryCodeV2": f["country"], "zip": f"{10000 + c % 89999}", "phone": f["phone"]}

    def customer_updated(self, c: int) -> int:
        return self.customer_fields(c)["updated"]

    def _build_customer_getters(self) -> None:
        s = self

        def consent(n: Node) -> dict[str, Any]:
            f = n.ctx
            return {"marketingState": "SUBSCRIBED" if f["marketing"] else "NOT_SUBSCRIBED",
                    "marketingOptInLevel": "SINGLE_OPT_IN" if f["marketing"] else None,
                    "consentUpdatedAt": iso(f["created"])}

        self._g_customer = {
            "__typename": lambda n: "Customer",
            "id": lambda n: f"gid://shopify/Customer/{CUSTOMER_BASE + n.key}",
            "legacyResourceId": lambda n: str(CUSTOMER_BASE + n.key),
            "firstName": lambda n: n.ctx["first"], "lastName": lambda n: n.ctx["last"],
            "displayName": lambda n: f"{n.ctx['first']} {n.ctx['last']}".strip(),
            "email": lambda n: n.ctx["email"], "phone": lambda n: n.ctx["phone"],
            "locale": lambda n: n.ctx["locale"], "tags": lambda n: list(n.ctx["tags"]),
            "verifiedEmail": lambda n: True, "state": lambda n: "ENABLED", "taxExempt": lambda n: False,
            "note": lambda n: None,
            "defaultEmailAddress": lambda n: {"emailAddress": n.ctx["email"],
                                              "marketingState": consent(n)["marketingState"]}
            if n.ctx["email"] else None,
            "defaultPhoneNumber": lambda n: {"phoneNumber": n.ctx["phone"], "marketingState": "NOT_SUBSCRIBED"}
            if n.ctx["phone"] else None,
            "emailMarketingConsent": consent, "acceptsMarketing": lambda n: n.ctx["marketing"],
            "defaultAddress": lambda n: s.customer_address(n.key, n.ctx),
            "addresses": lambda n: (lambda **_: [a] if (a := s.customer_address(n.key, n.ctx)) else []),
            "createdAt": lambda n: iso(n.ctx["created"]), "updatedAt": lambda n: iso(n.ctx["updated"]),
            "numberOfOrders": lambda n: "0",
            "amountSpent": lambda n: {"amount": "0.00", "currencyCode": s.currency},
        }

    # ----------------------------------------------------------------- orders
    def order_spec(self, o: int) -> OrderSpec:
        hit = self._order_patch.get(o)
        if hit is not None:
            return hit
        a, b = int(self.o_offsets[o]), int(self.o_offsets[o + 1])
        lines = list(zip(self.l_product[a:b].tolist(), self.l_variant[a:b].tolist(), self.l_qty[a:b].tolist(),
                         strict=True))
        prices = [int(self.p_price_cents[p]) for p, _, _ in lines]
        source = ("web", "pos", "marketplace", "shopify_draft_order", "iphone", "web")[int(self.o_source[o])]
        if source == "marketplace":
            source = "marketplace:" + _APP_NAMES[int(self.o_app[o])]
        dc = int(self.o_discount[o])
        created, updated = int(self.o_created[o]), int(self.o_updated[o])
        fate = int(self.o_fate[o])
        spec = OrderSpec(o, created, int(self.o_customer[o]), lines, prices, source,
                         _DISCOUNT_CODES[dc] if dc >= 0 else None, updated, first_line=a)
        when = created + int(self.o_fate_delay[o])
        everything = [(n, q) for n, (_, _, q) in enumerate(lines)]
        if fate == 1:
            spec.cancelled, spec.cancel_reason = when, _CANCEL_REASONS[o % len(_CANCEL_REASONS)]
            spec.financial_status = "REFUNDED" if o % 2 else "VOIDED"
            if spec.financial_status == "REFUNDED":
                spec.refunds = [{"id": REFUND_BASE + o * 4, "created": when, "lines": everything}]
        elif fate == 2:
            spec.financial_status = "REFUNDED"
            spec.refunds = [{"id": REFUND_BASE + o * 4, "created": when, "lines": everything}]
        elif fate == 3 and lines:
            spec.financial_status = "PARTIALLY_REFUNDED" if len(lines) > 1 or lines[0][2] > 1 else "REFUNDED"
            spec.refunds = [{"id": REFUND_BASE + o * 4, "created": when, "lines": [(len(lines) - 1, 1)]}]
        elif source == "shopify_draft_order" and o % 3 == 0:
            spec.financial_status = "PENDING"
        return spec

    def order_updated(self, o: int) -> int:
        hit = self._order_patch.get(o)
        return hit.updated if hit is not None else int(self.o_updated[o])

    def order_totals(self, spec: OrderSpec) -> dict[str, int]:
        """Totals in cents; discount codes carry their percentage (SUMMER20 = 20%); taxes included (21%)."""
        if spec.totals is not None:
            return spec.totals
        subtotal = sum(price * qty for price, (_, _, qty) in zip(spec.unit_prices, spec.lines, strict=True))
        pct = int("".join(ch for ch in spec.discount_code if ch.isdigit()) or 0) if spec.discount_code else 0
        discount = subtotal * pct // 100
        shipping = 495 if spec.source in ("web", "iphone") and subtotal - discount < 5000 else 0
        total = subtotal - discount + shipping
        refunded = sum(spec.unit_prices[n] * q for r in spec.refunds for n, q in r["lines"])
        refunded = min(refunded * (100 - pct) // 100, total)
        spec.totals = {"subtotal": subtotal - discount, "discount": discount, "shipping": shipping, "total": total,
                       "tax": total * 21 // 121, "refunded": refunded, "current": total - refunded}
        return spec.totals

    def _bag(self, cents: int) -> dict[str, Any]:
        m = {"amount": cents_str(cents), "currencyCode": self.currency}
        return {"shopMoney": m, "presentmentMoney": m}

    def line_item(self, spec: OrderSpec, n: int) -> Node:
        return Node(self._g_line, (spec, n))

    def order(self, o: int) -> Node:
        return Node(self._g_order, o, self.order_spec)

    def _build_order_getters(self) -> None:
        s = self

        def line_id(n: Node) -> int:
            spec, k = n.key
            if spec.first_line >= 0:
                return LINE_ITEM_BASE + spec.first_line + k
            return LINE_ITEM_BASE + 10_000_000_000 + spec.index * 100 + k

        def refunded_qty(n: Node) -> int:
            spec, k = n.key
            return sum(q for r in spec.refunds for j, q in r["lines"] if j == k)

        def line_price(n: Node) -> int:
            spec, k = n.key
            return spec.unit_prices[k]

        def line_product(n: Node) -> Any:
            p = n.key[0].lines[n.key[1]][0]
            return None if p in s.deleted_products else (lambda **_: s.product(p))

        def line_variant(n: Node) -> Any:
            p, v, _ = n.key[0].lines[n.key[1]]
            return None if p in s.deleted_products else (lambda **_: s.variant(v))

        def qty(n: Node) -> int:
            return n.key[0].lines[n.key[1]][2]

        def title(n: Node) -> str:
            return s.product_title(n.key[0].lines[n.key[1]][0])

        def variant_title(n: Node) -> str:
            return s.variant_option(n.key[0].lines[n.key[1]][1])[1]

        self._g_line = {
            "customAttributes": lambda n: [],  # line item properties: none in the generated store
            "__typename": lambda n: "LineItem",
            "id": lambda n: f"gid://shopify/LineItem/{line_id(n)}",
            "title": title, "name": lambda n: f"{title(n)} - {variant_title(n)}", "variantTitle": variant_title,
            "sku": lambda n: s._sku(n.key[0].lines[n.key[1]][1]),
            "vendor": lambda n: _VENDORS[int(s.p_vendor[n.key[0].lines[n.key[1]][0]])],
            "quantity": qty, "currentQuantity": lambda n: qty(n) - refunded_qty(n),
            "refundableQuantity": lambda n: qty(n) - refunded_qty(n),
            "originalUnitPriceSet": lambda n: s._bag(line_price(n)),
            "discountedUnitPriceSet": lambda n: s._bag(line_price(n)),
            "originalTotalSet": lambda n: s._bag(line_price(n) * qty(n)),
            "discountedTotalSet": lambda n: s._bag(line_price(n) * qty(n)),
            "totalDiscountSet": lambda n: s._bag(0), "requiresShipping": lambda n: True,
            "taxable": lambda n: True, "isGiftCard": lambda n: False,
            "product": line_product, "variant": line_variant,
        }

        def source_name(spec: OrderSpec) -> str:
            if spec.source.startswith("marketplace:"):
                return str(APP_IDS[spec.source.split(":", 1)[1]])
            return spec.source

        def app(n: Node) -> dict[str, Any] | None:
            src = n.ctx.source
            if src.startswith("marketplace:"):
                name = src.split(":", 1)[1]
                return {"__typename": "OrderApp", "id": gid("App", APP_IDS[name]), "name": name}
            name, app_id = {"pos": ("Point of Sale", 129785), "shopify_draft_order": ("Draft Orders", 1354745)
                            }.get(src, ("Online Store", 580111))
            return {"__typename": "OrderApp", "id": gid("App", app_id), "name": name}

        def channel(n: Node) -> dict[str, Any]:
            a = app(n)
            return {"id": gid("ChannelInformation", ORDER_BASE + n.key), "channelId": a["id"] if a else None,
                    "app": a, "channelDefinition": {"handle": source_name(n.ctx), "channelName": a["name"] if a
                                                    else "Other", "isMarketplace": n.ctx.source.startswith("market")}}

        def customer(n: Node) -> Any:
            c = n.ctx.customer
            return None if c < 0 else (lambda **_: s.customer(c))

        def contact(n: Node, key: str) -> str | None:
            c = n.ctx.customer
            if c < 0:
                return None
            f = s.customer_fields(c)
            return None if f.get("redacted") else f[key]

        def address(n: Node) -> dict[str, Any] | None:
            c = n.ctx.customer
            return None if c < 0 else s.customer_address(c, s.customer_fields(c))

        def refunds(n: Node) -> Any:
            spec = n.ctx

            def build(**_: Any) -> list[dict[str, Any]]:
                return [{"__typename": "Refund", "id": gid("Refund", r["id"]), "legacyResourceId": str(r["id"]),
                         "createdAt": iso(r["created"]), "updatedAt": iso(r["created"]), "note": None,
                         "totalRefundedSet": s._bag(sum(spec.unit_prices[k] * q for k, q in r["lines"])),
                         "refundLineItems": [{"quantity": q, "restockType": "RETURN", "restocked": True,
                                              "lineItem": s.line_item(spec, k),
                                              "subtotalSet": s._bag(spec.unit_prices[k] * q),
                                              "priceSet": s._bag(spec.unit_prices[k])} for k, q in r["lines"]]}
                        for r in spec.refunds]
            return build

        def total(key: str) -> Any:
            return lambda n: s._bag(s.order_totals(n.ctx)[key])

        pos = lambda n: n.ctx.source == "pos"  # noqa: E731
        self._g_order = {
            "customAttributes": lambda n: [],  # cart attributes: none in the generated store
            "__typename": lambda n: "Order",
            "id": lambda n: f"gid://shopify/Order/{ORDER_BASE + n.key}",
            "legacyResourceId": lambda n: str(ORDER_BASE + n.key),
            "name": lambda n: f"#{1001 + n.key}", "email": lambda n: contact(n, "email"),
            "phone": lambda n: contact(n, "phone"),
            "createdAt": lambda n: iso(n.ctx.created), "processedAt": lambda n: iso(n.ctx.created),
            "updatedAt": lambda n: iso(n.ctx.updated),
            "cancelledAt": lambda n: iso(n.ctx.cancelled) if n.ctx.cancelled else None,
            "cancelReason": lambda n: n.ctx.cancel_reason,
            "closed": lambda n: n.ctx.cancelled is not None,
            "closedAt": lambda n: iso(n.ctx.cancelled) if n.ctx.cancelled else None,
            "confirmed": lambda n: True, "test": lambda n: False,
            "currencyCode": lambda n: s.currency, "presentmentCurrencyCode": lambda n: s.currency,
            "sourceName": lambda n: source_name(n.ctx),
            "sourceIdentifier": lambda n: f"pos-{ORDER_BASE + n.key}" if pos(n) else str(ORDER_BASE + n.key),
            "app": app, "channelInformation": channel,
            "retailLocation": lambda n: s._locations[1] if pos(n) else None,
            "physicalLocation": lambda n: s._locations[1] if pos(n) else None,
            "displayFinancialStatus": lambda n: n.ctx.financial_status,
            "displayFulfillmentStatus": lambda n: "FULFILLED" if n.ctx.cancelled is None else "UNFULFILLED",
            "discountCode": lambda n: n.ctx.discount_code,
            "discountCodes": lambda n: [n.ctx.discount_code] if n.ctx.discount_code else [],
            "customer": customer, "customerLocale": lambda n: "es", "customerAcceptsMarketing": lambda n: False,
            "shippingAddress": lambda n: None if pos(n) else address(n), "billingAddress": address,
            "tags": lambda n: ["pos"] if pos(n) else [], "taxesIncluded": lambda n: True, "note": lambda n: None,
            "subtotalPriceSet": total("subtotal"), "currentSubtotalPriceSet": total("subtotal"),
            "totalDiscountsSet": total("discount"), "currentTotalDiscountsSet": total("discount"),
            "totalShippingPriceSet": total("shipping"), "currentShippingPriceSet": total("shipping"),
            "totalTaxSet": total("tax"), "currentTotalTaxSet": total("tax"),
            "totalPriceSet": total("total"), "originalTotalPriceSet": total("total"),
            "currentTotalPriceSet": total("current"), "totalRefundedSet": total("refunded"),
            "subtotalLineItemsQuantity": lambda n: sum(q for _, _, q in n.ctx.lines),
            "lineItems": lambda n: (lambda **_: [s.line_item(n.ctx, k) for k in range(len(n.ctx.lines))]),
            "refunds": refunds,
        }

    # ----------------------------------------------------------------- mutations (callers fire the webhooks)
    def _bump(self) -> int:
        """The time of a change: the wall clock, strictly increasing per store (one-second resolution)."""
        self.version += 1
        self._last_change = max(int(datetime.now(UTC).timestamp()), self.now, self._last_change + 1)
        return self._last_change

    def set_variant_price(self, v: int, price: Decimal | str, compare_at: Decimal | str | None | bool = False) -> None:
        """compare_at: False keeps it, None removes it, a value sets it."""
        with self.lock:
            t = self._bump()
            patch = self._variant_patch.setdefault(v, {})
            patch["price"] = to_cents(price)
            if compare_at is not False:
                patch["compare_at"] = None if compare_at is None else to_cents(compare_at)
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
            spec = OrderSpec(o, created or t, customer, spec_lines, [self.variant_price_cents(v) for v, _ in lines],
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
            spec.cancelled, spec.cancel_reason, spec.updated, spec.totals = t, reason, t, None
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
            spec.refunds, spec.totals = [*spec.refunds, refund], None
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
