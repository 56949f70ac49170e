"""A sandbox seller's catalogue: parent and child ASINs, SKUs, listing copy, prices and costs.

Everything is derived from the account's seed, so the same seed always lists the same products.
Unit costs are not Amazon data; they are here so demo mode can seed cost of goods later.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property

import numpy as np

from amzinsight.marketplaces import MARKETPLACES
from amzinsight_sandbox.config import SandboxAccount

_ALPHANUMERIC = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))

# Rough exchange rates from USD, only to give other marketplaces plausible local prices.
_PRICE_FACTOR = {
    "USD": 1.0, "CAD": 1.36, "MXN": 17.0, "BRL": 5.0, "GBP": 0.8, "EUR": 0.93, "SEK": 10.5,
    "PLN": 4.0, "TRY": 32.0, "AED": 3.67, "INR": 83.0, "JPY": 150.0, "AUD": 1.5, "SGD": 1.35,
}  # fmt: skip
_WHOLE_UNIT_CURRENCIES = {"JPY"}


def price_factor(currency: str) -> float:
    """How many units of `currency` the sandbox prices at one US dollar."""
    return _PRICE_FACTOR.get(currency, 1.0)


@dataclass(frozen=True)
class ProductTemplate:
    noun: str
    code: str
    product_type: str
    category: str
    category_id: str
    theme: str | None  # Amazon variation theme, None for products sold on their own
    variations: tuple[tuple[str, str, float], ...]  # (label, sku code, price multiplier)
    price_usd: tuple[float, float]
    features: tuple[str, ...]
    keywords: str
    fba_fee_usd: float
    cubic_feet: float


_TEMPLATES = (
    ProductTemplate(
        "Crème Brûlée Kitchen Torch",
        "TORCH",
        "KITCHEN",
        "Kitchen Torches",
        "3741271",
        "COLOR_NAME",
        (("Matte Black", "BLK", 1.0), ("Brushed Silver", "SLV", 1.05), ("Copper Red", "RED", 1.1)),
        (21.0, 32.0),
        (
            "Adjustable flame up to 1300 °C for caramelising sugar and searing",
            "Safety lock and finger guard keep the flame off until you need it",
            "Refillable with any standard butane can, no tools required",
        ),
        "butane torch creme brulee blow torch cooking torch sous vide searing chef torch",
        4.75,
        0.09,
    ),
    ProductTemplate(
        "Bamboo Cutting Board",
        "BOARD",
        "CUTTING_BOARD",
        "Cutting Boards",
        "289868",
        "SIZE_NAME",
        (
            ("Small 12 x 8 in", "S", 0.75),
            ("Medium 15 x 10 in", "M", 1.0),
            ("Large 18 x 12 in", "L", 1.25),
            ("XL 20 x 14 in", "XL", 1.45),
        ),
        (17.0, 26.0),
        (
            "Deep drip channel keeps counters clean while carving roasts",
            "Organic moso bamboo is gentle on knife edges and naturally sturdy",
            "Built-in side handles make serving cheese and charcuterie easy",
        ),
        "wood chopping board butcher block carving board serving tray meal prep",
        5.27,
        0.21,
    ),
    ProductTemplate(
        "Pre-Seasoned Cast Iron Skillet",
        "SKILLET",
        "SKILLET",
        "Skillets",
        "289814",
        "SIZE_NAME",
        (("8 in", "08", 0.8), ("10 in", "10", 1.0), ("12 in", "12", 1.3)),
        (24.0, 39.0),
        (
            "Even heat retention for searing, frying, baking and braising",
            "Oven, stovetop, grill and campfire safe",
            "Pre-seasoned with vegetable oil and ready to use",
        ),
        "cast iron pan frying pan oven safe skillet camping cookware",
        6.10,
        0.32,
    ),
    ProductTemplate(
        "Chef's Knife, High-Carbon German Steel",
        "KNIFE",
        "KITCHEN_KNIFE",
        "Chef's Knives",
        "3743561",
        "SIZE_NAME",
        (("6 in", "06", 0.85), ("8 in", "08", 1.0), ("10 in", "10", 1.2)),
        (29.0, 49.0),
        (
            "Razor-sharp 15-degree edge holds its sharpness longer",
            "Full tang and ergonomic handle for balanced, fatigue-free cutting",
            "Stain resistant high-carbon steel",
        ),
        "kitchen knife cooking knife gyuto santoku professional knife gift",
        4.08,
        0.05,
    ),
    ProductTemplate(
        "Café Milk Frother, Rechargeable",
        "FROTH",
        "MILK_FROTHER",
        "Milk Frothers",
        "2231404011",
        "COLOR_NAME",
        (("Black", "BLK", 1.0), ("White", "WHT", 1.0), ("Sage Green", "GRN", 1.05)),
        (15.0, 24.0),
        (
            "Whips silky foam for lattes, cappuccinos and matcha in 15 seconds",
            "USB-C rechargeable: one charge lasts a month of mornings",
            "Stainless steel whisk detaches for easy cleaning",
        ),
        "handheld frother electric whisk foam maker coffee latte matcha drink mixer",
        3.22,
        0.04,
    ),
    ProductTemplate(
        "Silicone Spatula Set",
        "SPAT",
        "SPATULA",
        "Spatulas",
        "289782",
        "COLOR_NAME",
        (("Charcoal", "CHR", 1.0), ("Coral", "CRL", 1.0), ("Ocean Blue", "BLU", 1.0)),
        (11.0, 18.0),
        (
            "Heat resistant to 600 °F and safe for non-stick pans",
            "Seamless one-piece design leaves no gaps for food to hide",
            "Set of 4 sizes for scraping, folding and spreading",
        ),
        "rubber spatula baking scraper heat resistant utensils nonstick",
        3.22,
        0.06,
    ),
    ProductTemplate(
        "Stainless Steel Mixing Bowls with Lids",
        "BOWLS",
        "MIXING_BOWL",
        "Mixing Bowls",
        "289849",
        "SIZE_NAME",
        (("Set of 3", "3PC", 0.75), ("Set of 5", "5PC", 1.0), ("Set of 7", "7PC", 1.3)),
        (22.0, 36.0),
        (
            "Airtight lids keep prepped ingredients fresh in the fridge",
            "Non-slip silicone bottoms stay put while whisking",
            "Nesting design saves cabinet space",
        ),
        "nesting bowls salad bowl prep bowls baking bowls with lids",
        6.40,
        0.45,
    ),
    ProductTemplate(
        "Digital Kitchen Scale",
        "SCALE",
        "KITCHEN_SCALE",
        "Kitchen Scales",
        "3741411",
        None,
        (),
        (14.0, 22.0),
        (
            "Accurate to 1 g / 0.05 oz up to 5 kg",
            "Tare function and five units for recipes from anywhere",
            "Wipe-clean glass platform and backlit display",
        ),
        "food scale gram scale baking scale coffee scale weigh",
        3.86,
        0.09,
    ),
    ProductTemplate(
        "Jalapeño Corer and Seed Remover",
        "CORER",
        "KITCHEN_TOOL",
        "Specialty Tools",
        "289754",
        None,
        (),
        (8.0, 13.0),
        (
            "Serrated edge cores peppers in one twist",
            "Keeps capsaicin off your fingers",
            "Dishwasher safe stainless steel",
        ),
        "pepper corer chili seeder grill pepper rack tool",
        3.06,
        0.02,
    ),
    ProductTemplate(
        "Sauté Pan with Glass Lid",
        "SAUTE",
        "SAUTE_PAN",
        "Sauté Pans",
        "289824",
        "SIZE_NAME",
        (("3 qt", "3Q", 0.85), ("5 qt", "5Q", 1.0)),
        (34.0, 59.0),
        (
            "Tri-ply base heats evenly on gas, electric and induction",
            "Tempered glass lid with steam vent",
            "Oven safe to 500 °F",
        ),
        "deep frying pan chef pan induction pan with lid jumbo cooker",
        7.17,
        0.55,
    ),
    ProductTemplate(
        "Salad Spinner",
        "SPIN",
        "SALAD_SPINNER",
        "Salad Spinners",
        "289888",
        None,
        (),
        (19.0, 29.0),
        (
            "One-handed pump dries greens in seconds",
            "Basket doubles as a colander",
            "Brake button and non-slip base",
        ),
        "lettuce dryer vegetable washer colander spinner",
        5.68,
        0.38,
    ),
    ProductTemplate(
        "Gooseneck Pour-Over Kettle",
        "KETTLE",
        "KETTLE",
        "Tea Kettles",
        "289876",
        "COLOR_NAME",
        (("Matte Black", "BLK", 1.0), ("Stainless", "SS", 0.95), ("Rose Gold", "RG", 1.1)),
        (29.0, 45.0),
        (
            "Precision spout for a steady, controlled pour",
            "Built-in thermometer shows the perfect brewing temperature",
            "Works on gas, electric and induction stoves",
        ),
        "pour over coffee kettle tea kettle stovetop gooseneck barista",
        5.42,
        0.28,
    ),
    ProductTemplate(
        "Garlic Press",
        "PRESS",
        "GARLIC_PRESS",
        "Garlic Presses",
        "289763",
        None,
        (),
        (12.0, 19.0),
        (
            "Crushes unpeeled cloves with little effort",
            "Built-in cleaner pushes out the leftover skins",
            "Solid zinc alloy body",
        ),
        "garlic crusher mincer ginger press kitchen gadget",
        3.22,
        0.03,
    ),
    ProductTemplate(
        "Magnetic Measuring Spoons",
        "SPOON",
        "MEASURING_SPOON",
        "Measuring Spoons",
        "289740",
        "SIZE_NAME",
        (("Set of 5", "5PC", 0.85), ("Set of 8", "8PC", 1.0)),
        (10.0, 17.0),
        (
            "Dual-sided: round end for liquids, oval end fits spice jars",
            "Magnets keep the set together in the drawer",
            "Laser-etched markings never wear off",
        ),
        "measuring spoons set baking tools teaspoon tablespoon",
        3.22,
        0.02,
    ),
    ProductTemplate(
        "Heat Resistant Oven Mitts",
        "MITT",
        "OVEN_MITT",
        "Oven Mitts",
        "289762",
        "COLOR_NAME",
        (("Graphite", "GRY", 1.0), ("Terracotta", "TER", 1.0), ("Navy", "NAV", 1.0)),
        (12.0, 20.0),
        (
            "Rated to 500 °F with a quilted cotton lining",
            "Extra-long cuffs protect forearms at the oven",
            "Silicone grip pattern for sure handling",
        ),
        "pot holders oven gloves kitchen mitts bbq gloves",
        3.86,
        0.07,
    ),
    ProductTemplate(
        "Rotating Spice Rack Organizer",
        "SPICE",
        "SPICE_RACK",
        "Spice Racks",
        "289784",
        None,
        (),
        (21.0, 34.0),
        (
            "Holds 20 jars on a smooth rotating base",
            "Includes labels for common herbs and spices",
            "Fits in cabinets and on countertops",
        ),
        "spice carousel seasoning organizer jars lazy susan",
        5.68,
        0.41,
    ),
)

_BRANDS = ("Hearthwise", "Copperleaf", "Oakmere", "Saltbloom", "Kitchenvale", "Brightforge")
_GENERIC_BULLETS = (
    "EASY TO CLEAN: rinse by hand or place on the top rack of the dishwasher",
    "GIFT READY: arrives in a recyclable box, a thoughtful present for home cooks",
    "WORRY-FREE: backed by our 2-year replacement promise and friendly support",
    "THOUGHTFULLY DESIGNED: tested in busy home kitchens before it reaches yours",
)


@dataclass(frozen=True)
class Product:
    """One sellable child ASIN with its FBA SKU; standalone products are their own parent."""

    index: int
    asin: str
    parent_asin: str
    sku: str
    fnsku: str
    ean: str
    title: str
    brand: str
    bullets: tuple[str, ...]
    description: str
    search_terms: str
    product_type: str
    category: str
    category_id: str
    variation_theme: str | None
    variation_label: str | None
    list_price_us_cents: int
    unit_cost_us_cents: int
    fba_fee_us_cents: int
    cubic_feet: float
    model_number: str
    image_ids: tuple[str, ...]
    listing_id: str
    mfn_sku: str | None  # a merchant-fulfilled twin listing, no sales of its own
    launch_offset_days: int  # days after history start; negative = launched before it
    discontinued_offset_days: int | None

    def price_cents(self, currency: str) -> int:
        """The base list price in a currency's minor units, ending in .99 like a seller's."""
        local = self.list_price_us_cents / 100 * price_factor(currency)
        if currency in _WHOLE_UNIT_CURRENCIES:
            return int(round(local / 10.0) * 10) * 100
        return max(int(local), 1) * 100 - 1

    def fba_fee_cents(self, currency: str) -> int:
        return round(self.fba_fee_us_cents * price_factor(currency))


@dataclass(frozen=True)
class ParentItem:
    """A variation parent: not sellable, only groups its children."""

    asin: str
    title: str
    brand: str
    product_type: str
    category: str
    category_id: str
    variation_theme: str
    child_asins: tuple[str, ...]


@dataclass(frozen=True)
class Catalogue:
    brand: str
    products: tuple[Product, ...]
    parents: tuple[ParentItem, ...]

    @cached_property
    def by_asin(self) -> dict[str, Product | ParentItem]:
        """Every child and parent by ASIN."""
        items: dict[str, Product | ParentItem] = {p.asin: p for p in self.products}
        items.update({p.asin: p for p in self.parents})
        return items


@dataclass(frozen=True)
class UnitCost:
    """What one unit costs the seller to make and ship in; for demo cost-of-goods figures."""

    seller_sku: str
    asin: str
    currency: str
    amount: Decimal


def _codes(rng: np.random.Generator, length: int, count: int = 1) -> list[str]:
    picks = rng.integers(0, len(_ALPHANUMERIC), size=(count, length))
    return ["".join(row) for row in _ALPHANUMERIC[picks]]


def _unique_codes(rng: np.random.Generator, prefix: str, length: int, count: int) -> list[str]:
    seen: set[str] = set()
    codes: list[str] = []
    while len(codes) < count:
        for code in _codes(rng, length, count - len(codes)):
            if code not in seen:
                seen.add(code)
                codes.append(prefix + code)
    return codes


def _ean(rng: np.random.Generator) -> str:
    digits = [int(d) for d in "0" + "".join(str(d) for d in rng.integers(0, 10, size=11))]
    checksum = (10 - sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
    return "".join(map(str, digits)) + str(checksum)


def build_catalogue(account: SandboxAccount) -> Catalogue:
    """The account's products: variation families and standalone items, `account.asins` children."""
    rng = np.random.default_rng([account.seed, 1])
    brand = _BRANDS[int(rng.integers(len(_BRANDS)))]
    sku_prefix = brand[:2].upper()
    # The first template has a non-ASCII title; keep it first so every catalogue shows one.
    order = [0, *(int(i) + 1 for i in rng.permutation(len(_TEMPLATES) - 1))]
    family_plan: list[tuple[ProductTemplate, list[tuple[str, str, float]]]] = []
    children = 0
    position = 0
    while children < account.asins:
        template = _TEMPLATES[order[position % len(order)]]
        position += 1
        remaining = account.asins - children
        variations = list(template.variations)
        if variations and remaining >= 2:
            size = int(rng.integers(2, len(variations) + 1))
            size = min(size, remaining)
            chosen = sorted(rng.choice(len(variations), size=size, replace=False).tolist())
            family_plan.append((template, [variations[i] for i in chosen]))
            children += size
        else:
            family_plan.append((template, [("", "", 1.0)]))
            children += 1

    asin_codes = _unique_codes(rng, "B0", 8, account.asins + len(family_plan))
    fnskus = _unique_codes(rng, "X00", 7, account.asins)
    listing_ids = [f"{int(rng.integers(100, 1300)):04d}{c}" for c in _codes(rng, 7, account.asins)]
    image_codes = _codes(rng, 11, account.asins * 4)
    products: list[Product] = []
    parents: list[ParentItem] = []
    template_uses: dict[str, int] = {}
    asin_cursor = 0
    for template, variants in family_plan:
        template_uses[template.code] = template_uses.get(template.code, 0) + 1
        family_no = template_uses[template.code]
        # Random draws; every amount kept below is whole US cents.
        base_cents = rng.uniform(*template.price_usd) * 100
        cost_share = rng.uniform(0.22, 0.38)
        is_family = len(variants) > 1
        parent_asin = ""
        if is_family:
            parent_asin = asin_codes[account.asins + len(parents)]
        family_start = len(products)
        for label, code, multiplier in variants:
            index = len(products)
            asin = asin_codes[asin_cursor]
            asin_cursor += 1
            sku_parts = [sku_prefix, template.code, *([code] if code else []), f"{family_no:02d}"]
            title = f"{brand} {template.noun}"
            if label:
                title += f", {label}"
            bullets = template.features + tuple(
                _GENERIC_BULLETS[i] for i in rng.choice(4, size=2, replace=False)
            )
            description = (
                f"The {brand} {template.noun.lower()} is made for cooks who want tools that "
                f"last. {template.features[0]}. {template.features[1]}. "
                "Designed by a small team of home cooks and backed by friendly support."
            )
            launch = int(rng.integers(-900, -30))
            if rng.random() < 0.12 and account.days > 120:
                launch = int(rng.integers(30, int(account.days * 0.6)))
            discontinued = None
            if rng.random() < 0.05 and account.days > 120:
                discontinued = int(rng.integers(max(launch, 0) + 60, account.days))
                if discontinued >= account.days:
                    discontinued = None
            price_cents = base_cents * multiplier
            products.append(
                Product(
                    index=index,
                    asin=asin,
                    parent_asin=parent_asin or asin,
                    sku="-".join(sku_parts),
                    fnsku=fnskus[index],
                    ean=_ean(rng),
                    title=title,
                    brand=brand,
                    bullets=bullets,
                    description=description,
                    search_terms=template.keywords,
                    product_type=template.product_type,
                    category=template.category,
                    category_id=template.category_id,
                    variation_theme=template.theme if is_family else None,
                    variation_label=label or None,
                    list_price_us_cents=round(price_cents),
                    unit_cost_us_cents=round(price_cents * cost_share),
                    fba_fee_us_cents=round(template.fba_fee_usd * (0.9 + 0.2 * multiplier) * 100),
                    cubic_feet=round(template.cubic_feet * multiplier, 3),
                    model_number=f"{sku_prefix}{template.code[:3]}-{family_no}{code}",
                    image_ids=tuple(image_codes[index * 4 : index * 4 + 4]),
                    listing_id=listing_ids[index],
                    mfn_sku="-".join([*sku_parts, "MF"]) if rng.random() < 0.15 else None,
                    launch_offset_days=launch,
                    discontinued_offset_days=discontinued,
                )
            )
        if is_family and template.theme:
            parents.append(
                ParentItem(
                    asin=parent_asin,
                    title=f"{brand} {template.noun}",
                    brand=brand,
                    product_type=template.product_type,
                    category=template.category,
                    category_id=template.category_id,
                    variation_theme=template.theme,
                    child_asins=tuple(p.asin for p in products[family_start:]),
                )
            )
    return Catalogue(brand=brand, products=tuple(products), parents=tuple(parents))


