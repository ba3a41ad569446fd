"""预警 (early warning): the job that raises alerts, their pushes to staff, acknowledgement.

``run`` evaluates the days ``since`` … ``today`` (local dates) and raises each alert once
(``Alert.key`` is unique); the new ones are pushed to the staff responsible. Four kinds:

**Bursts (诉求激增)** — per grid × category and per community × category, the day's count of
tickets filed (``TicketDay.filed``, read in one query) is tested against the series' own
baseline with a **Poisson control chart**:

* baseline λ = max(mean of the previous ``WINDOW`` = 28 days, mean of the previous
  ``LONG_WINDOW`` = 364 days (or all the history there is), ``FLOOR`` = 0.1/day). The day
  tested is never part of its own baseline; taking the larger of the short and the long mean
  keeps a series that was quiet for a month from alarming on its normal level, and the floor
  keeps a series that almost never sees a ticket from alarming on a coincidence;
* an alert needs count ≥ ``MIN_COUNT`` = 4 (one, two or three tickets are never a spike) and
  the upper-tail probability P(X ≥ count | λ) < ``ALPHA`` = 1e-6. About 1,000 series are
  tested a day at city scale (≈ 60 grids and 15 communities × 12 categories), so an exact
  baseline would give ≈ 0.001 false alarms a day (one in about three years) from chance
  alone; 1e-5 gave one false alarm per 200 series × 365 days of simulated quiet baseline;
* a day is tested only with at least ``MIN_HISTORY`` = 28 days of counts before it;
* level: red when p < 1e-9 and count ≥ 10, orange when p < 1e-7, else yellow;
* a community alert is left out when one of its grids alarmed for the same category and day
  (the grid's alert says more precisely where).

**Clusters (多人反映同一问题)** — valid tickets of the last ``CLUSTER_DAYS`` = 7 days in the
same grid and category whose descriptions are alike: the Jaccard similarity of their
character bigrams (letters and digits only, half-width, simplified) ≥ ``SIMILARITY`` = 0.3
links two tickets; linked groups (single linkage) with ≥ 3 distinct residents (phone, else
chat, else the ticket itself) raise one alert, keyed on the group's earliest ticket. A
group whose tickets already belong to an alert is not raised again.

**Repeats (反复诉求)** — within ``REPEAT_DAYS`` = 30 days, ≥ 3 valid tickets of the same
resident (non-anonymous; phone, else chat identity) or of the same place (same grid, or the
same area without a grid, and the same place as written, ``records.place_key``). One alert
per resident or place per 30-day window: the key holds the window's first day, and no new
window starts until 30 days after the last one's start.

**Risk (纠纷风险)** — every dispute (category ``disputes``, 矛盾纠纷) graded red or orange that
is not final: one alert each (and again if the grade changes), at the grade's level.

``since=None`` means today − 2 days (a missed run or a late ticket is still caught); it never
means the whole history, so the first run after installation does not flood staff with the
past. A history run passes ``since`` explicitly: bursts are then evaluated for every day of
the range, clusters and repeats always for the recent window ending ``today`` only (they are
about what is happening now).

Pushes: a ``StaffNotice`` for every active user responsible (grid workers of the alert's
grids, staff whose unit holds one of them, admins). Other channels (Telegram, once staff can
link an account) plug in as ``NoticeSender`` callables passed to ``run`` and ``push``.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from accounts.models import Role, User
from casestore.models import Alert, StaffNotice, Ticket, TicketDay
from casestore.services.records import place_key
from core import audit, labels
from core.clock import LOCAL_TZ, local_midnight, utcnow
from core.settings import ROOT
from core.taxonomy import Taxonomy, load_taxonomy
from core.textnorm import normalize
from grids.registry import Registry

# Bursts
WINDOW = 28
LONG_WINDOW = 364
MIN_HISTORY = 28
FLOOR = 0.1
MIN_COUNT = 4
ALPHA = 1e-6
RED_P, ORANGE_P, RED_COUNT = 1e-10, 1e-8, 10
# Clusters and repeats
CLUSTER_DAYS = 7
SIMILARITY = 0.3
CLUSTER_RESIDENTS = 3
REPEAT_DAYS = 30
REPEAT_COUNT = 3
LARGE = 5  # clusters and repeats of this many residents or tickets are orange
DISPUTES = "disputes"  # 矛盾纠纷 in data/taxonomy.yml
RISK_LEVELS = ("red", "orange")
MAX_TICKETS = 50  # ticket numbers kept on an alert
MAX_NOTE = 500
NOT_VALID = ("draft", "rejected", "merged")

NoticeSender = Callable[[User, StaffNotice], None]


class AcknowledgeError(ValueError):
    """The acknowledgement cannot be recorded (message in Chinese; the console shows 422)."""


class AlertNotFoundError(LookupError):
    """No alert with that id."""


# ---------------------------------------------------------------- the job


def run(
    session: Session,
    registry: Registry,
    *,
    today: date,
    since: date | None = None,
    taxonomy: Taxonomy | None = None,
    senders: Sequence[NoticeSender] = (),
) -> list[Alert]:
    """Evaluate ``since`` … ``today`` and add the alerts not raised before; the new ones,
    pushed. ``taxonomy`` names the categories in titles (default: data/taxonomy.yml)."""
    taxonomy = taxonomy or load_taxonomy(ROOT / "data" / "taxonomy.yml")
    first = since if since is not None else today - timedelta(days=2)
    found = [
        *bursts(session, registry, taxonomy, first, today),
        *clusters(session, registry, taxonomy, today),
        *repeats(session, registry, today),
        *risks(session, registry, taxonomy),
    ]
    keys = [alert.key for alert in found]
    existing: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        existing.update(session.scalars(select(Alert.key).where(Alert.key.in_(chunk))))
    new: list[Alert] = []
    for alert in found:
        if alert.key in existing:
            continue
        existing.add(alert.key)
        session.add(alert)
        new.append(alert)
    session.flush()
    users = _active_users(session)
    for alert in new:
        push(session, registry, alert, senders=senders, users=users)
    session.flush()
    return new


# ---------------------------------------------------------------- bursts


@dataclass(frozen=True)
class Burst:
    series: tuple[str, str, str]  # ("grid" | "community", place code, category)
    day: date
    count: int
    expected: float
    p: float


def poisson_tail(count: int, lam: float) -> float:
    """P(X ≥ count) for X ~ Poisson(lam), summed from ``count`` up (exact for tiny tails)."""
    if count <= 0:
        return 1.0
    log_term = count * math.log(lam) - lam - math.lgamma(count + 1)
    total, i = 0.0, count
    term = math.exp(log_term)
    while term > total * 1e-16 and i < count + 1000:
        total += term
        i += 1
        term *= lam / i
    return min(total, 1.0)


def level_of(p: float, count: int) -> str:
    if p < RED_P and count >= RED_COUNT:
        return "red"
    return "orange" if p < ORANGE_P else "yellow"


def detect(counts: np.ndarray, first_tested: int) -> list[tuple[int, int, float, float]]:
    """The bursts of ``counts`` (series × days): (series, day index, baseline, p-value) for
    the days from ``first_tested`` on. The Poisson control chart of the module docstring."""
    n_series, n_days = counts.shape
    if n_days == 0 or n_series == 0:
        return []
    data = counts.astype(np.float64)
    cum = np.zeros((n_series, n_days + 1))
    np.cumsum(data, axis=1, out=cum[:, 1:])
    day = np.arange(n_days)
    short_start = np.maximum(day - WINDOW, 0)
    long_start = np.maximum(day - LONG_WINDOW, 0)
    short_n = np.maximum(day - short_start, 1)
    long_n = np.maximum(day - long_start, 1)
    short_mean = (cum[:, day] - cum[:, short_start]) / short_n
    long_mean = (cum[:, day] - cum[:, long_start]) / long_n
    lam = np.maximum(np.maximum(short_mean, long_mean), FLOOR)
    tested = (day >= max(first_tested, MIN_HISTORY))[None, :]
    # Necessary for p < ALPHA (the tail beyond 4 standard deviations is far below 1e-5 only
    # for large λ; the exact test below decides): a cheap pre-filter.
    candidate = tested & (data >= MIN_COUNT) & (data > lam + 3.0 * np.sqrt(lam))
    found = []
    for s, d in zip(*np.nonzero(candidate), strict=True):
        p = poisson_tail(int(data[s, d]), float(lam[s, d]))
        if p < ALPHA:
            found.append((int(s), int(d), float(lam[s, d]), p))
    return found


def _daily_counts(
    session: Session, first: date, last: date
) -> dict[tuple[str, str], dict[date, int]]:
    """(grid, category) → day → tickets filed, from the daily counts (one query)."""
    query = (
        select(TicketDay.day, TicketDay.grid_code, TicketDay.category, func.sum(TicketDay.filed))
        .where(TicketDay.day >= first, TicketDay.day <= last, TicketDay.grid_code != "")
        .group_by(TicketDay.day, TicketDay.grid_code, TicketDay.category)
    )
    out: dict[tuple[str, str], dict[date, int]] = defaultdict(dict)
    for day, grid, category, filed in session.execute(query):
        if filed:
            out[(grid, category)][day] = int(filed)
    return out


def find_bursts(
    counts: dict[tuple[str, str], dict[date, int]],
    registry: Registry,
    first: date,
    last: date,
    load_from: date,
) -> list[Burst]:
    """The bursts of days ``first`` … ``last`` in grid and community series built from
    (grid, category) daily counts starting ``load_from``."""
    n_days = (last - load_from).days + 1
    if n_days <= 0 or not counts:
        return []
    series: dict[tuple[str, str, str], np.ndarray] = {}
    for (grid, category), days in counts.items():
        row = np.zeros(n_days, dtype=np.int64)
        for day, n in days.items():
            index = (day - load_from).days
            if 0 <= index < n_days:
                row[index] += n
        series[("grid", grid, category)] = row
        community = registry.grids[grid].community if grid in registry.grids else None
        if community:
            key = ("community", community, category)
            if key not in series:
                series[key] = np.zeros(n_days, dtype=np.int64)
            series[key] += row
    names = list(series)
    matrix = np.vstack([series[name] for name in names])
    first_tested = (first - load_from).days
    raw = [
        Burst(names[s], load_from + timedelta(days=d), int(matrix[s, d]), lam, p)
        for s, d, lam, p in detect(matrix, first_tested)
    ]
    grid_hits = {
        (registry.grids[b.series[1]].community, b.series[2], b.day)
        for b in raw
        if b.series[0] == "grid" and b.series[1] in registry.grids
    }
    return [
        b
        for b in raw
        if b.series[0] == "grid" or (b.series[1], b.series[2], b.day) not in grid_hits
    ]


def bursts(
    session: Session, registry: Registry, taxonomy: Taxonomy, first: date, last: date
) -> list[Alert]:
    load_from = first - timedelta(days=LONG_WINDOW)
    counts = _daily_counts(session, load_from, last)
    if counts:  # start where the data starts: days before it are not quiet, only unknown
        load_from = max(load_from, min(min(days) for days in counts.values()))
    alerts = []
    for burst in find_bursts(counts, registry, first, last, load_from):
        tier, place, category = burst.series
        grids = [place] if tier == "grid" else [g.code for g in registry.grids_within(place)]
        rows = _burst_tickets(session, grids, category, burst.day)
        numbers = [number for number, _ in rows]
        where = _place_name(registry, place)
        topic = burst_topic(taxonomy, category, [text for _, text in rows])
        title = (
            f"{where} {taxonomy.name_of(category)}{topic} {burst.day.month}月{burst.day.day}日 "
            f"{burst.count} 件（平时日均 {burst.expected:.1f} 件）"
        )
        alerts.append(
            Alert(
                key=f"burst:{tier}:{place}:{category}:{burst.day.isoformat()}",
                kind="burst",
                level=level_of(burst.p, burst.count),
                title=title[:200],
                day=burst.day,
                grid_code=place if tier == "grid" else None,
                unit_code=place if tier != "grid" else None,
                category=category,
                count=burst.count,
                expected=round(burst.expected, 3),
                score=burst.p,
                ticket_numbers=numbers,
                created_at=utcnow(),
            )
        )
    return alerts


def burst_topic(taxonomy: Taxonomy, category: str, texts: list[str]) -> str:
    """What most of a burst's tickets are about, in the title: the category's term (下水道,
    路灯 …) that at least half of the descriptions name, as "（多为「下水道」）"; else ""."""
    found = taxonomy.get(category)
    if found is None or not texts:
        return ""
    terms = {term for sub in found.subcategories for term in sub.terms}
    counts = Counter(term for text in texts for term in terms if term in text)
    term, count = max(counts.items(), key=lambda item: (item[1], len(item[0])), default=("", 0))
    return f"（多为「{term}」）" if count * 2 >= len(texts) else ""


def _burst_tickets(
    session: Session, grids: list[str], category: str, day: date
) -> list[tuple[str, str]]:
    """The burst's tickets: number and description, earliest first."""
    start = local_midnight(day)
    query = (
        select(Ticket.number, Ticket.description)
        .where(
            Ticket.created_at >= start,
            Ticket.created_at < local_midnight(day + timedelta(days=1)),
            Ticket.grid_code.in_(grids),
            Ticket.category == category,
        )
        .order_by(Ticket.created_at)
        .limit(MAX_TICKETS)
    )
    return [(number, text) for number, text in session.execute(query)]


