"""The shared vocabulary: every code and the one Chinese label staff and residents read for it.

The labels themselves are in ``core/labels.yml`` (one table per kind of code); this module
gives them names and adds the orders and groups the code relies on. Tables are keyed by the
plain string value, so an ``enum.StrEnum`` member finds the same label as its value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def _tables() -> dict[str, dict[str, str]]:
    raw: dict[str, Any] = yaml.safe_load(
        Path(__file__).with_name("labels.yml").read_text(encoding="utf-8")
    )
    return {kind: {str(k): str(v) for k, v in table.items()} for kind, table in raw.items()}


_T = _tables()

STATUS = _T["status"]  # 工单状态
TIER = _T["tier"]  # 层级
ACTION = _T["action"]  # 工单操作
ACTION_EVENT = _T["action_event"]  # action → the event kind it records
EVENT = {**_T["event"], **{ACTION_EVENT[a]: label for a, label in ACTION.items()}}  # 工单事件
REJECT_REASON = _T["reject_reason"]  # 不予受理理由
RATING = _T["rating"]  # 满意度
FOLLOW_UP = _T["follow_up"]  # 回访结果
FLAG = _T["flag"]  # 工单标记
SLA = _T["sla"]  # 超期预警
CHANNEL = _T["channel"]  # 渠道
RISK_GRADE = _T["risk_grade"]  # 风险等级（矛盾纠纷四色）
DISPUTE_STAGE = _T["dispute_stage"]  # 矛盾纠纷办理环节
MEDIATION_OUTCOME = _T["mediation_outcome"]  # 调解结果
PARTY_ROLE = _T["party_role"]  # 纠纷当事人身份
SETTLED_SCOPE = _T["settled_scope"]  # 就地化解（不出村、不出乡镇、不出县）
ALERT_KIND = _T["alert_kind"]  # 预警类型
ALERT_LEVEL = _T["alert_level"]  # 预警等级
ALERT_STATE = _T["alert_state"]  # 预警的处置状态
ASSESSMENT_LEVEL = _T["assessment_level"]  # 考评等级
ROLE = _T["role"]  # 账号角色
EXAMPLE_SOURCE = _T["example_source"]  # 训练样本来源
EXAMPLE_STATUS = _T["example_status"]  # 训练样本审核状态
MODEL_STATUS = _T["model_status"]  # 模型版本状态
JOB_STATUS = _T["job_status"]  # 训练任务状态
AUDIT_ACTION = _T["audit_action"]  # 审计记录
QUEUE_VIEW = _T["queue_view"]  # 工单队列的视图
DISPATCH_TARGET = _T["dispatch_target"]  # 派单对象
INTENT = _T["intent"]  # 对话意图 (besides the report intents, named by their category)
SPEAKER = _T["speaker"]  # 对话中的发言人
ACTOR = _T["actor"]  # 操作人 (besides console accounts, which show their ROLE)
EVENT_FIELD = _T["event_field"]  # 办理记录与审计记录中的字段
PLACEHOLDER = _T["placeholder"]  # 尚未确定的值
UNASSIGNED_QUEUE = PLACEHOLDER["unassigned_queue"]
UNCLASSIFIED = PLACEHOLDER["unclassified"]

# Statuses that still need work (the queue's "open" view, SLA colours).
OPEN_STATUSES = ("submitted", "reopened", "returned", "dispatched", "in_progress")
# Statuses nothing more happens to unless the ticket is reopened (Open311 "closed").
FINAL_STATUSES = ("closed", "rejected", "merged")
# Statuses waiting for a staff member's review and dispatch (the queue's "review" view, its
# default): new, reopened by the resident, returned by the unit it was dispatched to.
REVIEW_STATUSES = ("submitted", "reopened", "returned")
# Grid → community (village) → street (township) → district (county): the escalation order.
TIERS = tuple(TIER)


def label(table: dict[str, str], code: object) -> str:
    """The label of a code; an unknown code is shown as it is rather than lost."""
    key = str(getattr(code, "value", code))
    return table.get(key, key)


def actor_label(actor: str) -> str:
    """Who acted, in Chinese: ``staff:lili`` → ``话务员 lili``, ``bot`` → ``机器人``.

    Actors are ``role:username`` for console accounts and a channel or tool name otherwise
    (``resident``, ``cli:root``, ``import:history.csv``); an unknown one is shown as it is.
    """
    kind, _, name = actor.partition(":")
    table = ROLE if kind in ROLE else ACTOR
    if kind not in table:
        return actor
    return f"{table[kind]} {name}".strip()
