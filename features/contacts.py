"""Service contacts as seen at the cutoff: the shared first step of the effort and resolution families.

A contact counts once it has been opened by the cutoff; its outcome (`resolved`, survey answers) only once it
has been closed by then, so a ticket that is resolved tomorrow is still open today.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from features.cutoff import Cutoff


def contacts_at(interactions: ir.Table, cutoff: Cutoff, repeat_contact_days: int) -> ir.Table:
    """Contacts opened by the cutoff, with their place in their case and what was known of them then."""
    seen = interactions.filter(cutoff.known(interactions.opened_at))
    closed = seen.closed_at.notnull() & cutoff.known(seen.closed_at.fill_null(seen.opened_at))
    case = [seen.customer_id, seen.case_id]  # a case is a customer's: ids need not be unique across them
    in_case = ibis.window(group_by=case, order_by=[seen.opened_at, seen.interaction_id])
    previous_opened = seen.opened_at.lag().over(in_case)
    previous_channel = seen.channel.lag().over(in_case)
    enriched = seen.mutate(
        closed_by_cutoff=closed,
        resolved_by_cutoff=seen.resolved & closed,
        ces_known=ibis.ifelse(closed, seen.ces, ibis.null("int64")),
        csat_known=ibis.ifelse(closed, seen.csat, ibis.null("int64")),
        nps_known=ibis.ifelse(closed, seen.nps, ibis.null("int64")),
        contact_number=ibis.row_number().over(in_case) + 1,
        case_contacts=seen.interaction_id.count().over(group_by=case),
        case_opened_at=seen.opened_at.min().over(group_by=case),
        is_repeat=previous_opened.notnull()
        & (seen.opened_at.epoch_seconds() - previous_opened.epoch_seconds() <= repeat_contact_days * 86_400),
        is_channel_switch=previous_channel.notnull() & (previous_channel != seen.channel),
    )
    return enriched.mutate(is_latest_in_case=enriched.contact_number == enriched.case_contacts)


def cases_at(contacts: ir.Table) -> ir.Table:
    """One row per case known at the cutoff, summarising its contacts so far."""
    first_resolution = contacts.opened_at.min(where=contacts.resolved_by_cutoff)
    return contacts.group_by(["customer_id", "case_id"]).aggregate(
        opened_at=contacts.opened_at.min(),
        last_contact_at=contacts.opened_at.max(),
        contacts=contacts.count(),
        first_contact_resolved=contacts.resolved_by_cutoff.any(where=contacts.contact_number == 1).fill_null(False),
        resolved_at=contacts.closed_at.min(where=contacts.resolved_by_cutoff),
        first_resolution_contact_at=first_resolution,
        reopened=(contacts.opened_at.max() > first_resolution).fill_null(False),
        resolved_now=contacts.resolved_by_cutoff.any(where=contacts.is_latest_in_case).fill_null(False),
    )


def latest_value(contacts: ir.Table, column: str, name: str) -> ir.Table:
    """Each customer's latest known value of `column` (ties broken by interaction_id); customers without one
    are absent."""
    events = contacts.filter(contacts[column].notnull())
    newest_first = ibis.window(group_by=events.customer_id,
                               order_by=[events.opened_at.desc(), events.interaction_id.desc()])
    ranked = events.mutate(position=ibis.row_number().over(newest_first))
    latest = ranked.filter(ranked.position == 0)
    return latest.select("customer_id", **{name: latest[column]})
