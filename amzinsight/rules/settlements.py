"""How settlement lines are classified: the categories the Finance page sums them into.

`amzinsight.analytics.finance` turns CATEGORY_RULES into one SQL CASE; the rules themselves are
plain data, so the mapping can be read and checked without a database.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CategoryRule:
    """Lines matching every given pattern (SQL ILIKE; None matches anything) fall in `category`."""

    category: str
    transaction_type: str | None = None
    amount_type: str | None = None
    amount_description: str | None = None


PRINCIPAL = "Principal"
TAX = "Tax"
PROMOTIONS = "Promotions"
AMAZON_FEES = "Amazon fees"
REFUNDS = "Refunds"
ADVERTISING = "Advertising"
REIMBURSEMENTS = "Reimbursements"
RESERVES = "Reserves"
OTHER = "Other"
CATEGORIES = (
    PRINCIPAL,
    TAX,
    PROMOTIONS,
    AMAZON_FEES,
    REFUNDS,
    ADVERTISING,
    REIMBURSEMENTS,
    RESERVES,
    OTHER,
)

# The one mapping from a settlement line to its category; the first matching rule wins, and a
# line no rule matches is OTHER. Examples are the V2 flat file's (transaction-type, amount-type,
# amount-description) values.
CATEGORY_RULES: tuple[CategoryRule, ...] = (
    # Every line of a refund (principal back to the buyer, tax, the commission Amazon returns and
    # its RefundCommission): the net cost of the refund, as Amazon settles it.
    CategoryRule(REFUNDS, transaction_type="%Refund%"),
    # (Order, ItemPrice, Tax | ShippingTax | GiftWrapTax)
    CategoryRule(TAX, amount_type="ItemPrice", amount_description="%Tax%"),
    # (Order, ItemPrice, Principal | Shipping | GiftWrap): what buyers paid, before tax
    CategoryRule(PRINCIPAL, amount_type="ItemPrice"),
    # (Order, ItemWithheldTax, MarketplaceFacilitatorTax-*): tax Amazon collects and remits
    CategoryRule(TAX, amount_type="ItemWithheldTax"),
    # (Order, Promotion, Principal | Shipping): discounts the seller funds
    CategoryRule(PROMOTIONS, amount_type="Promotion"),
    # (Order, ItemFees, Commission | FBAPerUnitFulfillmentFee | ...)
    CategoryRule(AMAZON_FEES, amount_type="ItemFees"),
    # (ServiceFee, Cost of Advertising, TransactionTotalAmount): Sponsored Products billed
    CategoryRule(ADVERTISING, amount_type="Cost of Advertising"),
    # The Finances API names its transactions instead (amzinsight/reports/finance_transactions.py):
    # (ProductAdsPayment, ProductAdsPayment, Cost of Advertising)
    CategoryRule(ADVERTISING, transaction_type="ProductAdsPayment"),
    # (other-transaction, FBA Inventory Reimbursement, Lost:Warehouse | Damaged:Warehouse | ...)
    CategoryRule(REIMBURSEMENTS, amount_type="%Reimbursement%"),
    # (other-transaction, other-transaction, Previous Reserve Amount Balance | Current Reserve
    # Amount): money Amazon holds back from one payout and releases in the next
    CategoryRule(RESERVES, amount_description="%Reserve%"),
    # (other-transaction, other-transaction, Storage Fee | Subscription Fee | ...)
    CategoryRule(AMAZON_FEES, amount_type="%Fee%"),
    CategoryRule(AMAZON_FEES, amount_description="%Fee%"),
    # (ServiceFee, ServiceFee, FBAStorageBilling | Subscription | ...) from the Finances API
    CategoryRule(AMAZON_FEES, transaction_type="ServiceFee"),
)
