from __future__ import annotations

from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.entity_training import EntityTrainingSelector

ANNOTATED = {
    "text": "玉林北路18号的路灯坏了",
    "intent": "report_urban_construction",
    "entities": [{"start": 0, "end": 7, "value": "玉林北路18号", "entity": "location"}],
}


def letter(i: int) -> Message:
    return Message(data={"text": "尊敬的领导：" + "我家楼下的路灯坏了很久。" * 20 + str(i),
                         "intent": "report_urban_construction"})  # fmt: skip


def short(i: int) -> Message:
    return Message(data={"text": f"工资拖了{i}个月了", "intent": "report_labor_social_security"})


def test_training_data_keeps_annotated_and_a_bounded_sample_of_short_unannotated() -> None:
    selector = EntityTrainingSelector({"max_unannotated": 5})
    data = TrainingData(
        training_examples=[
            Message(data=ANNOTATED),
            *map(letter, range(50)),
            *map(short, range(20)),
        ],
        regex_features=[{"name": "emergency_fire", "pattern": "着火了"}],
        entity_synonyms={"黄门": "黄门街"},
    )
    out = selector.process_training_data(data)
    texts = [m.get("text") for m in out.training_examples]
    assert texts[0] == ANNOTATED["text"]
    assert len(texts) == 6  # the annotated one and five short ones; no long letter
    assert all(len(t) <= 80 for t in texts)
    assert out.regex_features == data.regex_features
    assert out.entity_synonyms == data.entity_synonyms
    # The sample does not depend on the order of the files.
    reordered = TrainingData(training_examples=list(reversed(data.training_examples)))
    again = [m.get("text") for m in selector.process_training_data(reordered).training_examples]
    assert sorted(again) == sorted(texts)


def test_messages_pass_unchanged_at_prediction_time() -> None:
    message = Message(data={"text": "路灯坏了"})
    assert EntityTrainingSelector({}).process([message]) == [message]