def _place_name(registry: Registry, code: str | None) -> str:
    if code and code in registry.grids:
        grid = registry.grids[code]
        community = registry.units.get(grid.community)
        if community is None or grid.name.startswith(community.name):
            return grid.name
        return f"{community.name} {grid.name}"
    if code and code in registry.units:
        return registry.units[code].name
    return code or ""


# ---------------------------------------------------------------- clusters


def bigrams(text: str) -> frozenset[str]:
    """The character bigrams of ``text`` (letters and digits only, half-width, simplified)."""
    chars = "".join(ch for ch in normalize(text or "").lower() if ch.isalnum())
    return frozenset(chars[i : i + 2] for i in range(len(chars) - 1)) or frozenset(chars)


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two bigram sets."""
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def resident_of(ticket: Ticket) -> str:
    """Who filed it, for counting distinct residents (anonymous tickets count on their own
    chat, else alone)."""
    if ticket.contact_phone and not ticket.anonymous:
        return f"phone:{ticket.contact_phone}"
    if ticket.conversation_id:
        return f"chat:{ticket.conversation_id}"
    return f"ticket:{ticket.number}"


def _valid_since(session: Session, first: date, today: date) -> list[Ticket]:
    query = (
        select(Ticket)
        .where(
            Ticket.created_at >= local_midnight(first),
            Ticket.created_at < local_midnight(today + timedelta(days=1)),
            Ticket.status.not_in(NOT_VALID),
        )
        .order_by(Ticket.created_at, Ticket.id)
    )
    return list(session.scalars(query))


def _alerted_numbers(session: Session, kind: str, since: date) -> set[str]:
    rows = session.scalars(
        select(Alert.ticket_numbers).where(Alert.kind == kind, Alert.day >= since)
    )
    return {number for numbers in rows for number in numbers or ()}


def _groups(tickets: list[Ticket]) -> list[list[Ticket]]:
    """Single-linkage groups of tickets whose descriptions are alike."""
    grams = [bigrams(t.description) for t in tickets]
    parent = list(range(len(tickets)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(tickets)):
        for j in range(i + 1, len(tickets)):
            if similarity(grams[i], grams[j]) >= SIMILARITY:
                parent[root(j)] = root(i)
    groups: dict[int, list[Ticket]] = defaultdict(list)
    for i, ticket in enumerate(tickets):
        groups[root(i)].append(ticket)
    return list(groups.values())


def clusters(session: Session, registry: Registry, taxonomy: Taxonomy, today: date) -> list[Alert]:
    first = today - timedelta(days=CLUSTER_DAYS - 1)
    by_place: dict[tuple[str, str], list[Ticket]] = defaultdict(list)
    for ticket in _valid_since(session, first, today):
        if ticket.grid_code:
            by_place[(ticket.grid_code, ticket.category)].append(ticket)
    seen = _alerted_numbers(session, "cluster", first - timedelta(days=CLUSTER_DAYS))
    alerts = []
    for (grid, category), tickets in by_place.items():
        if len({resident_of(t) for t in tickets}) < CLUSTER_RESIDENTS:
            continue
        for group in _groups(tickets):
            residents = len({resident_of(t) for t in group})
            if residents < CLUSTER_RESIDENTS or seen & {t.number for t in group}:
                continue
            day = _local_day(group[-1].created_at)
            excerpt = group[0].description.strip().replace("\n", " ")[:30]
            what = taxonomy.name_of(category)
            title = f"{_place_name(registry, grid)} {residents} 位市民反映同一{what}问题：{excerpt}"
            alerts.append(
                Alert(
                    key=f"cluster:{group[0].number}",
                    kind="cluster",
                    level="orange" if residents >= LARGE else "yellow",
                    title=title[:200],
                    day=day,
                    grid_code=grid,
                    category=category,
                    count=len(group),
                    score=None,
                    ticket_numbers=[t.number for t in group][:MAX_TICKETS],
                    created_at=utcnow(),
                )
            )
    return alerts


# ---------------------------------------------------------------- repeats


def mask_phone(phone: str) -> str:
    """``13812345678`` → ``138****5678`` (short numbers keep only their last two digits)."""
    if len(phone) >= 7:
        return f"{phone[:3]}****{phone[-4:]}"
    return "*" * max(len(phone) - 2, 0) + phone[-2:]


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


def _local_day(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TZ).date()


def _window_starts(session: Session, prefix: str) -> dict[str, list[date]]:
    """Existing alerts' window starts by their key without the date (``prefix`` kinds)."""
    starts: dict[str, list[date]] = defaultdict(list)
    for key in session.scalars(select(Alert.key).where(Alert.key.startswith(prefix))):
        head, _, day = key.rpartition(":")
        try:
            starts[head].append(date.fromisoformat(day))
        except ValueError:
            continue
    return starts


