from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.importers.rasa import RasaFileImporter
from rasa.shared.nlu.training_data.message import Message

from nlu.emergency import EmergencyClassifier

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> EmergencyClassifier:
    storage = LocalModelStorage(tmp_path_factory.mktemp("model"))
    resource = Resource("emergency")
    context = ExecutionContext(GraphSchema({}), "test")
    trained = EmergencyClassifier.create({}, storage, resource, context)
    data = RasaFileImporter(training_data_paths=[str(ROOT / "data" / "nlu")]).get_nlu_data()
    trained.train(data)
    # Loaded from model storage, as the Rasa server does.
    return EmergencyClassifier.load({}, storage, resource, context)


def parse(classifier: EmergencyClassifier, text: str) -> Message:
    message = Message.build(text=text, intent="report_public_safety")
    message.set("intent", {"name": "report_public_safety", "confidence": 0.9})
    message.set("intent_ranking", [{"name": "report_public_safety", "confidence": 0.9}])
    return classifier.process([message])[0]


@pytest.mark.parametrize(
    ("text", "services"),
    [
        ("楼下饭店着火了，好大的烟", ["fire"]),
        ("小区门口有人正在打架", ["police"]),
        ("菜市场有人晕倒了", ["medical"]),
        ("有人被车撞了，流了好多血", ["medical"]),
        ("隔壁煤气泄漏了", ["fire"]),
        ("救命！有人拿刀追我", ["police"]),
        ("天天吵。现在楼下有人在打架了！", ["police"]),  # a guard in another sentence
    ],
)
def test_emergency_wording_overrides_the_intent(
    classifier: EmergencyClassifier, text: str, services: list[str]
) -> None:
    message = parse(classifier, text)
    assert message.get("intent")["name"] == "emergency"
    assert message.get("intent_ranking")[1]["name"] == "report_public_safety"
    found = [e["value"] for e in message.get("entities") if e["entity"] == "emergency_service"]
    assert found == services


@pytest.mark.parametrize(
    "text",
    [
        "消防通道被电动车堵了，万一着火了怎么办",
        "楼道里堆满杂物，如果着火了根本跑不出去",
        "低保是困难群众的救命钱，不能变成关系保",
        "消防通道是救命的通道，不能堵",
        "烧烤摊那边醉汉天天半夜吵架，凌晨一两点还在打架",
        "有一次，车上一位老人中暑晕倒了。希望换新空调车",
        "那人闯红灯，我差点被车撞到",
        "路灯坏了好几天",
        "/affirm",
    ],
)
def test_hypothetical_or_ordinary_messages_are_not_emergencies(
    classifier: EmergencyClassifier, text: str
) -> None:
    assert parse(classifier, text).get("intent")["name"] == "report_public_safety"
