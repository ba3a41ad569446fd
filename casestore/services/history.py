"""An invented ticket history (演示数据，均为虚构) for demonstrations and benchmarks.

``generate`` writes tickets over the grids of the registry and the categories of the
taxonomy, with the events the real life cycle (``casestore.services.lifecycle``) records:
filed (受理), dispatched, started, resolved, closed, rated, followed up (回访), rejected,
merged, reopened. Everything is invented: residents, phone numbers, descriptions, handling.

The marker: **every invented ticket's number starts with ``YS`` (演示)** — ``YS`` + the local
filing date + a five-digit sequence, e.g. ``YS2026112600001``; its submission key is
``demo-`` + the number and its staff actions are by the actor ``demo`` (演示数据). Real numbers
are thirteen digits (``core.ticket_number``), so the two can never collide, and
``DEMO_NUMBERS`` finds the invented ones. (The case-store API and the bot accept thirteen-digit
numbers only: invented tickets are for the console.)

The shape of the history: more tickets on weekdays than on Saturdays and Sundays; drainage
and water in summer, water, power and gas in winter, school places before September; some
grids much busier than others; a pool of residents of whom some call again; old tickets
mostly closed, some rejected, merged or reopened; recent ones still open, some past their
deadline; deadlines from the taxonomy's working days (as ``create_ticket`` sets them).

Planted bursts (``PlantedBurst``): extra tickets of one category in one grid on one day, on
top of the usual volume, about one problem at one place — what the early warnings must find.

Tickets and events are written with Core bulk inserts, a transaction per batch of about
10,000 tickets; then the search index is rebuilt (SQLite) and the daily counts rebuilt.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast

import numpy as np
from sqlalchemy import ColumnElement, Table, func, insert, select
from sqlalchemy.orm import Session

from casestore.models import Ticket, TicketEvent
from casestore.services import rollup, search
from core.clock import LOCAL_TZ, add_working_days, local_midnight, utcnow
from core.taxonomy import Category, Subcategory, Taxonomy
from grids.registry import Grid, Registry

PREFIX = "YS"  # 演示: the invented tickets' numbers
ACTOR = "demo"
BATCH = 10_000
DEMO_NUMBERS: ColumnElement[bool] = Ticket.number.like(f"{PREFIX}%")

# Share of the tickets per top category (a 12345 hotline's usual mix, roughly).
CATEGORY_WEIGHT = {
    "urban_construction": 20, "environmental_protection": 13, "transportation": 10,
    "labor_social_security": 8, "commerce_tourism": 9, "education_culture_sports": 5,
    "health_family_planning": 5, "public_safety": 5, "civil_affairs": 5,
    "agriculture_rural": 3, "disputes": 6, "other": 8,
}  # fmt: skip
# Month factors (January first) of the subcategories that follow the seasons.
SEASON = {
    "municipal_facilities": (0.8, 0.8, 0.9, 1.0, 1.2, 1.6, 1.9, 1.8, 1.3, 1.0, 0.9, 0.8),
    "water_pollution": (0.8, 0.8, 0.9, 1.0, 1.1, 1.4, 1.6, 1.5, 1.2, 1.0, 0.9, 0.8),
    "utilities": (1.8, 1.6, 1.2, 0.9, 0.8, 0.9, 1.1, 1.1, 0.9, 0.9, 1.3, 1.7),
    "noise_pollution": (0.8, 0.9, 1.0, 1.1, 1.2, 1.4, 1.5, 1.4, 1.1, 1.0, 0.9, 0.8),
    "school_enrollment": (0.6, 0.6, 0.8, 1.0, 1.3, 1.8, 2.2, 2.4, 1.6, 0.7, 0.6, 0.6),
    "unpaid_wages": (1.8, 1.5, 0.9, 0.8, 0.8, 0.9, 0.9, 0.9, 0.9, 1.0, 1.2, 1.7),
    "greening": (0.7, 0.8, 1.2, 1.4, 1.3, 1.1, 1.0, 1.0, 1.0, 1.0, 0.8, 0.7),
}
WEEKDAY = (1.1, 1.05, 1.0, 1.0, 0.95, 0.75, 0.6)  # Monday first: fewer at the weekend
HOUR = (1, 0.5, 0.3, 0.3, 0.3, 0.6, 1.5, 3, 6, 9, 9, 8, 5, 5, 7, 8, 8, 7, 5, 4, 4, 3, 2, 1.5)
CHANNELS = (("hotline", 0.5), ("webchat", 0.25), ("open311", 0.08), ("telegram", 0.07),
            ("rest", 0.10))  # fmt: skip
RATINGS = (("satisfied", 0.68), ("basically_satisfied", 0.17), ("dissatisfied", 0.09),
           ("unresolved", 0.06))  # fmt: skip
RISK = (("blue", 0.70), ("yellow", 0.25), ("orange", 0.04), ("red", 0.01))
REJECT_REASONS = ("spam", "out_of_scope", "duplicate")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
RESULTS = (
    "已安排工作人员到现场处理，问题已解决。", "经核实，已督促责任单位整改完毕。",
    "已联系相关单位处理，并向市民作了解释。", "已现场查看并完成维修。",
    "已协调有关部门按规定办理，并电话告知市民。",
)  # fmt: skip
ENDINGS = ("", "，希望尽快处理。", "，麻烦有关部门来看一下。", "，已经好几天了。", "，影响很大。")

# What residents say, per subcategory ({place} is where): invented sentences.
PHRASES: dict[str, tuple[str, ...]] = {
    "municipal_facilities": ("{place}的路灯晚上不亮", "{place}有个井盖松动，车过去哐哐响",
                             "{place}人行道砖翘起来了，老人容易绊倒"),
    "property_management": ("{place}的电梯经常停运，物业不管", "{place}楼道灯坏了很久没人修"),
    "housing_quality": ("{place}家里卫生间一直渗水到楼下", "{place}新房墙体出现裂缝"),
    "demolition_resettlement": ("{place}拆迁过渡费迟迟没发", "询问{place}安置房什么时候交房"),
    "utilities": ("{place}又停水了，也没有提前通知", "{place}家里水压太小，楼上用不了水",
                  "{place}这几天晚上经常停电"),
    "urban_planning": ("{place}旁边新规划的楼挡住采光", "想了解{place}附近的规划公示"),
    "housing_security": ("咨询公租房申请条件，我住{place}", "{place}人才公寓补贴一直没到账"),
    "illegal_construction": ("{place}有人在楼顶违章搭建", "{place}一楼住户私自扩建占用绿地"),
    "noise_pollution": ("{place}工地晚上十一点还在施工，噪音太大", "{place}广场舞音响太吵"),
    "air_pollution": ("{place}附近有人焚烧垃圾，烟很大", "{place}餐馆油烟直排到居民楼"),
    "water_pollution": ("{place}旁边的河沟发黑发臭", "{place}有污水直接排进河里"),
    "waste_sanitation": ("{place}的垃圾好几天没人清运", "{place}垃圾桶满了，味道很大"),
    "greening": ("{place}的行道树歪了，怕砸到人", "{place}绿化带杂草太多没人修剪"),
    "public_transit": ("{place}公交站的车很久才来一班", "{place}附近公交车司机态度不好"),
    "taxi_ride_hailing": ("在{place}打车，出租车拒载", "网约车在{place}乱收费"),
    "parking_traffic": ("{place}门口车辆乱停，堵住消防通道", "{place}路边长期停放僵尸车"),
    "traffic_facilities": ("{place}路口红绿灯坏了", "{place}的交通标线看不清了"),
    "school_enrollment": ("孩子入学报名的问题，我们住{place}", "{place}片区划分学校不合理"),
    "school_fees": ("{place}附近学校乱收资料费", "反映{place}幼儿园收费过高"),
    "school_management": ("{place}学校放学时门口秩序混乱", "{place}学校食堂饭菜质量差"),
    "off_campus_training": ("{place}培训机构关门了不退费", "{place}有违规开办的培训班"),
    "culture_sports": ("{place}的健身器材坏了", "{place}的篮球场晚上不开灯"),
    "unpaid_wages": ("在{place}的工地干活，老板拖欠工资", "{place}的公司三个月没发工资"),
    "social_insurance": ("{place}的单位不给交社保", "咨询社保断缴怎么补，我住{place}"),
    "pension_retirement": ("咨询退休手续怎么办，我住{place}", "{place}老人养老金没按时到账"),
    "medical_insurance": ("医保报销比例有疑问，我住{place}", "异地医保备案的问题，住{place}"),
    "employment": ("咨询{place}附近的就业补贴", "想了解{place}的创业贷款政策"),
    "labor_contract": ("{place}的公司不签劳动合同", "{place}的公司违法解除劳动合同"),
    "consumer_rights": ("在{place}的商店买到假货，商家不退", "{place}的健身房不给退卡"),
    "food_safety": ("在{place}的餐馆吃饭后腹泻", "{place}超市卖过期食品"),
    "market_order": ("{place}的菜市场缺斤少两", "{place}有流动摊贩占道经营"),
    "tourism": ("在{place}跟团游被强制购物", "{place}景区门票乱收费"),
    "prepaid_cards": ("{place}的理发店办卡后跑路了", "{place}的洗车店预付卡不能用了"),
    "medical_service": ("{place}的医院排队时间太长", "{place}社区医院医生态度不好"),
    "medical_dispute": ("在{place}的医院治疗后出现并发症，要求说法", "{place}的诊所误诊"),
    "public_health": ("{place}有大量老鼠", "{place}小区蚊虫太多，要求消杀"),
    "family_planning": ("咨询生育津贴怎么领，我住{place}", "{place}的出生证明办理问题"),
    "drug_safety": ("{place}药店卖处方药不要处方", "在{place}买到过期药品"),
    "public_order": ("{place}晚上有人聚众喝酒吵闹", "{place}附近发生多起偷电瓶车"),
    "fire_safety": ("{place}楼道堆满杂物，堵塞消防通道", "{place}有人飞线充电"),
    "fraud_scam": ("在{place}遇到以保健品为名的诈骗", "{place}有人冒充工作人员上门收费"),
    "work_safety": ("{place}的工地没有安全防护", "{place}的小作坊存放大量易燃物"),
    "subsistence_allowance": ("咨询低保申请条件，我住{place}", "{place}的低保金没有按时发放"),
    "elderly_care": ("{place}的老年食堂什么时候开", "{place}独居老人需要上门照护"),
    "disability_assistance": ("{place}的残疾人补贴申请问题", "{place}缺少无障碍坡道"),
    "marriage_registration": ("咨询婚姻登记预约，我住{place}", "{place}婚姻登记处排队太久"),
    "funeral": ("{place}附近有人乱办丧事占道", "咨询{place}的殡葬补贴"),
    "farmland_water": ("{place}的灌溉渠堵了", "{place}的农田水利设施损坏"),
    "agricultural_subsidies": ("{place}的耕地补贴没有到账", "咨询{place}的农机购置补贴"),
    "rural_land": ("{place}的土地流转费没给", "{place}的承包地被人占用"),
    "rural_infrastructure": ("{place}的村道坑坑洼洼", "{place}的自来水经常停"),
    "animal_plant_health": ("{place}有流浪狗咬人", "{place}的猪场死猪乱扔"),
    "neighbor_disputes": ("和{place}的邻居因为漏水吵起来了", "{place}楼上邻居长期噪音扰民"),
    "family_disputes": ("{place}的一户家庭经常吵架打闹", "{place}的老人赡养问题兄弟不管"),
    "contract_debt_disputes": ("{place}的装修公司拿了钱不干活", "{place}的房东不退押金"),
    "legal_aid": ("住{place}，想申请法律援助", "咨询{place}附近的法律援助中心"),
    "policy_inquiry": ("咨询{place}的惠民政策", "想了解{place}的居住证办理"),
    "suggestions": ("建议在{place}增设公交站", "建议在{place}多安装几个路灯"),
    "praise": ("表扬{place}的网格员热心帮忙", "感谢{place}社区及时解决问题"),
    "government_service": ("在{place}的政务大厅办事来回跑", "{place}的办事窗口工作人员推诿"),
}  # fmt: skip
# What a burst of one category is about (the same problem, reported again and again).
BURST_TOPIC: dict[str, tuple[str, tuple[str, ...]]] = {
    "urban_construction": ("municipal_facilities", (
        "{place}的下水道堵塞，污水漫到路上", "{place}下水道堵了，臭得很",
        "{place}的下水道又堵了，污水冒出来")),
    "environmental_protection": ("waste_sanitation", (
        "{place}的垃圾堆了好几天没人清运", "{place}垃圾站臭气熏天")),
    "transportation": ("traffic_facilities", (
        "{place}路口的红绿灯不亮了", "{place}红绿灯坏了，车辆乱成一团")),
    "public_safety": ("fire_safety", ("{place}楼道有人飞线充电", "{place}消防通道被堵死")),
}  # fmt: skip


@dataclass(frozen=True)
class PlantedBurst:
    """Extra tickets of one category in one grid on one local day."""

    day: date
    grid_code: str
    community: str
    category: str  # top category code
    extra: int


@dataclass
class _Kind:
    category: Category
    sub: Subcategory
    phrases: tuple[str, ...]


@dataclass
class _Ticket:  # one invented ticket before it is written
    row: dict[str, Any]
    events: list[tuple[str, datetime, str, dict[str, Any]]] = field(default_factory=list)
    merged_into: int | None = None  # index of the target in the run


def is_demo_number(number: str) -> bool:
    return number.startswith(PREFIX)


def _pick(rng: random.Random, table: Sequence[tuple[str, float]]) -> str:
    roll, seen = rng.random(), 0.0
    for value, share in table:
        seen += share
        if roll < seen:
            return value
    return table[-1][0]


class _Generator:
    def __init__(
        self,
        session: Session,
        registry: Registry,
        taxonomy: Taxonomy,
        *,
        days: int,
        end: date,
        seed: int,
        now: datetime,
        backlog_grid: str | None,
    ) -> None:
        self.session, self.registry = session, registry
        self.rng = random.Random(seed)
        self.np = np.random.default_rng(seed)
        self.start = end - timedelta(days=days - 1)
        self.end, self.days, self.now = end, days, now
        self.backlog_grid = backlog_grid
        self.kinds = [
            _Kind(c, s, PHRASES.get(s.code, ("{place}" + f"关于{s.name}的问题",)))
            for c in taxonomy.categories if c.code in CATEGORY_WEIGHT for s in c.subcategories
        ]  # fmt: skip
        base = np.array([
            CATEGORY_WEIGHT[k.category.code] / len(k.category.subcategories)
            * self.np.uniform(0.5, 1.5) for k in self.kinds
        ])  # fmt: skip
        self.kind_p = []
        for month in range(12):
            season = np.array([SEASON.get(k.sub.code, (1.0,) * 12)[month] for k in self.kinds])
            weights = base * season
            self.kind_p.append(weights / weights.sum())
        self.grids: list[Grid] = sorted(registry.grids.values(), key=lambda g: g.code)
        busy = np.array([max(g.households, 50) for g in self.grids], dtype=float)
        busy *= self.np.lognormal(0.0, 0.7, len(self.grids))  # some grids much busier
        self.grid_p = busy / busy.sum()
        self.places: dict[str, list[tuple[str, float | None, float | None]]] = {}
        for place in registry.places:
            spots = self.places.setdefault(place.grid_code, [])
            lon, lat = place.point
            if place.numbers:
                low, high = place.numbers
                spots += [(f"{place.name}{n}号", lat, lon) for n in range(low, high + 1, 3)]
            elif place.buildings:
                spots += [(f"{place.name}{b}", lat, lon) for b in place.buildings]
            else:
                spots.append((place.name, lat, lon))
        self.handlers: dict[tuple[str, str], str] = {}
        stamp = func.substr(Ticket.number, 3, 8)  # a run after another goes on numbering
        self.sequences: dict[str, int] = {
            day: int(count)
            for day, count in session.execute(
                select(stamp, func.count()).where(DEMO_NUMBERS).group_by(stamp)
            )
        }
        self.residents = 1
        self.homes: list[int] = []
        self.numbers: list[str] = []
        self.ids: list[int] = []
        self.last_of: dict[tuple[str, str], int] = {}  # (grid, category) → its latest ticket

    # Who, where, what -----------------------------------------------------------------
    def set_residents(self, count: int) -> None:
        self.residents = max(20, count)
        self.homes = list(self.np.choice(len(self.grids), self.residents, p=self.grid_p))

    def resident(self) -> int:
        return int(self.residents * self.rng.random() ** 2.5)  # a few call often

    def place(self, grid: Grid) -> tuple[str, float | None, float | None]:
        spots = self.places.get(grid.code)
        return self.rng.choice(spots) if spots else (grid.name, None, None)

    def handler(self, grid: Grid, tier: str, department: str) -> str:
        """Who a dispatch to the grid assigns it to (``lifecycle.handler_for``)."""
        key = (grid.code, tier)
        if key not in self.handlers:
            name = department
            if tier == "grid":
                name = f"{grid.name}（网格员 {grid.worker_name}）"
            else:
                for step in self.registry.chain(grid.code):
                    if step["tier"] == tier:
                        name = step["name"]
            self.handlers[key] = name
        return self.handlers[key]

    def number(self, day: date) -> str:
        stamp = day.strftime("%Y%m%d")
        self.sequences[stamp] = sequence = self.sequences.get(stamp, 0) + 1
        if sequence > 99_999:
            raise ValueError(f"more than 99,999 invented tickets on {day}")
        return f"{PREFIX}{stamp}{sequence:05d}"

    def moment(self, day: date) -> datetime:
        hour = self.rng.choices(range(24), weights=HOUR)[0]
        start = local_midnight(day)
        at = start + timedelta(hours=hour, seconds=self.rng.random() * 3600)
        if at >= self.now:  # today: before now
            at = start + (self.now - start) * self.rng.random()
        return at

    # One ticket ---------------------------------------------------------------------------
    def ticket(
        self,
        created: datetime,
        grid: Grid,
        kind: _Kind,
        *,
        spot: Any = None,
        phrases: Any = None,
    ) -> _Ticket:
        rng = self.rng
        resident = self.resident()
        if spot is None and rng.random() < 0.75:  # most residents report near home
            grid = self.grids[self.homes[resident]]
        channel = _pick(rng, CHANNELS)
        anonymous = rng.random() < 0.04
        phone = None if anonymous else f"1{3 + resident % 7}{resident:09d}"
        conversation = {"webchat": f"web-demo{resident:07d}",
                        "telegram": f"tg-demo{resident:07d}"}.get(channel)  # fmt: skip
        text, lat, lon = spot or self.place(grid)
        description = rng.choice(phrases or kind.phrases).format(place=text)
        description += rng.choice(ENDINGS) if phrases is None else ""
        number = self.number(created.astimezone(LOCAL_TZ).date())
        self.numbers.append(number)  # its index in the run: len(self.numbers) - 1
        sub = kind.sub
        row = {
            "number": number, "submission_key": f"demo-{number}", "status": "submitted",
            "category": kind.category.code, "subcategory": sub.code, "grid_code": grid.code,
            "area_code": None, "location_text": text, "latitude": lat, "longitude": lon,
            "description": description, "contact_phone": phone, "anonymous": anonymous,
            "channel": channel, "conversation_id": conversation,
            "nlu_confidence": round(0.6 + 0.39 * rng.random(), 2) if conversation else None,
            "nlu_candidates": [],
            "transcript": [{"role": "resident", "text": description}] if conversation else [],
            "handoff_requested": False, "department": sub.department,
            "due_at": add_working_days(created, sub.sla_days), "created_at": created,
            "updated_at": created, "version": 1, "tier": sub.tier, "assigned_to": None,
            "merged_into": None, "reject_reason": None, "resolution": None, "rating": None,
            "first_reply_at": None, "closed_at": None,
            "caller_name": f"{rng.choice(SURNAMES)}{rng.choice('先生女士')}"
            if channel == "hotline" else None,
            "urge_count": 0, "supervised": False, "extension_days": None,
            "extension_reason": None,
            "risk_grade": _pick(rng, RISK) if kind.category.code == "disputes" else None,
        }  # fmt: skip
        made = _Ticket(row)
        created_by = {"hotline": ACTOR, "open311": "open311"}.get(channel, "bot")
        made.events.append(("created", created, created_by,
                            {"status": "submitted", "channel": channel}))  # fmt: skip
        self.live(made, grid, kind)
        return made

    def live(self, t: _Ticket, grid: Grid, kind: _Kind) -> None:
        """The ticket's life up to now: events and the fields they leave."""
        rng, row, now = self.rng, t.row, self.now
        created: datetime = row["created_at"]
        key = (grid.code, kind.category.code)
        roll = rng.random()
        if roll < 0.035:  # 不予受理
            at = created + timedelta(hours=rng.expovariate(1 / 4))
            if at < now:
                reason = rng.choice(REJECT_REASONS)
                self.move(t, "rejected", at, {"reason": reason, "note": ""})
                row["reject_reason"] = reason
            return
        if roll < 0.05 and key in self.last_of:  # 合并 into the latest of its kind here
            at = created + timedelta(hours=rng.expovariate(1 / 3))
            target = self.last_of[key]
            if at < now:
                self.move(t, "merged", at, {"into": self.numbers[target]})
                row["merged_into"] = self.numbers[target]
                t.merged_into = target
            return
        self.last_of[key] = len(self.numbers) - 1
        sla = kind.sub.sla_days
        slow = self.backlog_grid == grid.code and (self.now - created).days < 30
        at = created
        for attempt in range(2):  # the first round, and one more after 问题没解决
            at += timedelta(hours=rng.lognormvariate(1.0, 1.1) * (4 if slow else 1))
            if at >= now:
                return
            to_grid = rng.random() < 0.7
            assigned = (self.handler(grid, row["tier"], row["department"])
                        if to_grid else row["department"])  # fmt: skip
            dispatch_to = "grid" if to_grid else "department"
            self.move(t, "dispatched", at, {"dispatch_to": dispatch_to, "assigned_to": assigned,
                                            "note": ""})  # fmt: skip
            row["assigned_to"] = assigned
            window = max((row["due_at"] - at).total_seconds(), 3600.0)
            if rng.random() < 0.003 or (slow and rng.random() < 0.8):
                return  # stuck: still open, past its deadline sooner or later
            if rng.random() < (0.12 if attempt == 0 else 0.05):
                took = window + rng.expovariate(1 / (3 * 86400))  # late
            else:
                took = window * rng.uniform(0.05, 0.95)
            done = at + timedelta(seconds=took)
            if rng.random() < 0.6:
                started = at + timedelta(seconds=took * 0.2)
                if started >= now:
                    return
                self.move(t, "in_progress", started, {"note": ""}, kind="started")
            if done >= now:
                return
            result = rng.choice(RESULTS)
            row["resolution"] = result
            row["first_reply_at"] = row["first_reply_at"] or done
            rating = _pick(rng, RATINGS) if attempt == 0 else _pick(rng, RATINGS[:3])
            if rng.random() < 0.75:  # 办理完成, then the resident's rating or 办结
                self.move(t, "resolved", done, {"text": result})
                later = done + timedelta(hours=rng.expovariate(1 / 20))
                if later >= now:
                    return
                if rng.random() < 0.55:
                    if self.rate(t, later, rating, "rated", sla):
                        at = later
                        continue  # reopened: another round
                    return
                self.close(t, later, {"text": result})
            else:
                self.close(t, done, {"text": result})
            asked = row["closed_at"] + timedelta(hours=rng.expovariate(1 / 30))
            if rng.random() < 0.5 and asked < now:
                kind_of = "followed_up" if rng.random() < 0.4 else "rated"
                if self.rate(t, asked, rating, kind_of, sla):
                    at = asked
                    continue
            if rng.random() < 0.01:  # staff reopen it
                again = row["closed_at"] + timedelta(days=rng.uniform(1, 5))
                if again < now:
                    self.reopen(t, again, "reopened", {"reason": "市民反映问题仍未解决"}, sla)
                    at = again
                    continue
            return

    def move(
        self, t: _Ticket, status: str, at: datetime, data: dict[str, Any], kind: str = ""
    ) -> None:
        before = t.row["status"]
        t.row["status"] = status
        t.row["updated_at"] = at
        t.events.append((kind or status, at, ACTOR, {"from": before, "to": status, **data}))

    def close(self, t: _Ticket, at: datetime, data: dict[str, Any]) -> None:
        self.move(t, "closed", at, data)
        t.row["closed_at"] = at

    def reopen(self, t: _Ticket, at: datetime, kind: str, data: dict[str, Any], sla: int) -> None:
        row = t.row
        before = row["status"]
        row.update(status="reopened", closed_at=None, updated_at=at,
                   due_at=add_working_days(at, sla))  # fmt: skip
        t.events.append((kind, at, "resident" if kind == "rated" else ACTOR,
                         {"from": before, "to": "reopened", **data}))  # fmt: skip

    def rate(self, t: _Ticket, at: datetime, rating: str, kind: str, sla: int) -> bool:
        """The resident's rating (or the follow-up call's); True if it reopened the ticket."""
        row = t.row
        row["rating"] = rating
        data = ({"rating": rating, "comment": ""} if kind == "rated"
                else {"result": rating, "text": ""})  # fmt: skip
        if rating == "unresolved":
            self.reopen(t, at, kind, data, sla)
            return True
        actor = "resident" if kind == "rated" else ACTOR
        if row["status"] == "resolved":
            row.update(status="closed", closed_at=at, updated_at=at)
            t.events.append((kind, at, actor, {"from": "resolved", "to": "closed", **data}))
        else:
            row["updated_at"] = at
            t.events.append((kind, at, actor, data))
        return False

    # Writing ------------------------------------------------------------------------------
    def write(self, batch: list[_Ticket]) -> None:
        table = cast(Table, Ticket.__table__)
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        ids = list(self.session.execute(statement, [t.row for t in batch]).scalars())
        offset = len(self.ids)
        self.ids += ids
        events: list[dict[str, Any]] = []
        for t, ticket_id in zip(batch, ids, strict=True):
            for kind, at, actor, data in t.events:
                events.append({"ticket_id": ticket_id, "kind": kind, "actor": actor,
                               "data": data, "created_at": at})  # fmt: skip
            if t.merged_into is not None:
                into = self.ids[t.merged_into]
                merged_at = t.events[-1][1]
                data = {"number": t.row["number"]}
                events.append({"ticket_id": into, "kind": "merged_from", "actor": ACTOR,
                               "data": data, "created_at": merged_at})  # fmt: skip
        assert offset + len(batch) == len(self.ids)
        event_table = cast(Table, TicketEvent.__table__)
        for start in range(0, len(events), 20_000):
            self.session.execute(insert(event_table), events[start : start + 20_000])
        self.session.commit()


