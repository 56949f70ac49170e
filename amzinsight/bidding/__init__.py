"""The bidder: bid, harvest and negative recommendations for Sponsored Products, one owner for
the bid_recommendations table.

- policy: every threshold, with its default and why (BidPolicy).
- evidence: the numbers behind a recommendation, one typed record (Evidence), read and written
  by every module below.
- engine (with bids, harvest, negatives, search_terms, smoothing, frames, text): the pure
  engine, frames in, recommendations out, no database.
- inputs: what the engine reads from PostgreSQL; recommend: inputs -> engine for a store.
- store: the only writer of bid_recommendations (the bidder's proposals, the Assistant's,
  approve / reject, applied, undone); queries: what the pages read of it.
- apply: approved recommendations to Amazon through the Ads API, and undo (bid_changes).
- bulk_sheet: approved recommendations as an Amazon Ads bulk-operations file.
- review: the recommendations as a PPC manager reviews them (expected effect, evidence in words).

Import the module you need (`from amzinsight.bidding.recommend import recommend`): this file
imports nothing, so the pure engine loads without the database code.
"""