def _repeat_alert(
    kind: str,
    head: str,
    tickets: list[Ticket],
    starts: dict[str, list[date]],
    title: str,
    grid_code: str | None,
    unit_code: str | None,
) -> Alert | None:
    window = _local_day(tickets[0].created_at)
    if any(abs((window - earlier).days) < REPEAT_DAYS for earlier in starts.get(head, ())):
        return None
    starts[head].append(window)
    categories = {t.category for t in tickets}
    return Alert(
        key=f"{head}:{window.isoformat()}",
        kind=kind,
        level="orange" if len(tickets) >= LARGE else "yellow",
        title=title[:200],
        day=_local_day(tickets[-1].created_at),
        grid_code=grid_code,
        unit_code=unit_code,
        category=categories.pop() if len(categories) == 1 else None,
        count=len(tickets),
        ticket_numbers=[t.number for t in tickets][:MAX_TICKETS],
        created_at=utcnow(),
    )


def repeats(session: Session, registry: Registry, today: date) -> list[Alert]:
    first = today - timedelta(days=REPEAT_DAYS - 1)
    by_resident: dict[str, list[Ticket]] = defaultdict(list)
    by_place: dict[tuple[str, str], list[Ticket]] = defaultdict(list)
    for ticket in _valid_since(session, first, today):
        if not ticket.anonymous and (ticket.contact_phone or ticket.conversation_id):
            who = ticket.contact_phone or f"chat:{ticket.conversation_id}"
            by_resident[who].append(ticket)
        where = ticket.grid_code or ticket.area_code
        place = place_key(ticket.location_text)
        if where and place:
            by_place[(where, place)].append(ticket)
    starts = _window_starts(session, "repeat_")
    alerts = []
    for who, tickets in by_resident.items():
        if len(tickets) < REPEAT_COUNT:
            continue
        phone = tickets[0].contact_phone
        name = f"市民 {mask_phone(phone)}" if phone else "同一会话的市民"
        grids = {t.grid_code for t in tickets if t.grid_code}
        grid = grids.pop() if len(grids) == 1 else None
        unit = None
        if grid is None:
            unit_obj = registry.lowest_common_unit(sorted(g for g in grids if g in registry.grids))
            unit = unit_obj.code if unit_obj and len(grids) > 1 else None
        title = f"{name} {REPEAT_DAYS} 天内反映 {len(tickets)} 次"
        alert = _repeat_alert("repeat_resident", f"repeat_resident:{_digest(who)}", tickets,
                              starts, title, grid, unit)  # fmt: skip
        if alert:
            alerts.append(alert)
    for (where, place), tickets in by_place.items():
        if len(tickets) < REPEAT_COUNT:
            continue
        written = tickets[-1].location_text.strip()
        title = (
            f"{_place_name(registry, where)} {written} {REPEAT_DAYS} 天内被反映 {len(tickets)} 次"
        )
        in_grid = where in registry.grids or where not in registry.units
        alert = _repeat_alert(
            "repeat_place", f"repeat_place:{where}:{_digest(place)}", tickets, starts, title,
            where if in_grid else None, None if in_grid else where,
        )  # fmt: skip
        if alert:
            alerts.append(alert)
    return alerts


