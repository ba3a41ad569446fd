"""Every Chinese label staff and residents read, in one place (one label per code).

Codes (``submitted``, ``dispatch``, ``grid`` …) are what the database, the APIs and the code
use; pages, exports and bot messages show the label. Dicts are keyed by the plain string
value, so an ``enum.StrEnum`` member looks up the same label as its value.
"""

from __future__ import annotations

# 工单状态 — the ticket life cycle (casestore.models.TicketStatus)
STATUS = {
    "draft": "草稿",
    "submitted": "已受理，待审核",
    "dispatched": "已派单",
    "in_progress": "办理中",
    "resolved": "已答复",
    "closed": "已办结",
    "rejected": "不予受理",
    "merged": "已合并",
    "reopened": "已重新办理",
}
# Statuses that still need work (the queue's "open" view, SLA colours, Open311 "open").
OPEN_STATUSES = ("submitted", "reopened", "dispatched", "in_progress")

# 层级 — grid → community (village) → street (township) → district (county)
TIERS = ("grid", "community", "street", "district")
TIER = {
    "grid": "网格",
    "community": "社区（村）",
    "street": "街道（乡镇）",
    "district": "区（县）",
}

# 工单操作 — the life-cycle actions (casestore.services.lifecycle)
ACTION = {
    "correct": "更正",
    "dispatch": "派单",
    "start": "开始办理",
    "escalate": "上报上一级",
    "reply": "答复市民",
    "resolve": "办理完成并答复",
    "close": "办结",
    "reject": "不予受理",
    "merge": "合并",
    "reopen": "重新办理",
    "rate": "满意度评价",
}
# The event each action leaves on the ticket.
ACTION_EVENT = {
    "correct": "corrected",
    "dispatch": "dispatched",
    "start": "started",
    "escalate": "escalated",
    "reply": "replied",
    "resolve": "resolved",
    "close": "closed",
    "reject": "rejected",
    "merge": "merged",
    "reopen": "reopened",
    "rate": "rated",
}
# 工单事件
EVENT = {
    "created": "受理",
    "handoff_requested": "市民要求人工",
    "attachments_linked": "附上照片",
    "attachment_added": "补充照片",
    "resident_message": "市民留言",
    "merged_from": "合并入其他工单",
    **{ACTION_EVENT[action]: label for action, label in ACTION.items()},
}

# 不予受理理由
REJECT_REASON = {"spam": "无效信息", "out_of_scope": "不属于受理范围", "duplicate": "重复诉求"}

# 满意度 — the resident's rating of a finished ticket
RATING = {
    "satisfied": "满意",
    "basically_satisfied": "基本满意",
    "dissatisfied": "不满意",
    "unresolved": "问题没解决",
}

# 超期预警 — overdue levels of open tickets
SLA = {"red": "已超期", "yellow": "即将超期", "blue": "临近期限", "": "正常"}

# 渠道
CHANNEL = {
    "webchat": "网页留言",
    "telegram": "Telegram",
    "hotline": "热线电话",
    "rest": "接口",
    "open311": "Open311",
}

# 账号角色
ROLE = {"staff": "话务员", "grid_worker": "网格员", "admin": "管理员"}

# 训练样本 — where an example came from, and its review status
EXAMPLE_SOURCE = {
    "correction": "坐席更正",
    "fallback_choice": "市民选择",
    "low_confidence": "低置信度",
    "import": "历史导入",
    "seed": "初始数据",
}
EXAMPLE_STATUS = {"pending": "待审核", "accepted": "已采纳", "rejected": "已舍弃"}

# 模型版本与训练任务
MODEL_STATUS = {"candidate": "候选", "active": "使用中", "retired": "已停用"}
JOB_STATUS = {
    "running": "进行中",
    "succeeded": "已完成",
    "failed": "失败",
    "cancelled": "已取消",
}

# 审计记录 — what an admin did outside a ticket
AUDIT_ACTION = {
    "example_accept": "采纳样本",
    "example_relabel": "重新标注样本",
    "example_reject": "舍弃样本",
    "example_edit": "修改样本",
    "example_delete": "删除样本",
    "model_register": "登记模型",
    "model_evaluate": "评估模型",
    "model_activate": "启用模型",
    "model_rollback": "回滚模型",
    "training_start": "开始训练",
    "training_cancel": "取消训练",
    "taxonomy_add": "新增分类",
    "user_create": "新建账号",
    "user_deactivate": "停用账号",
}


def label(table: dict[str, str], code: object) -> str:
    """The label of a code; an unknown code is shown as it is rather than lost."""
    key = str(code.value) if hasattr(code, "value") else str(code)
    return table.get(key, key)
