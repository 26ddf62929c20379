"""Write use cases of temporary reservations. Every rule of the brief's status machine, TTL, stock and
events lives here once; views, admin actions, commands and tasks only call these functions."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from stock.rows import stock_consume, stock_levels, stock_release, stock_release_many, stock_try_reserve

from .db import atomic_with_retry, dt_param, dt_value, uuid_param, uuid_value
from .errors import (
    InsufficientStock,
    InvalidRequest,
    NotFound,
    QuantityConflict,
    ReservationDefinitive,
    ReservationExists,
    ReservationExpired,
    StaleRequest,
)
from .events import NEW_EVENT_ID, Actor, EventData, event_record, events_record_expired
from .locks import (
    RESERVATION_TABLE,
    expire_due_statement,
    lock_reservation,
    lock_temporary_reservation_of_pair,
)
from .models import EventType, Reservation, ReservationStatus
from .operations import write_operation

SYSTEM = Actor(name="system:expiry")


def _ttl() -> timedelta:
    return timedelta(seconds=settings.RESERVATION_TTL_SECONDS)


def check_quantity(quantity: Any, field: str = "quantity") -> int:
    """A reservable quantity: an integer 1..RESERVATION_MAX_QUANTITY (bools and floats are not integers)."""
    limit = settings.RESERVATION_MAX_QUANTITY
    if type(quantity) is not int or not 1 <= quantity <= limit:
        raise InvalidRequest(f"{field} must be an integer from 1 to {limit}", field=field)
    return quantity


# --- expiry ------------------------------------------------------------------------------------------


def _expire_due(*, now: datetime, sku: str | None, limit: int, actor: Actor) -> int:
    """Expire up to `limit` overdue holds (of one SKU, or any) inside the caller's transaction:
    each one's units go back to its SKU and it gets one `reservation.expired` event."""
    per_sku = events_record_expired(expire_due_statement(now=now, sku=sku, limit=limit), occurred_at=now, actor=actor)
    if per_sku:
        stock_release_many(quantities={row_sku: units for row_sku, units, _ in per_sku}, now=now)
    return sum(count for _, _, count in per_sku)


@atomic_with_retry
def _expire_batch(*, now: datetime, limit: int) -> int:
    return _expire_due(now=now, sku=None, limit=limit, actor=SYSTEM)


def reservations_expire(*, batch_size: int | None = None, now: datetime | None = None) -> int:
    """The sweep: expire every overdue temporary reservation, one short transaction per batch.

    Safe to run twice or at the same time: each batch skips rows another sweep holds, and a
    reservation is only ever moved from `temporary`, so it is expired (and its event written) once.
    """
    now = now or timezone.now()
    batch_size = batch_size or settings.RESERVATION_SWEEP_BATCH_SIZE
    total = 0
    while True:
        done = _expire_batch(now=now, limit=batch_size)
        total += done
        if done < batch_size:
            return total


def reclaim_overdue_holds(*, sku: str, now: datetime, actor: Actor) -> int:
    """Expire the overdue holds of one SKU inside the caller's transaction (paths that need its stock)."""
    return _expire_due(now=now, sku=sku, limit=10_000, actor=actor)


def _reserve_units(*, sku: str, quantity: int, now: datetime, actor: Actor) -> None:
    """Hold `quantity` more units of `sku`, first reclaiming overdue holds of that SKU if short."""
    if stock_try_reserve(sku=sku, quantity=quantity, now=now):
        return
    if reclaim_overdue_holds(sku=sku, now=now, actor=actor) and stock_try_reserve(sku=sku, quantity=quantity, now=now):
        return
    levels = stock_levels(sku)
    if levels is None:
        raise InvalidRequest(f"unknown sku {sku!r}", field="sku")
    on_hand, reserved = levels
    raise InsufficientStock(f"only {on_hand - reserved} units of {sku} are available", available=on_hand - reserved)


# --- create ------------------------------------------------------------------------------------------