# ---------------------------------------------------------------- risk


def risks(session: Session, registry: Registry, taxonomy: Taxonomy) -> list[Alert]:
    query = select(Ticket).where(
        Ticket.category == DISPUTES,
        Ticket.risk_grade.in_(RISK_LEVELS),
        Ticket.status.not_in((*labels.FINAL_STATUSES, "draft")),
    )
    alerts = []
    for ticket in session.scalars(query):
        grade = ticket.risk_grade or "orange"
        place = _place_name(registry, ticket.grid_code or ticket.area_code) or ticket.location_text
        colour = labels.RISK_GRADE[grade].split("（")[0]
        title = (
            f"{colour}风险{taxonomy.name_of(ticket.category)} {place}：{ticket.description[:40]}"
        )
        in_grid = bool(ticket.grid_code)
        alerts.append(
            Alert(
                key=f"risk:{ticket.number}:{grade}",
                kind="risk",
                level=grade,
                title=title[:200],
                day=_local_day(ticket.created_at),
                grid_code=ticket.grid_code if in_grid else None,
                unit_code=None if in_grid else ticket.area_code,
                category=ticket.category,
                count=1,
                ticket_numbers=[ticket.number],
                created_at=utcnow(),
            )
        )
    return alerts


# ---------------------------------------------------------------- who hears of it


