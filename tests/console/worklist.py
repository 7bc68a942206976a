"""Reading the work list as an agent sees it, and what it should show, computed from the store's batch.

The page side reads only the contract's selectors (`CONTRACT.md` in the console's design notes): rows are
`tr[data-customer-id]`, columns are named by `th[data-column]`, the filtered set's size is `#summary[data-count]`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pandas as pd

if TYPE_CHECKING:
    from playwright.sync_api import Page

COLUMNS = ["customer_id", "churn_probability", "risk_tier", "clv", "value_at_risk", "value_saved", "best_action",
           "top_reason", "oldest_open_case_days", "days_since_last_purchase"]


def customer_path(customer_id: str) -> str:
    """The customer page's path with the id as one path segment, as the contract has it. `.` and `..` go as %2E,
    which httpx keeps but a browser resolves like the dots themselves: no test opens those ids by this path."""
    encoded = quote(customer_id, safe="")
    return "/app/customers/" + (encoded.replace(".", "%2E") if set(customer_id) == {"."} else encoded)


def row_ids(page: Page) -> list[str]:
    """The customer ids of the rows on this page, top to bottom."""
    page.wait_for_load_state()
    return [str(row.get_attribute("data-customer-id"))
            for row in page.locator("#work-list tbody tr[data-customer-id]").all()]


def column_texts(page: Page, column: str) -> list[str]:
    """The visible text of one column's cells, top to bottom (the column found by its header's data-column)."""
    page.wait_for_load_state()
    headers = [h.get_attribute("data-column") for h in page.locator("#work-list thead th").all()]
    index = headers.index(column) + 1
    return [text.strip() for text in page.locator(f"#work-list tbody tr td:nth-child({index}), "
                                                  f"#work-list tbody tr th:nth-child({index})").all_inner_texts()]


def number(text: str) -> float | None:
    """A displayed figure as a number ("1,234.50", "93%", "$12" -> 1234.5, 93, 12); None for an empty cell."""
    digits = re.sub(r"[^0-9.eE+-]", "", text.replace(",", ""))
    return float(digits) if re.search(r"\d", digits) else None


def summary_count(page: Page) -> int:
    return int(str(page.locator("#summary").get_attribute("data-count")))


def all_pages(page: Page) -> list[str]:
    """The ids of every page of the current list, following Next to the last page."""
    from playwright.sync_api import expect

    ids = row_ids(page)
    following = page.locator("a[rel=next]")
    while following.count():
        url = page.url
        following.first.click()
        expect(page).not_to_have_url(url)
        ids += row_ids(page)
    return ids


def batch_frame(data_dir: Path) -> pd.DataFrame:
    """The served batch in the work list's default order, with each customer's country from the inputs when the
    batch does not carry it."""
    from batch.store import ScoreBatch, store_dir

    frame = ScoreBatch.load(store_dir(data_dir)).frame
    if "country" not in frame:
        customers = pd.read_parquet(data_dir / "customers.parquet", columns=["customer_id", "country"])
        frame = frame.merge(customers, on="customer_id", how="left", validate="one_to_one")
    return frame


def expected_ids(frame: pd.DataFrame, **filters: Any) -> list[str]:
    """The ids the work list should hold under `filters` (tier, segment, country, min_clv, q), in its order."""
    keep = pd.Series(True, index=frame.index)
    if filters.get("tier"):
        keep &= frame["risk_tier"] == filters["tier"]
    if filters.get("segment"):
        keep &= frame["segment"] == filters["segment"]
    if filters.get("country"):
        keep &= frame["country"] == filters["country"]
    if filters.get("min_clv") is not None:
        keep &= frame["clv"] >= filters["min_clv"]
    if filters.get("q"):
        keep &= frame["customer_id"].astype(str).str.contains(filters["q"], regex=False)
    return frame.loc[keep, "customer_id"].astype(str).tolist()