def _insert_reservation(reservation: Reservation) -> bool:
    """Insert unless the user already has a temporary reservation of the SKU (the partial unique index)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {RESERVATION_TABLE} (reservation_id, user_id, sku, quantity, status, channel, "
            "expires_at, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (user_id, sku) WHERE status = 'temporary' DO NOTHING",
            [
                uuid_param(reservation.reservation_id),
                reservation.user_id,
                reservation.sku_id,
                reservation.quantity,
                reservation.status,
                reservation.channel,
                dt_param(reservation.expires_at),
                dt_param(reservation.created_at),
                dt_param(reservation.updated_at),
            ],
        )
        return cursor.rowcount == 1


@write_operation("create")
def reservation_create(*, user_id: str, sku: str, quantity: int, channel: str = "", actor: Actor) -> Reservation:
    check_quantity(quantity)
    now = timezone.now()
    reservation = Reservation(
        reservation_id=uuid.uuid4(),
        user_id=user_id,
        sku_id=sku,
        quantity=quantity,
        status=ReservationStatus.TEMPORARY,
        channel=channel,
        expires_at=now + _ttl(),
        created_at=now,
        updated_at=now,
    )
    if not _insert_reservation(reservation):
        existing = lock_temporary_reservation_of_pair(user_id=user_id, sku=sku)
        if existing is not None and dt_value(existing[6]) > now:
            raise ReservationExists(
                f"user {user_id} already holds a temporary reservation of {sku}",
                reservation_id=str(uuid_value(existing[0])),
            )
        # The user's own hold is overdue but not swept yet: expire it (and its SKU's others) first.
        reclaim_overdue_holds(sku=sku, now=now, actor=actor)
        if not _insert_reservation(reservation):
            raise ReservationExists(f"user {user_id} already holds a temporary reservation of {sku}")
    _reserve_units(sku=sku, quantity=quantity, now=now, actor=actor)
    event_record(
        EventData(
            type=EventType.CREATED,
            occurred_at=now,
            reservation_id=reservation.reservation_id,
            user_id=user_id,
            sku=sku,
            new_quantity=quantity,
            status=ReservationStatus.TEMPORARY,
            channel=channel,
        ),
        actor,
    )
    return reservation


# --- update (updateReservation) -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UpdateResult:
    reservation_id: uuid.UUID
    sku: str
    new_quantity: int
    old_quantity: int
    expires_at: datetime
    event_id: int
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class _LiveReservation:
    """A locked temporary reservation, in `locks.LIVE_COLUMNS` order."""

    reservation_id: uuid.UUID
    user_id: str
    sku: str
    quantity: int
    status: str
    channel: str
    expires_at: datetime
    last_update_timestamp: datetime | None
    last_update_old_quantity: int | None
    last_update_new_quantity: int | None
    last_update_expires_at: datetime | None
    last_update_event_id: int | None

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> "_LiveReservation":
        values = list(row)
        values[0] = uuid_value(values[0])
        for index in (6, 7, 10):
            values[index] = dt_value(values[index])
        return cls(*values)

    def subject(self) -> dict[str, Any]:
        return {"reservation_id": self.reservation_id, "channel": self.channel}

    def replay_of_last_update(self, timestamp: datetime, old: int, new: int) -> UpdateResult | None:
        if (self.last_update_timestamp, self.last_update_old_quantity, self.last_update_new_quantity) != (
            timestamp,
            old,
            new,
        ):
            return None
        return UpdateResult(
            reservation_id=self.reservation_id,
            sku=self.sku,
            new_quantity=new,
            old_quantity=old,
            expires_at=self.last_update_expires_at,
            event_id=self.last_update_event_id,
            replayed=True,
        )


def _why_no_temporary_reservation(*, user_id: str, sku: str) -> Exception:
    latest = (
        Reservation.objects.filter(user_id=user_id, sku_id=sku)
        .order_by("-updated_at")
        .values_list("reservation_id", "status")
        .first()
    )
    if latest is None:
        if stock_levels(sku) is None:
            return InvalidRequest(f"unknown sku {sku!r}", field="sku")
        return NotFound(f"user {user_id} has no reservation of {sku}")
    reservation_id, status = latest
    subject = {"reservation_id": reservation_id}
    if status == ReservationStatus.CONFIRMED:
        return ReservationDefinitive("the reservation is confirmed and can no longer change", subject=subject)
    if status == ReservationStatus.EXPIRED:
        return ReservationExpired("the reservation has expired", subject=subject)
    return NotFound(f"user {user_id} has no temporary reservation of {sku}", subject=subject)


@write_operation("update")
def reservation_update(
    *, user_id: str, sku: str, old_quantity: int, new_quantity: int, timestamp: datetime, actor: Actor
) -> UpdateResult:
    check_quantity(new_quantity, "new_quantity")
    now = timezone.now()
    row = lock_temporary_reservation_of_pair(user_id=user_id, sku=sku)
    if row is None:
        raise _why_no_temporary_reservation(user_id=user_id, sku=sku)
    live = _LiveReservation.from_row(row)
    if live.expires_at <= now:
        raise ReservationExpired("the reservation has expired", subject=live.subject())
    replay = live.replay_of_last_update(timestamp, old_quantity, new_quantity)
    if replay is not None:
        return replay
    if old_quantity != live.quantity:
        raise QuantityConflict(
            f"old_quantity {old_quantity} does not match the reserved {live.quantity}",
            current_quantity=live.quantity,
            subject=live.subject(),
        )
    if live.last_update_timestamp is not None and timestamp < live.last_update_timestamp:
        raise StaleRequest(
            "a newer update has already been applied",
            last_update_timestamp=live.last_update_timestamp.isoformat(),
            subject=live.subject(),
        )

    delta = new_quantity - old_quantity
    if delta > 0:
        try:
            _reserve_units(sku=sku, quantity=delta, now=now, actor=actor)
        except InsufficientStock as exc:
            exc.subject.update(live.subject())
            raise
    elif delta < 0:
        stock_release(sku=sku, quantity=-delta, now=now)
    expires_at = now + _ttl()
    # Same quantity: the TTL still moves, but nothing was modified. The event and the reservation's
    # new state are written together (one statement on PostgreSQL).
    event_id = event_record(
        EventData(
            type=EventType.MODIFIED if delta else EventType.REFRESHED,
            occurred_at=now,
            reservation_id=live.reservation_id,
            user_id=user_id,
            sku=sku,
            old_quantity=old_quantity,
            new_quantity=new_quantity,
            status=ReservationStatus.TEMPORARY,
            channel=live.channel,
        ),
        actor,
        then=(
            f"UPDATE {RESERVATION_TABLE} SET last_update_event_id = {NEW_EVENT_ID}, quantity = %s, "
            "expires_at = %s, updated_at = %s, last_update_timestamp = %s, last_update_old_quantity = %s, "
            "last_update_new_quantity = %s, last_update_expires_at = %s WHERE reservation_id = %s",
            [
                new_quantity,
                dt_param(expires_at),
                dt_param(now),
                dt_param(timestamp),
                old_quantity,
                new_quantity,
                dt_param(expires_at),
                uuid_param(live.reservation_id),
            ],
        ),
    )
    return UpdateResult(live.reservation_id, sku, new_quantity, old_quantity, expires_at, event_id)


# --- refresh, confirm, cancel -------------------------------------------------------------------


def _locked_reservation(reservation_id: uuid.UUID) -> Reservation:
    reservation = lock_reservation(reservation_id)
    if reservation is None:
        raise NotFound(f"reservation {reservation_id} does not exist")
    return reservation


def _event_of(reservation: Reservation, event_type: str, now: datetime, actor: Actor, **changes: Any) -> int:
    return event_record(
        EventData(
            type=event_type,
            occurred_at=now,
            reservation_id=reservation.reservation_id,
            user_id=reservation.user_id,
            sku=reservation.sku_id,
            old_quantity=changes.get("old_quantity", reservation.quantity),
            new_quantity=reservation.quantity,
            status=reservation.status,
            channel=reservation.channel,
        ),
        actor,
    )


def _require_live(reservation: Reservation, now: datetime) -> None:
    """Refuse anything but a temporary reservation whose TTL has not passed."""
    subject = {"user_id": reservation.user_id, "sku": reservation.sku_id, "channel": reservation.channel}
    if reservation.status == ReservationStatus.CONFIRMED:
        raise ReservationDefinitive("the reservation is confirmed and can no longer change", subject=subject)
    if reservation.status == ReservationStatus.CANCELLED:
        raise NotFound("the reservation was cancelled", subject=subject)
    if reservation.status == ReservationStatus.EXPIRED or reservation.expires_at <= now:
        raise ReservationExpired("the reservation has expired", subject=subject)


@write_operation("refresh")
def reservation_refresh(*, reservation_id: uuid.UUID, actor: Actor) -> Reservation:
    now = timezone.now()
    reservation = _locked_reservation(reservation_id)
    _require_live(reservation, now)
    reservation.expires_at = now + _ttl()
    reservation.updated_at = now
    reservation.save(update_fields=["expires_at", "updated_at"])
    _event_of(reservation, EventType.REFRESHED, now, actor)
    return reservation


@write_operation("confirm")
def reservation_confirm(*, reservation_id: uuid.UUID, actor: Actor) -> Reservation:
    now = timezone.now()
    reservation = _locked_reservation(reservation_id)
    if reservation.status == ReservationStatus.CONFIRMED:
        return reservation  # confirming twice answers the same 200 and changes nothing
    _require_live(reservation, now)
    reservation.status = ReservationStatus.CONFIRMED
    reservation.confirmed_at = now
    reservation.updated_at = now
    reservation.save(update_fields=["status", "confirmed_at", "updated_at"])
    stock_consume(sku=reservation.sku_id, quantity=reservation.quantity, now=now)
    _event_of(reservation, EventType.CONFIRMED, now, actor)
    return reservation


@write_operation("delete")
def reservation_cancel(*, reservation_id: uuid.UUID, actor: Actor) -> None:
    now = timezone.now()
    reservation = _locked_reservation(reservation_id)
    if reservation.status == ReservationStatus.CONFIRMED:
        raise ReservationDefinitive(
            "a confirmed reservation cannot be cancelled",
            subject={"user_id": reservation.user_id, "sku": reservation.sku_id},
        )
    if reservation.status != ReservationStatus.TEMPORARY:
        return  # already cancelled or expired: deleting again is a no-op
    # An overdue hold the sweep has not reached yet ends as what it is: expired.
    overdue = reservation.expires_at <= now
    reservation.status = ReservationStatus.EXPIRED if overdue else ReservationStatus.CANCELLED
    reservation.updated_at = now
    reservation.save(update_fields=["status", "updated_at"])
    stock_release(sku=reservation.sku_id, quantity=reservation.quantity, now=now)
    _event_of(reservation, EventType.EXPIRED if overdue else EventType.CANCELLED, now, actor)