def alert_grids(registry: Registry, alert: Alert) -> set[str]:
    """The grids an alert is about: its grid, or the grids of its community or street."""
    if alert.grid_code:
        return {alert.grid_code}
    if alert.unit_code:
        return {g.code for g in registry.grids_within(alert.unit_code)}
    return set()


def visible(registry: Registry, alert: Alert, grid_scope: tuple[str, ...] | None) -> bool:
    """Whether a staff member with ``grid_scope`` (None: everything) may see the alert."""
    return grid_scope is None or bool(alert_grids(registry, alert) & set(grid_scope))


def _active_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)))


def recipients(
    session: Session, registry: Registry, alert: Alert, users: Iterable[User] | None = None
) -> list[User]:
    """The active users responsible: grid workers of its grids, staff whose unit holds one of
    them, and the admins."""
    grids = alert_grids(registry, alert)
    chosen = []
    for user in _active_users(session) if users is None else users:
        if _responsible(registry, user, grids):
            chosen.append(user)
    return chosen


def _responsible(registry: Registry, user: User, grids: set[str]) -> bool:
    if user.role == Role.ADMIN:
        return True
    if user.role == Role.GRID_WORKER:
        return bool(grids & set(user.grid_codes or ()))
    return (
        user.role == Role.STAFF
        and bool(user.unit_code)
        and bool(grids & _unit_grids(registry, user))
    )


