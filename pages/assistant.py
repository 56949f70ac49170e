"""Assistant: chat about one ASIN's listing with an LLM on any OpenAI-compatible endpoint, and
check its proposals against Amazon's rules before anyone uses them. Nothing is written to Amazon.

Without an LLM (AMZ_LLM_BASE_URL unset) the page still shows the deterministic part: the
listing score, the converting terms the listing misses, and the rule findings. Other pages link
here with `?asin=B0...`. Logic lives in amzinsight/assistant; this page only renders.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from amzinsight.assistant.anonymise import Anonymiser
from amzinsight.assistant.chat import CONFIGURE_HINT, AssistantChat, llm_client, llm_configured
from amzinsight.assistant.context import AsinContext, build_context, listed_asins
from amzinsight.assistant.proposal import (
    ProposalError,
    ProposalReview,
    extract_proposal,
    review_proposal,
    send_keyword_proposals,
)
from amzinsight.assistant.tools import ToolCall, ToolRunner
from amzinsight.errors import AmzInsightError
from amzinsight.rules.listing_score import SCORE_RULES, SCORE_WEIGHTS
from app.components import (
    as_text,
    download_button,
    download_buttons,
    fact_tiles,
    money_format,
    require_store,
)
from app.context import cached, current_user, engine, settings, show_error
from app.filters import current_filters
from app.navigation import page

ASIN_KEY = "assistant_asin"
LINKED_ASIN_KEY = "assistant_linked_asin"
CHATS_KEY = "assistant_chats"
PROMPT_KEY = "assistant_prompt"
DRAFT_KEY = "assistant_draft"
DRAFT_PROMPT = (
    "Propose a better listing for this product: title, five bullet points, description and "
    "backend search terms, plus exact keywords to add and negatives, each with a reason from "
    "the data. Answer with the JSON block."
)

st.title("Assistant")
filters = current_filters()
store = require_store(
    filters, "the Listings and Catalog syncs (and the Ads syncs for the search terms)"
)
ids = filters.marketplace_ids
start, end = filters.date_range.start, filters.date_range.end

try:
    asins = cached(listed_asins, store.id, ids)
except AmzInsightError as error:
    show_error(error)
    st.stop()
if asins.is_empty():
    st.info(
        "**No listings for this marketplace yet.** The **Listings** and **Catalog** syncs fill "
        "this page (the assistant works on their titles, bullets and search terms), and the "
        "**Ads** syncs its converting search terms: run them from the Sync page."
    )
    st.stop()

titles = dict(zip(asins["asin"], asins["title"], strict=True))
linked = st.query_params.get("asin")
if linked in titles and st.session_state.get(LINKED_ASIN_KEY) != linked:
    st.session_state[ASIN_KEY] = linked  # arriving from a link picks its ASIN once
    st.session_state[LINKED_ASIN_KEY] = linked
asin = st.selectbox(
    "ASIN",
    list(titles),
    format_func=lambda a: f"{a} - {(titles[a] or 'no title')[:80]}",
    key=ASIN_KEY,
)

try:
    context = build_context(engine(), store.id, ids, asin, start, end)
except AmzInsightError as error:
    show_error(error)
    st.stop()

# --- the deterministic part ----------------------------------------------------------------


def score_table(context: AsinContext) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "part": name.replace("_", " "),
                "points": context.score.parts.get(name),
                "of": weight,
                "how": SCORE_RULES[name],
            }
            for name, weight in SCORE_WEIGHTS.items()
        ],
        schema={"part": pl.String, "points": pl.Float64, "of": pl.Int64, "how": pl.String},
    )


st.subheader("Listing score")
fact_tiles(
    [
        (
            "Listing score",
            "-" if context.score.total is None else f"{context.score.total:.1f} / 100",
            "Weights and rules below; parts without data are left out, not scored 0.",
        ),
        (
            "Converting terms missing",
            f"{len(context.missing_terms)} of {len(context.converting_terms)}",
            f"Search terms with 7-day orders in {start:%d %b} - {end:%d %b} from this ASIN's "
            "ad groups whose words the title, bullets and backend terms do not hold.",
        ),
        ("Rule errors", f"{sum(f.severity == 'error' for f in context.findings)}", None),
        ("Rule warnings", f"{sum(f.severity == 'warning' for f in context.findings)}", None),
    ]
)
with st.expander("Score parts and weights"):
    parts = score_table(context)
    st.dataframe(
        parts.with_columns(
            pl.col("part").str.slice(0, 1).str.to_uppercase() + pl.col("part").str.slice(1)
        ),
        hide_index=True,
        width="stretch",
        placeholder="not scored",  # a part without data is left out, not scored 0
        column_config={
            "part": "Part",
            "points": st.column_config.NumberColumn("Points", format="%.1f"),
            "of": st.column_config.NumberColumn("Out of", format="%d"),
            "how": "How it is scored",
        },
    )
    download_buttons(parts, f"listing_score_{asin}", key="assistant_score_download")

if not context.has_listing:
    st.info(
        "**No listing content for this ASIN yet.** The **Listings** and **Catalog** syncs fill "
        "it: run them from the Sync page."
    )
for finding in context.findings:
    show = st.error if finding.severity == "error" else st.warning
    show(f"{as_text(finding.message)} _({finding.source})_")
if context.has_listing and not context.findings:
    st.success("The current listing passes every listing rule checked.")

st.subheader("Converting search terms")
if context.converting_terms:
    terms = pl.DataFrame(
        [
            {
                "search term": term.term,
                "in listing": term.coverage,
                "clicks": term.clicks,
                "orders (7d)": term.orders_7d,
                "spend": term.spend,
                "sales (7d)": term.sales_7d,
                "ACoS (7d)": term.acos_7d,
            }
            for term in context.converting_terms
        ],
        schema={
            "search term": pl.String,
            "in listing": pl.String,
            "clicks": pl.Int64,
            "orders (7d)": pl.Int64,
            "spend": pl.Decimal(18, 2),
            "sales (7d)": pl.Decimal(18, 2),
            "ACoS (7d)": pl.Float64,
        },
    )
    money = money_format(filters.currency)
    st.dataframe(
        terms.with_columns(pl.col("ACoS (7d)") * 100),  # a fraction, shown with one decimal
        hide_index=True,
        width="stretch",
        placeholder="",
        column_config={
            "search term": "Search term",
            "in listing": "In the listing",
            "clicks": st.column_config.NumberColumn("Clicks", format="%,d"),
            "orders (7d)": st.column_config.NumberColumn("Orders (7-day)", format="%,d"),
            "spend": st.column_config.NumberColumn("Spend", format=money),
            "sales (7d)": st.column_config.NumberColumn("Sales (7-day)", format=money),
            "ACoS (7d)": st.column_config.NumberColumn("ACoS (7-day)", format="%.1f%%"),
        },
    )
    download_buttons(terms, f"converting_terms_{asin}", key="assistant_terms_download")
else:
    st.info(
        "**No converting search terms for this ASIN in this range.** The **Sponsored Products "
        "search terms** and **advertised products** syncs fill them: run them from the Sync "
        "page."
    )

# --- the chat -----------------------------------------------------------------------------------

st.subheader("Chat")
current = settings()
if not llm_configured(current.llm):
    st.info(f"**No LLM is configured.** {CONFIGURE_HINT}")
    st.stop()


def render_tool_call(call: ToolCall | dict[str, Any]) -> None:
    data = call if isinstance(call, dict) else call.__dict__
    label = f"Tool: {as_text(data['name'])}({as_text(data['arguments'] or '')})"
    with st.status(label, state="error" if data["error"] else "complete", expanded=False):
        if data["error"]:
            st.warning(as_text(data["error"]))
        else:
            st.json(data["result"], expanded=False)


def render_review(review: ProposalReview, number: int) -> None:
    """The proposal next to the current listing, its checks, and what to do with it."""
    st.markdown("**Proposal, checked**")
    before, after = review.score_before.total, review.score_after.total
    change = None if before is None or after is None else round(after - before, 1)
    left, right = st.columns(2)
    left.metric("Score now", "-" if before is None else f"{before:.1f}", border=True)
    right.metric(
        "Score with the proposal",
        "-" if after is None else f"{after:.1f}",
        delta=None if change is None else f"{change:+.1f}",
        border=True,
    )
    for repair in review.repairs:
        st.info(f"Repaired: {repair}")
    for finding in review.findings:
        show = st.error if finding.severity == "error" else st.warning
        show(f"Still flagged: {as_text(finding.message)}")
    if not review.findings:
        st.success("The proposal passes every listing rule checked.")
    for row in review.diff:
        if not row["changed"]:
            continue
        st.markdown(f"**{row['field'].capitalize()}**")
        was, becomes = st.columns(2)
        was.caption("Current")
        was.text(row["current"] or "(empty)")
        becomes.caption("Proposed")
        becomes.text(row["proposed"] or "(empty)")
    if review.coverage:
        coverage = pl.DataFrame(review.coverage)
        st.dataframe(
            coverage,
            hide_index=True,
            width="stretch",
            placeholder="",
            column_config={
                "term": "Search term",
                "orders_7d": st.column_config.NumberColumn("Orders (7-day)", format="%,d"),
                "before": "In the listing now",
                "after": "In the proposal",
            },
        )
        download_buttons(coverage, f"proposal_coverage_{asin}", key=f"assistant_cov_{number}")
    keywords = review.proposal.exact_keywords + review.proposal.negative_keywords
    columns = st.columns([1, 1, 3])
    download_button(
        "JSON",
        review.to_json,
        file_name=f"proposal_{asin}.json",
        mime="application/json",
        key=f"assistant_json_{number}",
        container=columns[0],
    )
    download_button(
        "TXT",
        review.to_text,
        file_name=f"proposal_{asin}.txt",
        mime="text/plain",
        key=f"assistant_txt_{number}",
        container=columns[1],
    )
    plural = "" if len(keywords) == 1 else "s"
    if keywords and columns[2].button(
        f"Send {len(keywords)} keyword{plural} to Advertising", key=f"assistant_send_{number}"
    ):
        actor = current_user()
        try:
            saved = send_keyword_proposals(
                engine(), store.id, ids, asin, review.proposal, start, end, filters.today, actor
            )
        except AmzInsightError as error:
            show_error(error)
        else:
            if saved:
                st.success(f"{saved} recommendations to approve are on the Advertising page.")
                st.page_link(page("advertising"), label="Open Advertising")
            else:
                st.info(
                    "No recommendations added: they are there already, or the Ads syncs have "
                    "no ad group for this ASIN yet."
                )


def render_reply(content: str, number: int) -> None:
    """A reply's proposal block, reviewed; a malformed one as one sentence."""
    try:
        proposal = extract_proposal(content)
    except ProposalError as error:
        show_error(error)
        return
    if proposal is not None:
        render_review(review_proposal(proposal, context), number)


