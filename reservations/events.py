"""Writing outbox events. Callers are inside the transaction of the change the event describes
(except `reservation.rejected`, written after the rollback of a refused attempt)."""

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from .db import dt_param, id_membership, uuid_param
from .models import Event, EventType, Reservation

EVENT_TABLE = Event._meta.db_table
RESERVATION_TABLE = Reservation._meta.db_table


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it: an API client or an operator, and the request it came with."""

    name: str
    request_id: str = ""


@dataclass(frozen=True, slots=True)
class EventData:
    type: str
    occurred_at: datetime
    reservation_id: uuid.UUID | None = None
    user_id: str = ""
    sku: str = ""
    old_quantity: int | None = None
    new_quantity: int | None = None
    status: str = ""
    channel: str = ""
    code: str = ""
    operation: str = ""


_INSERT = (
    f"INSERT INTO {EVENT_TABLE} (type, occurred_at, reservation_id, user_id, sku, old_quantity, new_quantity, "
    "status, channel, actor, request_id, code, operation) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING event_id"
)


# Where a statement run with `event_record(..., then=...)` uses the id of the event just inserted.
NEW_EVENT_ID = "{new_event_id}"


def event_record(data: EventData, actor: Actor, *, then: tuple[str, list[Any]] | None = None) -> int:
    """Insert one event and return its `event_id`.

    `then` is a statement of the same transaction that needs that id: SQL written with NEW_EVENT_ID
    where the id goes, which must come before its other parameters. On PostgreSQL both run as one
    statement (the event insert as a CTE), one round trip less on the hot path; elsewhere, two.
    """
    params = [
        data.type,
        dt_param(data.occurred_at),
        uuid_param(data.reservation_id) if data.reservation_id else None,
        data.user_id,
        data.sku,
        data.old_quantity,
        data.new_quantity,
        data.status,
        data.channel,
        actor.name,
        actor.request_id,
        data.code,
        data.operation,
    ]
    with connection.cursor() as cursor:
        if then is not None and connection.vendor == "postgresql":
            sql, then_params = then
            new_id = "(SELECT event_id FROM new_event)"
            cursor.execute(
                f"WITH new_event AS ({_INSERT}) {sql.replace(NEW_EVENT_ID, new_id)} RETURNING {new_id}",
                [*params, *then_params],
            )
            return cursor.fetchone()[0]
        cursor.execute(_INSERT, params)
        event_id = cursor.fetchone()[0]
        if then is not None:
            sql, then_params = then
            cursor.execute(sql.replace(NEW_EVENT_ID, "%s"), [event_id, *then_params])
        return event_id


def events_record_expired(
    expire: tuple[str, list[Any]], *, occurred_at: datetime, actor: Actor
) -> list[tuple[str, int, int]]:
    """Run `expire` (`locks.expire_due_statement`) and write one `reservation.expired` event per
    reservation it expired, in expiry order. Returns (sku, units released, reservations) per SKU.

    PostgreSQL: one statement (the events are inserted from the UPDATE's RETURNING rows in a CTE), so
    the rows never travel to Python and back: that round trip and a second pass over the rows were
    most of the sweep's time. SQLite: the UPDATE, then an INSERT … SELECT of the rows it returned.
    """
    expire_sql, expire_params = expire
    event_params = [EventType.EXPIRED, dt_param(occurred_at), actor.name, actor.request_id]
    insert_from = (
        f"INSERT INTO {EVENT_TABLE} (type, occurred_at, reservation_id, user_id, sku, old_quantity, "
        "new_quantity, status, channel, actor, request_id, code, operation) "
        "SELECT %s, %s, reservation_id, user_id, sku, quantity, quantity, status, channel, %s, %s, '', '' "
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"WITH expired AS ({expire_sql}), recorded AS ("
                f"{insert_from} FROM expired ORDER BY expires_at, reservation_id"
                f") SELECT sku, sum(quantity), count(*) FROM expired GROUP BY sku",
                [*expire_params, *event_params],
            )
            return [(sku, int(units), int(count)) for sku, units, count in cursor.fetchall()]
        cursor.execute(expire_sql, expire_params)
        rows = cursor.fetchall()
        if not rows:
            return []
        membership, id_params = id_membership("reservation_id", [row[0] for row in rows])
        cursor.execute(
            f"{insert_from} FROM {RESERVATION_TABLE} WHERE {membership} ORDER BY expires_at, reservation_id",
            [*event_params, *id_params],
        )
    units: Counter[str] = Counter()
    holds: Counter[str] = Counter()
    for _, _, sku, quantity, *_ in rows:
        units[sku] += quantity
        holds[sku] += 1
    return [(sku, units[sku], holds[sku]) for sku in units]