def _unit_grids(registry: Registry, user: User) -> set[str]:
    return {g.code for g in registry.grids_within(user.unit_code or "")}


def notice_text(alert: Alert) -> str:
    return f"【{labels.label(labels.ALERT_KIND, alert.kind)}】{alert.title}"[:300]


def push(
    session: Session,
    registry: Registry,
    alert: Alert,
    *,
    senders: Sequence[NoticeSender] = (),
    users: Iterable[User] | None = None,
) -> list[StaffNotice]:
    """A console notice for each recipient, then each extra sender (Telegram …) per notice.

    A sender that fails does not stop the others nor lose the console notice."""
    if alert.id is None:
        session.flush()
    notices = []
    for user in recipients(session, registry, alert, users):
        notice = StaffNotice(
            user_id=user.id,
            alert_id=alert.id,
            text=notice_text(alert),
            link=f"/alerts/{alert.id}",
            created_at=utcnow(),
        )
        session.add(notice)
        notices.append(notice)
        for send in senders:
            try:
                send(user, notice)
            except Exception:  # noqa: BLE001 — one channel down must not stop the job
                continue
    return notices


def unread_count(session: Session, user_id: int) -> int:
    query = select(func.count()).where(
        StaffNotice.user_id == user_id, StaffNotice.read_at.is_(None)
    )
    return int(session.scalar(query) or 0)