_catalogue_lock = threading.Lock()
_catalogues: dict[SandboxAccount, Catalogue] = {}


def catalogue_for(account: SandboxAccount) -> Catalogue:
    """The account's catalogue, built once per process."""
    with _catalogue_lock:
        catalogue = _catalogues.get(account)
        if catalogue is None:
            catalogue = build_catalogue(account)
            if len(_catalogues) > 16:
                _catalogues.clear()
            _catalogues[account] = catalogue
        return catalogue


def unit_costs(account: SandboxAccount, currency: str | None = None) -> list[UnitCost]:
    """Each SKU's unit cost (for demo COGS) in `currency`, by default the account's first
    marketplace's; converted like the prices, so the cost stays the same share of the price."""
    currency = currency or MARKETPLACES[account.marketplaces[0]].currency
    factor = price_factor(currency)
    return [
        UnitCost(
            seller_sku=product.sku,
            asin=product.asin,
            currency=currency,
            amount=(Decimal(product.unit_cost_us_cents) * Decimal(str(factor)) / 100).quantize(
                Decimal("0.01")
            ),
        )
        for product in catalogue_for(account).products
    ]


def open_date(account: SandboxAccount, product: Product) -> date:
    """The day the listing was created: the launch day, or long before history for old items."""
    history_start = account.today - timedelta(days=account.days - 1)
    return history_start + timedelta(days=product.launch_offset_days)
