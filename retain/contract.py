"""The data contract: the three input tables retain reads, as code that everything else uses.

Each column is declared once here with its type and rules; `retain.rules` turns these declarations into
engine queries (parsers and checks), and README.md's tables are generated from them (`retain contract`).
"""

from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict

ColumnKind = Literal["string", "date", "datetime", "float", "int", "bool"]

CHANNELS = ("phone", "email", "chat", "social", "self_service")

# A customer id is any string of 1 to 1,024 characters, matched exactly (no trimming, no case folding: "C1 " and
# "C1" are two customers, as the source system says). The upper bound protects the API, which takes ids in URLs
# and in bodies, and is far above the keys CRMs issue (a UUID has 36 characters); 1,000 ids of the longest
# length still fit one lookup body (`api_max_body_bytes`, tested). Ingest (`ColumnSpec.length`) and every API
# route that takes an id (`serving.schemas.CustomerId`) enforce this one rule.
CUSTOMER_ID_MIN_LENGTH = 1
CUSTOMER_ID_MAX_LENGTH = 1024
CUSTOMER_ID_LENGTH = (CUSTOMER_ID_MIN_LENGTH, CUSTOMER_ID_MAX_LENGTH)
MAX_QUANTITY = 1e15
"""The largest amount or handle time taken in: far past any real one, and what keeps the features' exact sums
(64-bit integers, `features.aggregates`) from overflowing."""

PANDAS_DTYPES: dict[str, str] = {
    "string": "string", "date": "datetime64[us]", "datetime": "datetime64[us]", "float": "float64",
    "int": "Int64", "bool": "boolean",
}


class ColumnSpec(BaseModel):
    """One column: its type, whether it must be present and filled, and its value rules."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: ColumnKind
    description: str
    required: bool = True
    nullable: bool = False
    unique: bool = False
    ge: float | None = None
    le: float | None = None
    allowed: tuple[str, ...] | None = None
    references_customers: bool = False
    length: tuple[int, int] | None = None  # fewest and most characters of a string column

    @property
    def length_rule(self) -> str | None:
        """The length rule in words, as the contract table and ingest's problems state it."""
        return None if self.length is None else f"{self.length[0]:,} to {self.length[1]:,} characters"


class TableSpec(BaseModel):
    """One input table: a file `<name>.parquet` or `<name>.csv` in the data folder."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str
    columns: tuple[ColumnSpec, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def column(self, name: str) -> ColumnSpec:
        return next(column for column in self.columns if column.name == name)


CUSTOMERS = TableSpec(
    name="customers",
    description="One row per customer.",
    columns=(
        ColumnSpec(name="customer_id", kind="string", unique=True, description="Customer key.",
                   length=CUSTOMER_ID_LENGTH),
        ColumnSpec(name="signup_date", kind="date", description="Day the customer joined."),
        ColumnSpec(name="segment", kind="string", required=False, nullable=True, description="Business segment."),
        ColumnSpec(name="country", kind="string", required=False, nullable=True, description="Country code."),
        ColumnSpec(
            name="churned_at",
            kind="date",
            required=False,
            nullable=True,
            description="Day the customer cancelled, only where the business knows it.",
        ),
    ),
)

TRANSACTIONS = TableSpec(
    name="transactions",
    description="One row per purchase.",
    columns=(
        ColumnSpec(
            name="customer_id", kind="string", references_customers=True, description="Who bought (customers key).",
            length=CUSTOMER_ID_LENGTH,
        ),
        ColumnSpec(name="timestamp", kind="datetime", description="When the purchase happened."),
        ColumnSpec(name="amount", kind="float", ge=0, le=MAX_QUANTITY,
                   description="Spend in currency units, >= 0."),
        ColumnSpec(
            name="order_id", kind="string", required=False, nullable=True, unique=True, description="Order key."
        ),
    ),
)

INTERACTIONS = TableSpec(
    name="interactions",
    description="One row per service contact (ticket, call, chat, ...).",
    columns=(
        ColumnSpec(name="interaction_id", kind="string", unique=True, description="Contact key."),
        ColumnSpec(
            name="customer_id", kind="string", references_customers=True, description="Who got in touch.",
            length=CUSTOMER_ID_LENGTH,
        ),
        ColumnSpec(name="case_id", kind="string", description="Contacts about the same problem share it."),
        ColumnSpec(name="opened_at", kind="datetime", description="When the contact started."),
        ColumnSpec(
            name="closed_at", kind="datetime", nullable=True, description="When it ended; empty while open."
        ),
        ColumnSpec(name="channel", kind="string", allowed=CHANNELS, description="|".join(CHANNELS)),
        ColumnSpec(name="resolved", kind="bool", description="Whether this contact resolved the case."),
        ColumnSpec(name="transfers", kind="int", ge=0, description="Hand-overs between agents or queues."),
        ColumnSpec(name="handle_seconds", kind="float", ge=0, le=MAX_QUANTITY,
                   description="Agent time spent, seconds."),
        ColumnSpec(
            name="ces", kind="int", required=False, nullable=True, ge=1, le=7,
            description="Customer Effort Score answer, 1-7 (7 = very easy).",
        ),
        ColumnSpec(
            name="csat", kind="int", required=False, nullable=True, ge=1, le=5, description="CSAT answer, 1-5."
        ),
        ColumnSpec(name="nps", kind="int", required=False, nullable=True, ge=0, le=10, description="NPS, 0-10."),
        ColumnSpec(
            name="text", kind="string", required=False, nullable=True, description="The customer's words."
        ),
    ),
)

TABLES: tuple[TableSpec, ...] = (CUSTOMERS, TRANSACTIONS, INTERACTIONS)


def empty_table(spec: TableSpec) -> pd.DataFrame:
    """A table with every contract column and no rows."""
    return pd.DataFrame({c.name: pd.Series(dtype=PANDAS_DTYPES[c.kind]) for c in spec.columns})


def contract_markdown() -> str:
    """The contract as Markdown tables, one per input (pasted into README.md)."""
    parts: list[str] = []
    for table in TABLES:
        parts.append(f"**`{table.name}`** ({table.description})\n")
        parts.append("| column | type | required | rules | meaning |\n|---|---|---|---|---|")
        for column in table.columns:
            rules = []
            if not column.nullable:
                rules.append("not empty")
            if column.unique:
                rules.append("unique")
            if column.ge is not None:
                rules.append(f">= {column.ge:g}")
            if column.le is not None:
                rules.append(f"<= {column.le:g}")
            if column.length_rule:
                rules.append(column.length_rule)
            if column.allowed:
                rules.append("one of " + "/".join(column.allowed))
            if column.references_customers:
                rules.append("in customers")
            required = "yes" if column.required else "no"
            parts.append(
                f"| `{column.name}` | {column.kind} | {required} | {', '.join(rules)} | {column.description} |"
            )
        parts.append("")
    parts.append("`interactions` also requires `closed_at >= opened_at` where both are set.")
    return "\n".join(parts)
