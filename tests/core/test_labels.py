"""Every code a person can meet has exactly one Chinese label, in core/labels.yml."""

from __future__ import annotations

import enum
import re
from typing import get_args

import pytest

from accounts.models import Role
from casestore.models import Channel, TicketStatus
from casestore.schemas import ActionName
from casestore.services.lifecycle import ALLOWED_FROM
from core import labels
from retraining.models import ExampleSource, JobStatus, ModelStatus

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize(
    ("codes", "table"),
    [
        (TicketStatus, labels.STATUS),
        (Role, labels.ROLE),
        (ExampleSource, labels.EXAMPLE_SOURCE),
        (ModelStatus, labels.MODEL_STATUS),
        (JobStatus, labels.JOB_STATUS),
    ],
)
def test_every_enum_member_has_a_chinese_label(
    codes: type[enum.StrEnum], table: dict[str, str]
) -> None:
    assert set(table) == {c.value for c in codes}
    assert all(CJK.search(table[c.value]) for c in codes)


def test_channels_have_labels() -> None:
    assert set(labels.CHANNEL) == {c.value for c in Channel}


def test_every_action_has_a_label_and_an_event_with_a_label() -> None:
    actions = set(get_args(ActionName))
    assert actions == set(labels.ACTION) == set(labels.ACTION_EVENT) == set(ALLOWED_FROM)
    for action in actions:
        assert labels.EVENT[labels.ACTION_EVENT[action]] == labels.ACTION[action]


def test_groups_and_orders_use_known_codes() -> None:
    assert set(labels.OPEN_STATUSES) | set(labels.FINAL_STATUSES) <= set(labels.STATUS)
    assert not set(labels.OPEN_STATUSES) & set(labels.FINAL_STATUSES)
    assert labels.TIERS == ("grid", "community", "street", "district")


def test_label_falls_back_to_the_code_and_accepts_enum_members() -> None:
    assert labels.label(labels.STATUS, TicketStatus.CLOSED) == "已办结"
    assert labels.label(labels.STATUS, "no_such_status") == "no_such_status"
