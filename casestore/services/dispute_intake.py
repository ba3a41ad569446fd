"""登记受理 of a dispute (矛盾纠纷): the first risk grade read from what was said, and the
dispute's own fields set when its ticket is filed.

Kept apart from ``casestore.services.disputes`` (the rest of the dispute line), which acts
through ``lifecycle``: ``tickets.create_ticket`` calls ``on_filed`` here, and ``lifecycle``
imports ``tickets``, so the filing hook must not import ``lifecycle`` (no import cycles).

Initial grade (风险等级, labels.RISK_GRADE), by keywords in the description, the first rule
that matches wins:

* red 红色 — violence, self-harm or many people involved (持刀, 动刀, 打伤, 自杀, 跳楼, 群体,
  聚集, 围堵, 扬言 …): joint handling across departments (需多部门联合处置).
* orange 橙色 — threats, a fight, mediation already tried and failed, petitioning (威胁, 报复,
  动手, 打架, 多次调解, 激化, 上访 …): it may escalate (可能激化升级).
* blue 蓝色 — a worry about what may come (隐患, 苗头, 可能会, 担心 …): a hidden risk (潜在隐患).
* yellow 黄色 — everything else: an ordinary dispute (一般纠纷), e.g. "5栋有两户因为漏水吵起来了".

Staff confirm or change the grade at 风险研判 (``disputes.grade``).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from casestore.models import Mediation, Ticket

DISPUTES = "disputes"  # 矛盾纠纷 in data/taxonomy.yml

RED_WORDS = (
    "持刀", "动刀", "拿刀", "菜刀", "打伤", "砍伤", "捅伤", "自杀", "轻生", "跳楼", "跳河",
    "喝农药", "同归于尽", "放火", "纵火", "械斗", "群体", "聚集", "围堵", "堵路", "扬言",
)  # fmt: skip
ORANGE_WORDS = (
    "威胁", "恐吓", "报复", "动手", "打架", "打人", "推搡", "多次调解", "反复调解", "调解不成",
    "激化", "上访", "闹事",
)  # fmt: skip
BLUE_WORDS = ("隐患", "苗头", "可能会", "担心", "怕以后", "迟早", "早晚会", "积怨")
RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("red", RED_WORDS),
    ("orange", ORANGE_WORDS),
    ("blue", BLUE_WORDS),
)
ORDINARY = "yellow"


def initial_grade(text: str) -> str:
    """The first risk grade of a dispute from its description (rules in the module's text)."""
    compact = "".join((text or "").split())
    for grade, words in RULES:
        if any(word in compact for word in words):
            return grade
    return ORDINARY


def on_filed(session: Session, ticket: Ticket, risk_grade: str | None = None) -> Mediation:
    """A dispute ticket was just filed: stage 登记受理, its grade (the one given, the one it
    has, else ``initial_grade``) and an empty mediation record."""
    ticket.dispute_stage = ticket.dispute_stage or "registered"
    ticket.risk_grade = risk_grade or ticket.risk_grade or initial_grade(ticket.description)
    if ticket.mediation is None:
        ticket.mediation = Mediation(ticket_id=ticket.id, parties=[], mediator="")
        session.add(ticket.mediation)
    session.flush()
    return ticket.mediation
