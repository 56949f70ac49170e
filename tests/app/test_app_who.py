"""Who made a change, through AppTest: without a sign-in proxy the page asks for a name before a
unit cost or a correction is saved and records that name; with AMZ_TRUSTED_USER_HEADER the proxy's
header names the person, and a request without it changes nothing.

AppTest cannot send request headers (its `context` seeds only what a browser reports about
itself), so the header tests replace `app.context._request_headers`, the one place that reads
`st.context.headers`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from streamlit.runtime.context import StreamlitHeaders
from streamlit.testing.v1 import AppTest

import app.context
from amzinsight.config import get_settings
from amzinsight.db import tables
from amzinsight.db.engine import get_engine
from amzinsight.edits.audit import UNIT_COST_ACTION
from amzinsight.rules.periods import local_today
from amzinsight.stores import Store, add_store
from app.components import as_text
from app.context import USER_INPUT_KEY

pytestmark = [pytest.mark.app, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
ENTRY = str(ROOT / "app" / "main.py")
FINANCE = str(ROOT / "pages" / "finance.py")
PRIVACY = str(ROOT / "pages" / "privacy.py")
US = "ATVPDKIKX0DER"
HEADER = "X-Forwarded-User"
SOLD = local_today("America/Los_Angeles") - timedelta(days=3)  # inside "Last 30 days"
ASKED = "Who is making this change?"
audit_log = tables.audit_log


@pytest.fixture
def app_database(
    migrated_database_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> str:
    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    monkeypatch.setenv("AMZ_REDIS_URL", redis_url)
    get_settings.cache_clear()
    return migrated_database_url


@pytest.fixture
def store(app_database: str) -> Store:
    """A store that sold one mug three days ago, with no unit cost for it yet."""
    engine = get_engine(app_database)
    store = add_store(engine, slug="acme_us", name="Acme US", country_codes=["US"])
    sold = SOLD
    with engine.begin() as connection:
        connection.execute(
            sa.insert(tables.orders).values(
                store_id=store.id, amazon_order_id="111-0000001-0000000", marketplace_id=US,
                purchase_date=datetime(sold.year, sold.month, sold.day, 1, tzinfo=UTC),
                purchase_local_date=sold, order_status="Shipped", currency="USD",
            )
        )  # fmt: skip
        connection.execute(
            sa.insert(tables.order_items).values(
                store_id=store.id, amazon_order_id="111-0000001-0000000", sku="MUG-1",
                asin="B0MUG00001", quantity=1, item_price=Decimal("30.00"), currency="USD",
            )
        )  # fmt: skip
    return store


def page(path: str) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    at.switch_page(path).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def enter_a_cost(at: AppTest) -> None:
    """Type 11.50 for the one uncosted SKU the editor lists, and click Save."""
    assert list(at.data_editor[0].value["sku"]) == ["MUG-1"]
    at.session_state["finance_cogs_editor"] = {
        "edited_rows": {0: {"unit_cost": 11.5}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.button(key="finance_cogs_save").click().run()
    assert not at.exception, [e.value for e in at.exception]


def unit_costs(engine: Engine, store: Store) -> list[tuple[str, Decimal]]:
    with engine.connect() as connection:
        return [
            (row.sku, row.unit_cost)
            for row in connection.execute(
                sa.select(tables.cogs.c.sku, tables.cogs.c.unit_cost).where(
                    tables.cogs.c.store_id == store.id
                )
            )
        ]


def audit(engine: Engine, action: str) -> list[tuple[str, str | None, str]]:
    with engine.connect() as connection:
        return [
            (row.actor, row.new_value, row.store_slug)
            for row in connection.execute(
                sa.select(audit_log.c.actor, audit_log.c.new_value, audit_log.c.store_slug)
                .where(audit_log.c.action == action)
                .order_by(audit_log.c.id)
            )
        ]


def test_a_unit_cost_waits_for_a_name_and_records_it(store: Store, app_database: str) -> None:
    engine = get_engine(app_database)
    at = page(FINANCE)
    assert at.sidebar.text_input(key=USER_INPUT_KEY).value == ""

    enter_a_cost(at)
    assert any(ASKED in block.value for block in at.warning), [w.value for w in at.warning]
    assert unit_costs(engine, store) == []  # asked, not saved
    assert audit(engine, UNIT_COST_ACTION) == []

    at.sidebar.text_input(key=USER_INPUT_KEY).input("  Anna \t Berg ").run()
    at.button(key="finance_cogs_save").click().run()  # the edit is still in the table
    assert not at.exception, [e.value for e in at.exception]
    assert any("Saved 1 unit cost" in block.value for block in at.success)
    assert unit_costs(engine, store) == [("MUG-1", Decimal("11.5000"))]
    assert audit(engine, UNIT_COST_ACTION) == [("Anna Berg", "11.5000 USD", "acme_us")]
    (log,) = [f.value for f in at.dataframe if "actor" in f.value.columns]
    assert log[["key", "new_value", "actor"]].to_dict("records") == [
        {
            "key": f"SKU MUG-1, Effective from {SOLD}",
            "new_value": "11.5000 USD",
            "actor": "Anna Berg",
        }
    ]
    assert log["old_value"].isna().all()  # a new cost: nothing before it

    at.switch_page(PRIVACY).run()  # the name is asked once per session, not per page
    assert at.sidebar.text_input(key=USER_INPUT_KEY).value == "Anna Berg"


def test_a_correction_waits_for_a_name_and_records_it(store: Store, app_database: str) -> None:
    engine = get_engine(app_database)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(tables.cogs).values(
                store_id=store.id, sku="MUG-1", effective_from=date(2026, 1, 1),
                unit_cost=Decimal("12.50"), currency="USD",
            )
        )  # fmt: skip
    at = page(PRIVACY)

    def submit_correction() -> None:
        at.selectbox(key="privacy_correction_table").set_value("cogs").run()
        at.selectbox(key="privacy_correction_field").set_value("unit_cost")
        at.text_input(key="privacy_correction_key_sku").set_value("MUG-1")
        at.text_input(key="privacy_correction_key_effective_from").set_value("2026-01-01")
        at.text_area(key="privacy_correction_value").set_value("9.75")
        at.text_input(key="privacy_correction_reason").set_value("supplier invoice")
        next(b for b in at.button if b.label == "Save correction").click().run()
        assert not at.exception, [e.value for e in at.exception]

    submit_correction()
    assert any(ASKED in block.value for block in at.warning), [w.value for w in at.warning]
    assert unit_costs(engine, store) == [("MUG-1", Decimal("12.5000"))]
    assert audit(engine, "correction") == []

    at.sidebar.text_input(key=USER_INPUT_KEY).input("Chris").run()
    submit_correction()
    assert any("Later syncs keep it" in block.value for block in at.success)
    assert unit_costs(engine, store) == [("MUG-1", Decimal("9.7500"))]
    assert audit(engine, "correction") == [("Chris", "9.7500", "acme_us")]
    (history,) = [f.value for f in at.dataframe if "old_value" in f.value.columns]
    assert history["actor"].tolist() == ["Chris"]


def test_behind_a_proxy_the_header_names_the_person(
    store: Store, app_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMZ_TRUSTED_USER_HEADER", HEADER)
    get_settings.cache_clear()
    # header names are case-insensitive, as the proxy may send them in any case
    headers = StreamlitHeaders([("x-forwarded-user", "dana@acme.example")])
    monkeypatch.setattr(app.context, "_request_headers", lambda: headers)
    engine = get_engine(app_database)

    at = page(FINANCE)
    assert not [t for t in at.sidebar.text_input if t.key == USER_INPUT_KEY]  # nothing to ask
    named = f"**{as_text('dana@acme.example')}**"  # the header's value is shown as text, in bold
    assert any(named in c.value for c in at.sidebar.caption)
    enter_a_cost(at)

    assert any("Saved 1 unit cost" in block.value for block in at.success)
    assert audit(engine, UNIT_COST_ACTION) == [("dana@acme.example", "11.5000 USD", "acme_us")]


def test_behind_a_proxy_a_request_without_the_header_changes_nothing(
    store: Store, app_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMZ_TRUSTED_USER_HEADER", HEADER)
    get_settings.cache_clear()
    monkeypatch.setattr(app.context, "_request_headers", lambda: StreamlitHeaders([]))
    engine = get_engine(app_database)

    at = page(FINANCE)
    assert not [t for t in at.sidebar.text_input if t.key == USER_INPUT_KEY]  # no guessing
    enter_a_cost(at)

    assert any(f"no {HEADER} header" in block.value for block in at.error), at.error
    assert unit_costs(engine, store) == []
    assert audit(engine, UNIT_COST_ACTION) == []