chats: dict[str, list[dict[str, Any]]] = st.session_state.setdefault(CHATS_KEY, {})
history = chats.setdefault(f"{store.id}|{','.join(ids)}|{asin}", [])
for number, message in enumerate(history):
    with st.chat_message(message["role"]):
        for call in message.get("tools", []):
            render_tool_call(call)
        if message.get("content"):
            st.markdown(message["content"])
        if message.get("error"):
            st.error(as_text(message["error"]))
        if message["role"] == "assistant" and message.get("content"):
            render_reply(message["content"], number)

prompt = st.chat_input("Ask about this listing, or for a proposal", key=PROMPT_KEY)
if st.button("Draft a proposal", key=DRAFT_KEY, icon=":material/edit_note:"):
    prompt = DRAFT_PROMPT
if prompt:
    history.append({"role": "user", "content": prompt})
    with st.chat_message("user"):
        st.markdown(prompt)
    chat = AssistantChat(
        client=llm_client(current.llm),
        model=current.llm.model,
        anonymiser=Anonymiser.for_store(store, current),
        context=context,
        tools=ToolRunner(engine(), store.id, ids, asin, filters.today),
    )
    sent = [{"role": m["role"], "content": m["content"]} for m in history if m.get("content")]
    calls: list[dict[str, Any]] = []

    def text_deltas() -> Any:
        for part in chat.stream(sent):
            if isinstance(part, ToolCall):
                calls.append(part.__dict__)
                render_tool_call(part)
            else:
                yield part

    with st.chat_message("assistant"):
        entry: dict[str, Any] = {"role": "assistant", "content": "", "tools": calls}
        try:
            streamed = st.write_stream(text_deltas())
            entry["content"] = streamed if isinstance(streamed, str) else "".join(streamed)
        except AmzInsightError as error:
            entry["error"] = str(error)
            show_error(error)
        history.append(entry)
        if entry["content"]:
            render_reply(entry["content"], len(history) - 1)