def notices_of(session: Session, user_id: int, limit: int = 200) -> list[StaffNotice]:
    query = (
        select(StaffNotice)
        .where(StaffNotice.user_id == user_id)
        .order_by(StaffNotice.created_at.desc(), StaffNotice.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def mark_read(session: Session, user_id: int, alert_id: int | None = None) -> int:
    """Mark the user's unread notices read (those of one alert if given); how many."""
    query = update(StaffNotice).where(StaffNotice.user_id == user_id, StaffNotice.read_at.is_(None))
    if alert_id is not None:
        query = query.where(StaffNotice.alert_id == alert_id)
    result = session.execute(query.values(read_at=utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)


# ---------------------------------------------------------------- acknowledgement


def get_alert(session: Session, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise AlertNotFoundError(alert_id)
    return alert


def acknowledge(session: Session, alert_id: int, actor: str, note: str) -> Alert:
    """处置: record who acknowledged the alert, when and what was done (audited)."""
    alert = get_alert(session, alert_id)
    note = (note or "").strip()
    if not note:
        raise AcknowledgeError("请填写处置说明")
    if len(note) > MAX_NOTE:
        raise AcknowledgeError(f"处置说明最多 {MAX_NOTE} 字（现在 {len(note)} 字）")
    if alert.acknowledged_at is not None:
        raise AcknowledgeError("该预警已处置，不能重复处置")
    alert.acknowledged_at = utcnow()
    alert.acknowledged_by = actor
    alert.note = note
    audit.record(session, actor=actor, action="alert_acknowledge", object_type="alert",
                 object_id=alert.id, data={"alert": alert.title, "note": note})  # fmt: skip
    session.flush()
    return alert
