"""A large store for the page benchmark, written by PostgreSQL itself in a couple of minutes.

The shapes follow the sandbox demo store (parent and child ASINs, weekly seasonality, Sponsored
Products campaigns -> ad groups -> targets -> search terms, settlements every 14 days), scaled to
`asins` x `days`. Loading millions of ads rows through the sandbox over HTTP would take most of an
hour and measure ingestion, which bench/ingest.py and bench/ads.py already do; here only the
tables' contents and sizes matter, so the rows are generated with generate_series in SQL.
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.stores import Store, add_store

US = "ATVPDKIKX0DER"
PROFILE = "2000000001"
TARGETS_PER_AD_GROUP = 5
AD_GROUPS_PER_CAMPAIGN = 5

# Each statement gets :store, :first (first day), :days, :asins, :today. Random figures come from
# setseed() first, so two builds of the same size hold the same numbers.
STATEMENTS: tuple[tuple[str, str], ...] = (
    (
        "sales_traffic_by_asin",
        """
        INSERT INTO sales_traffic_by_asin (store_id, marketplace_id, report_date, parent_asin,
            child_asin, sku, currency, ordered_product_sales, units_ordered, total_order_items,
            sessions, page_views, buy_box_percentage, unit_session_percentage)
        SELECT :store, :market, d.day, 'P' || lpad((a.i / 5)::text, 8, '0'),
            'B' || lpad(a.i::text, 9, '0'), 'SKU-' || a.i, 'USD', s.units * (9.99 + a.i % 40),
            s.units, s.units, s.sessions, s.sessions + s.sessions / 3, 95.0,
            round(100.0 * s.units / greatest(s.sessions, 1), 2)
        FROM generate_series(0, :days - 1) AS n(k)
        CROSS JOIN LATERAL (SELECT (:first)::date + n.k AS day) AS d
        CROSS JOIN generate_series(1, :asins) AS a(i)
        CROSS JOIN LATERAL (
            SELECT floor(random() * (3 + extract(isodow FROM d.day)::int))::int AS units,
                   20 + floor(random() * 60)::int AS sessions
        ) AS s
        """,
    ),
    (
        "sales_traffic_by_date",
        """
        INSERT INTO sales_traffic_by_date (store_id, marketplace_id, report_date, currency,
            ordered_product_sales, units_ordered, total_order_items, sessions, page_views,
            buy_box_percentage, unit_session_percentage)
        SELECT store_id, marketplace_id, report_date, 'USD', sum(ordered_product_sales),
            sum(units_ordered), sum(total_order_items), sum(sessions), sum(page_views), 95.0,
            round(100.0 * sum(units_ordered) / greatest(sum(sessions), 1), 2)
        FROM sales_traffic_by_asin WHERE store_id = :store GROUP BY 1, 2, 3
        """,
    ),
    (
        "orders",
        """
        INSERT INTO orders (store_id, amazon_order_id, marketplace_id, purchase_date,
            purchase_local_date, order_status, fulfillment_channel, sales_channel, currency)
        SELECT :store, 'O-' || n.k || '-' || o.j, :market,
            ((:first)::date + n.k)::timestamp AT TIME ZONE 'America/Los_Angeles'
                + interval '9 hours',
            (:first)::date + n.k, CASE WHEN o.j % 50 = 0 THEN 'Cancelled' ELSE 'Shipped' END,
            'Amazon', 'Amazon.com', 'USD'
        FROM generate_series(0, :days - 1) AS n(k) CROSS JOIN generate_series(1, :asins / 5) AS o(j)
        """,
    ),
    (
        "order_items",
        """
        INSERT INTO order_items (store_id, amazon_order_id, sku, asin, line_no, quantity,
            currency, item_price, item_status)
        SELECT o.store_id, o.amazon_order_id, 'SKU-' || a.i, 'B' || lpad(a.i::text, 9, '0'), 1,
            1 + (a.i % 2), 'USD', (1 + (a.i % 2)) * (9.99 + a.i % 40), 'Shipped'
        FROM orders AS o
        -- the lateral subquery names o, so PostgreSQL draws a new product for every order
        CROSS JOIN LATERAL (
            SELECT 1 + floor(random() * :asins + 0 * length(o.amazon_order_id))::int AS i
        ) AS a
        WHERE o.store_id = :store
        """,
    ),
    (
        "settlement_lines",
        """
        INSERT INTO settlement_lines (store_id, settlement_id, line_no, transaction_type,
            order_id, amount_type, amount_description, amount, currency, posted_date, sku,
            quantity_purchased)
        SELECT i.store_id, 'S-' || ((o.purchase_local_date - (:first)::date) / 14),
            row_number() OVER (PARTITION BY (o.purchase_local_date - (:first)::date) / 14
                               ORDER BY i.amazon_order_id, f.kind),
            'Order', i.amazon_order_id, f.amount_type, f.kind,
            CASE f.kind WHEN 'Principal' THEN i.item_price
                        WHEN 'Commission' THEN round(-0.15 * i.item_price, 2)
                        ELSE -3.22 * i.quantity END,
            'USD', o.purchase_local_date, i.sku, i.quantity
        FROM order_items AS i
        JOIN orders AS o USING (store_id, amazon_order_id)
        CROSS JOIN (VALUES ('ItemPrice', 'Principal'), ('ItemFees', 'Commission'),
                           ('ItemFees', 'FBAPerUnitFulfillmentFee')) AS f(amount_type, kind)
        WHERE i.store_id = :store AND o.order_status <> 'Cancelled'
        """,
    ),
    (
        "settlements",
        """
        INSERT INTO settlements (store_id, settlement_id, settlement_start, settlement_end,
            deposit_date, total_amount, currency, lines_total, line_count)
        SELECT :store, settlement_id, min(posted_date)::timestamptz, max(posted_date)::timestamptz,
            max(posted_date)::timestamptz + interval '3 days', sum(amount), 'USD', sum(amount),
            count(*)
        FROM settlement_lines WHERE store_id = :store GROUP BY settlement_id
        """,
    ),
    (
        "inventory_snapshots",
        """
        INSERT INTO inventory_snapshots (store_id, marketplace_id, snapshot_date, sku, asin,
            product_name, currency, fulfillable_quantity, inbound_shipped_quantity,
            reserved_quantity, unfulfillable_quantity, inv_age_0_to_90_days,
            inv_age_91_to_180_days, is_stranded)
        SELECT :store, :market, (:today)::date - n.k, 'SKU-' || a.i, 'B' || lpad(a.i::text, 9, '0'),
            'Product ' || a.i, 'USD', greatest(0, (a.i * 7) % 300 - n.k), (a.i % 4) * 25,
            a.i % 5, a.i % 3, (a.i * 7) % 300, a.i % 20, a.i % 97 = 0
        FROM generate_series(1, 90) AS n(k) CROSS JOIN generate_series(1, :asins) AS a(i)
        """,
    ),
    (
        "listings",
        """
        INSERT INTO listings (store_id, marketplace_id, sku, asin, item_name, item_description,
            price, currency, quantity, status, bullet_points, backend_search_terms)
        SELECT :store, :market, 'SKU-' || a.i, 'B' || lpad(a.i::text, 9, '0'),
            'Stainless steel gooseneck kettle ' || a.i || ' for pour over coffee and tea',
            repeat('A kettle that pours slowly. ', 20), 9.99 + a.i % 40, 'USD', 10, 'Active',
            jsonb_build_array('Precise pour', 'Fast boil', '1 liter', 'Stainless', 'Warranty'),
            'kettle pour over coffee tea electric gooseneck'
        FROM generate_series(1, :asins) AS a(i)
        """,
    ),
    (
        "catalog_items",
        """
        INSERT INTO catalog_items (store_id, marketplace_id, asin, parent_asin, item_name, brand,
            images_count, fetched_at, bullet_points)
        SELECT :store, :market, 'B' || lpad(a.i::text, 9, '0'),
            'P' || lpad((a.i / 5)::text, 8, '0'), 'Stainless steel gooseneck kettle ' || a.i,
            'Bench Kitchen', 1 + a.i % 7, now(),
            jsonb_build_array('Precise pour', 'Fast boil', '1 liter', 'Stainless', 'Warranty')
        FROM generate_series(1, :asins) AS a(i)
        """,
    ),
    (
        "product_ratings",
        """
        INSERT INTO product_ratings (store_id, marketplace_id, asin, snapshot_date, rating,
            review_count, source)
        SELECT :store, :market, 'B' || lpad(a.i::text, 9, '0'), (:first)::date + w.k * 7,
            round((3.5 + random() * 1.5)::numeric, 1), 10 + w.k * (1 + a.i % 5), 'bench'
        FROM generate_series(0, :days / 7 - 1) AS w(k) CROSS JOIN generate_series(1, :asins) AS a(i)
        """,
    ),
    (
        "ads_entities",
        """
        WITH campaigns AS (
            INSERT INTO ads_campaigns (store_id, profile_id, campaign_id, name, state,
                targeting_type, budget, currency, budget_type)
            SELECT :store, :profile, 'C' || c.i, 'Campaign ' || c.i, 'ENABLED',
                CASE WHEN c.i % 4 = 0 THEN 'AUTO' ELSE 'MANUAL' END, 50, 'USD', 'DAILY'
            FROM generate_series(1, :asins / 5) AS c(i) RETURNING campaign_id
        ), groups AS (
            INSERT INTO ads_ad_groups (store_id, profile_id, ad_group_id, campaign_id, name,
                state, default_bid, currency)
            SELECT :store, :profile, 'G' || g.i, 'C' || (1 + (g.i - 1) / 5), 'Ad group ' || g.i,
                'ENABLED', 0.75, 'USD'
            FROM generate_series(1, :asins) AS g(i) RETURNING ad_group_id
        )
        INSERT INTO ads_targets (store_id, profile_id, target_id, kind, campaign_id, ad_group_id,
            keyword_text, match_type, state, bid, currency)
        SELECT :store, :profile, 'T' || t.i, 'keyword', 'C' || (1 + (t.i - 1) / 25),
            'G' || (1 + (t.i - 1) / 5), 'kettle term ' || t.i,
            (ARRAY['EXACT', 'PHRASE', 'BROAD'])[1 + t.i % 3], 'ENABLED', 0.50 + (t.i % 150) / 100.0,
            'USD'
        FROM generate_series(1, :asins * 5) AS t(i)
        """,
    ),
    (
        "ads_target_daily",
        """
        INSERT INTO ads_target_daily (store_id, profile_id, report_date, target_id, campaign_id,
            ad_group_id, keyword_text, match_type, keyword_type, keyword_bid, impressions, clicks,
            cost, currency, purchases_7d, sales_7d, units_sold_clicks_7d, purchases_14d, sales_14d)
        SELECT :store, :profile, (:first)::date + n.k, 'T' || t.i, 'C' || (1 + (t.i - 1) / 25),
            'G' || (1 + (t.i - 1) / 5), 'kettle term ' || t.i,
            (ARRAY['EXACT', 'PHRASE', 'BROAD'])[1 + t.i % 3], 'KEYWORD', 0.75, m.clicks * 40,
            m.clicks, round(m.clicks * 0.62, 2), 'USD', m.orders, m.orders * 24.99, m.orders,
            m.orders, m.orders * 24.99
        FROM generate_series(0, :days - 1) AS n(k) CROSS JOIN generate_series(1, :asins * 5) AS t(i)
        CROSS JOIN LATERAL (
            SELECT c AS clicks, floor(c * random() * (t.i % 7) / 40.0)::int AS orders
            FROM (SELECT floor(random() * 6)::int AS c) AS r
        ) AS m
        """,
    ),
    (
        "ads_search_term_daily",
        """
        INSERT INTO ads_search_term_daily (store_id, profile_id, report_date, campaign_id,
            ad_group_id, target_id, search_term, keyword_text, match_type, impressions, clicks,
            cost, currency, purchases_7d, sales_7d, units_sold_clicks_7d)
        SELECT store_id, profile_id, report_date, campaign_id, ad_group_id, target_id,
            keyword_text || CASE WHEN clicks % 2 = 0 THEN '' ELSE ' steel' END, keyword_text,
            match_type, impressions, clicks, cost, currency, purchases_7d, sales_7d,
            units_sold_clicks_7d
        FROM ads_target_daily
        WHERE store_id = :store AND clicks > 2
        """,
    ),
    (
        "ads_advertised_product_daily",
        """
        INSERT INTO ads_advertised_product_daily (store_id, profile_id, report_date, campaign_id,
            ad_group_id, ad_id, advertised_asin, advertised_sku, impressions, clicks, cost,
            currency, purchases_7d, sales_7d, units_sold_clicks_7d)
        SELECT store_id, profile_id, report_date, campaign_id, ad_group_id, 'A' || ad_group_id,
            'B' || lpad(substr(ad_group_id, 2), 9, '0'), 'SKU-' || substr(ad_group_id, 2),
            sum(impressions), sum(clicks), sum(cost), 'USD', sum(purchases_7d), sum(sales_7d),
            sum(units_sold_clicks_7d)
        FROM ads_target_daily WHERE store_id = :store
        GROUP BY store_id, profile_id, report_date, campaign_id, ad_group_id
        """,
    ),
    (
        "ads_campaign_daily",
        """
        INSERT INTO ads_campaign_daily (store_id, profile_id, report_date, campaign_id,
            ad_group_id, campaign_name, ad_group_name, impressions, clicks, cost, currency,
            purchases_7d, sales_7d, units_sold_clicks_7d)
        SELECT store_id, profile_id, report_date, campaign_id,
            coalesce(ad_group_id, ''), 'Campaign ' || substr(campaign_id, 2),
            CASE WHEN ad_group_id IS NULL THEN NULL ELSE 'Ad group ' || substr(ad_group_id, 2) END,
            sum(impressions), sum(clicks), sum(cost), 'USD', sum(purchases_7d), sum(sales_7d),
            sum(units_sold_clicks_7d)
        FROM ads_advertised_product_daily WHERE store_id = :store
        GROUP BY GROUPING SETS ((store_id, profile_id, report_date, campaign_id),
                                (store_id, profile_id, report_date, campaign_id, ad_group_id))
        """,
    ),
)


def build_page_store(
    engine: Engine, asins: int, days: int, today: date, progress=print
) -> tuple[Store, dict[str, int]]:
    """Create the store `bench` and fill every table the pages read; returns rows per table."""
    store = add_store(engine, slug="bench", name="Bench Kitchen", country_codes=["US"])
    first = today - timedelta(days=days)
    parameters = {
        "store": store.id,
        "market": US,
        "profile": PROFILE,
        "first": first,
        "days": days,
        "asins": asins,
        "today": today,
    }
    counts: dict[str, int] = {}
    with engine.begin() as connection:
        connection.execute(sa.text("SELECT setseed(0.42)"))
        connection.execute(
            sa.text(
                "INSERT INTO ads_profiles (store_id, profile_id, marketplace_id, country_code,"
                " currency, time_zone) VALUES (:store, :profile, :market, 'US', 'USD',"
                " 'America/Los_Angeles')"
            ),
            parameters,
        )
        for table, statement in STATEMENTS:
            progress(f"  filling {table} ...")
            counts[table] = connection.execute(sa.text(statement), parameters).rowcount
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE"))
    return store, counts