def generate(
    session: Session,
    registry: Registry,
    taxonomy: Taxonomy,
    *,
    tickets: int,
    days: int,
    end: date,
    seed: int,
    bursts: int = 0,
    planted: Sequence[PlantedBurst] = (),
    backlog_grid: str | None = None,
    now: datetime | None = None,
) -> list[PlantedBurst]:
    """Write ``tickets`` invented tickets filed over the ``days`` local days ending on ``end``
    (none after ``now``), plus ``bursts`` random planted bursts and the ``planted`` ones;
    ``backlog_grid``'s tickets of the last 30 days mostly stay open past their deadline.
    Commits per batch, rebuilds the search index (SQLite) and the daily counts; returns every
    planted burst (random ones first)."""
    if days < 1 or tickets < 0:
        raise ValueError("days must be at least 1 and tickets not negative")
    if not registry.grids:
        raise ValueError("the grid registry has no grids")
    moment = now or utcnow()
    cutoff = min(moment, local_midnight(end + timedelta(days=1)))
    gen = _Generator(session, registry, taxonomy, days=days, end=end, seed=seed, now=cutoff,
                     backlog_grid=backlog_grid)  # fmt: skip
    gen.set_residents(int(tickets * 0.6))
    calendar = [gen.start + timedelta(days=n) for n in range(days)]
    calendar = [d for d in calendar if local_midnight(d) < cutoff]
    weights = np.array([WEEKDAY[d.weekday()] for d in calendar])
    per_day: list[int] = (
        [int(n) for n in gen.np.multinomial(tickets, weights / weights.sum())] if calendar else []
    )
    plan = _plan_bursts(gen, calendar, bursts) + list(planted)
    by_day: dict[date, list[PlantedBurst]] = {}
    for burst in plan:
        by_day.setdefault(burst.day, []).append(burst)
    topics = {k.category.code: k for k in reversed(gen.kinds)}  # each category's first
    batch: list[_Ticket] = []
    for day, count in zip(calendar, per_day, strict=True):
        kinds = gen.np.choice(len(gen.kinds), int(count), p=gen.kind_p[day.month - 1])
        grids = gen.np.choice(len(gen.grids), int(count), p=gen.grid_p)
        entries: list[tuple[datetime, _Kind, Grid, Any, Any]] = [
            (gen.moment(day), gen.kinds[k], gen.grids[g], None, None)
            for k, g in zip(kinds, grids, strict=True)
        ]
        for burst in by_day.get(day, []):
            grid = registry.grids[burst.grid_code]
            sub_code, phrases = BURST_TOPIC.get(burst.category, ("", ()))
            kind = next((k for k in gen.kinds if k.sub.code == sub_code), topics[burst.category])
            spot = gen.place(grid)
            entries += [(gen.moment(day), kind, grid, spot, phrases or None)
                        for _ in range(burst.extra)]  # fmt: skip
        entries.sort(key=lambda entry: entry[0])  # numbers and ids follow the filing time
        for created, kind, grid, spot, phrases in entries:
            batch.append(gen.ticket(created, grid, kind, spot=spot, phrases=phrases))
        if len(batch) >= BATCH:
            gen.write(batch)
            batch = []
    if batch:
        gen.write(batch)
    connection = session.connection()
    search.reindex(connection)  # nothing to do without the index (PostgreSQL)
    session.commit()
    rollup.rebuild(session)
    return plan


def _plan_bursts(gen: _Generator, calendar: list[date], count: int) -> list[PlantedBurst]:
    """``count`` random bursts: a day after the first four weeks (a baseline before it), a
    grid (busier ones likelier) and a category with a burst topic."""
    if not calendar or count <= 0:
        return []
    days = calendar[min(28, len(calendar) - 1) :]
    categories = sorted(BURST_TOPIC)
    found = []
    for _ in range(count):
        grid = gen.grids[int(gen.np.choice(len(gen.grids), p=gen.grid_p))]
        found.append(PlantedBurst(day=gen.rng.choice(days), grid_code=grid.code,
                                  community=grid.community, category=gen.rng.choice(categories),
                                  extra=gen.rng.randint(6, 15)))  # fmt: skip
    return found
