"""Finance: settlements reconciled to the cent, where the money went, Amazon fees per unit, profit
per ASIN, and the unit costs (COGS) that profit needs, entered here or imported from a CSV."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import polars as pl
import streamlit as st

from amzinsight.analytics.finance import (
    COGS_UNKNOWN,
    cogs_table,
    fees_per_unit,
    finance_kpis,
    missing_cogs,
    profit_by_asin,
    settlement_amounts_by_period,
    settlement_breakdown,
    settlement_reconciliation,
)
from amzinsight.analytics.ledger import FINANCES_API, deferred_money, ledger_sources
from amzinsight.edits.audit import UNIT_COST_ACTION, change_log
from amzinsight.edits.unit_costs import KNOWN_CURRENCIES, import_cogs_csv, save_cogs
from amzinsight.errors import AmzInsightError
from amzinsight.rules.settlements import CATEGORIES
from app.components import (
    Kpi,
    as_text,
    change_log_table,
    download_buttons,
    empty_state,
    format_money,
    kpi_tiles,
    money_format,
    require_store,
)
from app.context import cached, current_user, engine, show_error
from app.filters import current_filters
from app.labels import DATE_FORMAT

SETTLEMENTS_SYNC = "The Settlements sync"
NOTICE_KEY = "finance_cogs_notice"
EDITOR_KEY = "finance_cogs_editor"

st.title("Finance")
filters = current_filters()
store = require_store(filters, "the Settlements sync")
period = filters.date_range
ids = filters.marketplace_ids
currency = filters.currency
money = money_format(currency)
stem = f"{store.slug}-{period.start}-{period.end}"

try:
    kpis = cached(finance_kpis, store.id, ids, period.start, period.end)
    previous = (
        cached(finance_kpis, store.id, ids, filters.comparison.start, filters.comparison.end)
        if filters.comparison
        else None
    )
    settlements = cached(settlement_reconciliation, store.id, period.start, period.end, currency)
    breakdown = cached(settlement_breakdown, store.id, period.start, period.end, currency)
    by_period = cached(
        settlement_amounts_by_period,
        store.id,
        period.start,
        period.end,
        filters.granularity,
        currency,
    )
    fees = cached(fees_per_unit, store.id, ids, period.start, period.end)
    profit = cached(profit_by_asin, store.id, ids, period.start, period.end)
    uncosted = cached(missing_cogs, store.id, ids, period.start, period.end)
    costs = cached(cogs_table, store.id)
    sources = cached(ledger_sources, store.id, period.start, period.end, currency)
    deferred = cached(deferred_money, store.id, currency)
except AmzInsightError as error:
    show_error(error)
    st.stop()

now = kpis.row(0, named=True) if kpis.height else {}
before = previous.row(0, named=True) if previous is not None and previous.height else {}
unknown_asins = now.get("asins_cogs_unknown") or 0
kpi_tiles(
    [
        Kpi(
            "Deposits",
            now.get("deposits"),
            before.get("deposits"),
            kind="money",
            help=f"{now.get('settlements_deposited', 0)} settlement(s) paid out in the range "
            "(deposit date, UTC), as `amzinsight metrics` lists them.",
        ),
        Kpi(
            "Amazon fees",
            now.get("amazon_fees"),
            before.get("amazon_fees"),
            kind="money",
            lower_is_better=True,
            help="Commission, FBA, storage and other Amazon fees posted in the range.",
        ),
        Kpi(
            "Refunds",
            now.get("refunds"),
            before.get("refunds"),
            kind="money",
            lower_is_better=True,
            help="Refunds posted in the range, net of the commission Amazon gives back.",
        ),
        Kpi(
            "Profit (COGS known)",
            now.get("profit_known"),
            before.get("profit_known"),
            kind="money",
            help=(
                f"ASINs whose unit cost is known; {unknown_asins} ASIN(s) with unknown COGS "
                "are left out (see Profit by ASIN)."
            ),
        ),
    ],
    currency,
)

# --- settlements ---------------------------------------------------------------------------------

st.subheader("Settlements")
if settlements.is_empty():
    empty_state("settlements", SETTLEMENTS_SYNC)
else:
    reconciled = int(settlements["reconciles"].sum())
    st.caption(
        f"**{reconciled} of {settlements.height} settlements reconcile**: their lines add up to "
        "the amount deposited. Listed: every settlement whose period or payout touches the range."
    )
    shown = settlements.select(
        pl.when(pl.col("reconciles"))
        .then(pl.lit("✅ Reconciles"))
        .otherwise(pl.lit("⚠️ Does not add up"))
        .alias("status"),
        "settlement_id",
        "settlement_start",
        "settlement_end",
        "deposit_date",
        "deposited_in_range",
        "currency",
        "total_amount",
        "lines_sum",
        "difference",
        "line_count",
    )
    st.dataframe(
        shown,
        hide_index=True,
        key="finance_settlements",
        placeholder="",
        column_config={
            "status": "Status",
            "settlement_id": "Settlement",
            "settlement_start": st.column_config.DatetimeColumn(
                "From (UTC)", format=DATE_FORMAT, timezone="UTC"
            ),
            "settlement_end": st.column_config.DatetimeColumn(
                "To (UTC)", format=DATE_FORMAT, timezone="UTC"
            ),
            "deposit_date": st.column_config.DatetimeColumn(
                "Deposit (UTC)", format=DATE_FORMAT, timezone="UTC"
            ),
            "deposited_in_range": st.column_config.CheckboxColumn("Paid in range"),
            "currency": "Currency",
            "total_amount": st.column_config.NumberColumn("Deposit", format=money),
            "lines_sum": st.column_config.NumberColumn("Sum of lines", format=money),
            "difference": st.column_config.NumberColumn("Difference", format=money),
            "line_count": st.column_config.NumberColumn("Lines", format="%,d"),
        },
    )
    download_buttons(shown, f"{stem}-settlements", "finance_settlements_download")
    for row in settlements.filter(~pl.col("reconciles")).iter_rows(named=True):
        # as text: Streamlit's Markdown reads what lies between two "$" amounts as a formula
        st.warning(
            as_text(
                f"Settlement {row['settlement_id']}: its lines add up to "
                f"{format_money(row['lines_sum'], currency)}, the deposit is "
                f"{format_money(row['total_amount'], currency)} "
                f"(difference {format_money(row['difference'], currency)})."
            )
        )

st.subheader("Where the money went")
if breakdown.is_empty():
    st.caption("No settlement lines posted in this range.")
else:
    st.caption(
        as_text(
            "Sources: "
            + "; ".join(
                f"{row['source']}: {row['lines']:,} lines posted "
                f"{row['first_posted']:%b %d, %Y} to {row['last_posted']:%b %d, %Y}"
                for row in sources.iter_rows(named=True)
            )
            + ". A settlement report, once stored, is the truth for its settlement; the "
            f"{FINANCES_API} fills the periods no stored report covers (Amazon lists settlement "
            "reports for 90 days only) and the days since the last settlement."
        )
    )
    figure = px.bar(
        by_period.with_columns(pl.col("amount").cast(pl.Float64)).to_pandas(),
        x="period",
        y="amount",
        color="category",
        category_orders={"category": list(CATEGORIES)},
        labels={"period": filters.granularity.capitalize(), "amount": currency, "category": ""},
        title=f"Settlement lines by posted {filters.granularity}",
    )
    figure.update_layout(barmode="relative", margin={"t": 48, "b": 8})
    st.plotly_chart(figure, width="stretch")
    st.dataframe(
        breakdown,
        hide_index=True,
        key="finance_breakdown",
        placeholder="",
        column_config={
            "category": "Category",
            "source": "Source",
            "transaction_type": "Transaction",
            "amount_type": "Amount type",
            "amount_description": "Description",
            "currency": "Currency",
            "amount": st.column_config.NumberColumn("Amount", format=money),
            "lines": st.column_config.NumberColumn("Lines", format="%,d"),
        },
    )
    download_buttons(breakdown, f"{stem}-settlement-breakdown", "finance_breakdown_download")

if not deferred.is_empty():
    for row in deferred.iter_rows(named=True):
        releases = (
            f", released from {row['next_release']:%b %d} to {row['last_release']:%b %d}"
            if row["next_release"] is not None
            else ""
        )
        st.info(
            as_text(
                f"Held back by Amazon (deferred, not paid yet): "
                f"{format_money(row['amount'], row['currency'])} in {row['transactions']:,} "
                f"transactions on {row['marketplace_name'] or 'the account'}{releases}. "
                "Not counted above until Amazon releases it."
            )
        )

# --- fees per unit -------------------------------------------------------------------------------

st.subheader("Amazon fees per unit")
if fees.is_empty():
    st.caption("No settled order lines in this range for this marketplace.")
else:
    st.dataframe(
        fees,
        hide_index=True,
        key="finance_fees",
        placeholder="",
        column_config={
            "sku": "SKU",
            "asin": "ASIN",
            "currency": "Currency",
            "units_sold": st.column_config.NumberColumn("Units settled", format="%,d"),
            "amazon_fees": st.column_config.NumberColumn("Amazon fees", format=money),
            "referral_fees": st.column_config.NumberColumn("Referral", format=money),
            "fba_fees": st.column_config.NumberColumn("FBA", format=money),
            "fees_per_unit": st.column_config.NumberColumn("Fees per unit", format=money),
        },
    )
    download_buttons(fees, f"{stem}-fees-per-unit", "finance_fees_download")

# --- profit --------------------------------------------------------------------------------------

st.subheader("Profit by ASIN")
if profit.is_empty():
    st.caption("No orders, settled fees or ad spend in this range for this marketplace.")
else:
    st.caption(
        "Sales are the item prices of the orders bought in the range; fees and refunds are the "
        "settlement lines posted in it; ad spend is Sponsored Products cost; COGS is each unit "
        "at the unit cost in effect on its sale date. Without a unit cost, COGS and profit stay "
        "unknown (never counted as zero)."
    )
    if unknown_asins:
        st.warning(
            f"{COGS_UNKNOWN} for {unknown_asins} ASIN(s): add their unit costs below to see "
            "their profit."
        )
    st.dataframe(
        profit.with_columns(pl.col("margin") * 100),  # a fraction, shown with one decimal
        hide_index=True,
        key="finance_profit",
        placeholder="unknown",  # no unit cost: COGS, profit and margin are unknown, not zero
        column_config={
            "asin": "ASIN",
            "skus": "SKUs",
            "currency": "Currency",
            "units_sold": st.column_config.NumberColumn("Units", format="%,d"),
            "sales": st.column_config.NumberColumn("Sales", format=money),
            "amazon_fees": st.column_config.NumberColumn("Amazon fees", format=money),
            "refunds": st.column_config.NumberColumn("Refunds", format=money),
            "ad_spend": st.column_config.NumberColumn("Ad spend", format=money),
            "cogs": st.column_config.NumberColumn("COGS", format=money),
            "profit": st.column_config.NumberColumn("Profit", format=money),
            "margin": st.column_config.NumberColumn("Margin", format="%.1f%%"),
            "units_without_cogs": st.column_config.NumberColumn("Units without COGS", format="%,d"),
            "cogs_status": "COGS status",
        },
    )
    download_buttons(profit, f"{stem}-profit-by-asin", "finance_profit_download")

# --- COGS ----------------------------------------------------------------------------------------

st.subheader("Unit costs (COGS)")
notice = st.session_state.pop(NOTICE_KEY, None)
if notice:
    st.success(notice)
if costs.is_empty():
    st.caption("No unit costs yet: enter them below or import a CSV.")
else:
    st.dataframe(
        costs,
        hide_index=True,
        key="finance_cogs",
        placeholder="",
        column_config={
            "sku": "SKU",
            "asin": "ASIN",
            "effective_from": st.column_config.DateColumn("From", format=DATE_FORMAT),
            "effective_until": st.column_config.DateColumn("Until", format=DATE_FORMAT),
            "unit_cost": st.column_config.NumberColumn("Unit cost", format=money),
            "currency": "Currency",
            "note": "Note",
            "created_at": st.column_config.DatetimeColumn(
                "Added (UTC)", format=DATE_FORMAT, timezone="UTC"
            ),
        },
    )
    download_buttons(costs, f"{store.slug}-cogs", "finance_cogs_download")

enter, upload = st.tabs(["Enter unit costs", "Import a CSV"])
with enter:
    st.caption(
        "SKUs sold in the range without a unit cost are listed, effective from their first such "
        "sale; fill in the unit cost (or add rows with a SKU or an ASIN) and save. Rows without "
        "a unit cost are skipped."
    )
    seed = pd.DataFrame(
        {
            "sku": pd.Series(uncosted["sku"].to_list(), dtype="object"),
            "asin": pd.Series(uncosted["asin"].to_list(), dtype="object"),
            "unit_cost": pd.Series([None] * uncosted.height, dtype="float64"),
            "currency": pd.Series([currency] * uncosted.height, dtype="object"),
            "effective_from": pd.Series(uncosted["first_sale_date"].to_list(), dtype="object"),
            "note": pd.Series([None] * uncosted.height, dtype="object"),
        }
    )
    edited = st.data_editor(
        seed,
        num_rows="dynamic",
        hide_index=True,
        key=EDITOR_KEY,
        placeholder="",
        column_config={
            "sku": st.column_config.TextColumn("SKU"),
            "asin": st.column_config.TextColumn("ASIN (all its SKUs)"),
            "unit_cost": st.column_config.NumberColumn(
                "Unit cost", min_value=0.0, step=0.01, format=money
            ),
            "currency": st.column_config.SelectboxColumn(
                "Currency", options=sorted(KNOWN_CURRENCIES), default=currency
            ),
            "effective_from": st.column_config.DateColumn("Effective from", format=DATE_FORMAT),
            "note": st.column_config.TextColumn("Note"),
        },
    )
    if st.button("Save unit costs", key="finance_cogs_save", type="primary"):
        rows = [row for row in edited.to_dict("records") if pd.notna(row.get("unit_cost"))]
        if not rows:
            st.warning("Enter a unit cost in at least one row first.")
        else:
            try:
                saved = save_cogs(engine(), store.id, rows, current_user())
            except AmzInsightError as error:
                show_error(error)
            else:
                st.session_state[NOTICE_KEY] = f"Saved {saved} unit cost(s)."
                del st.session_state[EDITOR_KEY]  # the listed SKUs change once costed
                st.rerun()
with upload:
    st.caption(
        "A CSV with a header line: `sku` (or `asin`, for all of its SKUs), `unit_cost`, "
        "`currency`, `effective_from` (YYYY-MM-DD), and optionally `note`. Nothing is saved "
        "unless every line is valid."
    )
    uploaded = st.file_uploader("COGS CSV", type=["csv"], key="finance_cogs_file")
    if st.button("Import", key="finance_cogs_import", disabled=uploaded is None):
        content = uploaded.getvalue() if uploaded else b""
        try:
            imported = import_cogs_csv(engine(), store.id, content, current_user())
        except AmzInsightError as error:
            show_error(error)
        else:
            file_name = as_text(uploaded.name)  # the name the person's file has
            st.session_state[NOTICE_KEY] = f"Imported {imported} unit cost(s) from {file_name}."
            st.rerun()
with st.expander("Unit cost changes: who made them, and when"):
    change_log_table(cached(change_log, store.id, UNIT_COST_ACTION), key="finance_cogs_changes")
