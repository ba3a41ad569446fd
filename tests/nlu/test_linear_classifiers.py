from __future__ import annotations

from pathlib import Path

import joblib
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.linear_intent import LinearIntentClassifier
from nlu.subcategory import SubcategoryClassifier
from nlu.tokenizer import NormalizingJiebaTokenizer
from tests.nlu.conftest import Components

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = [
    ("路灯坏了好几天", "report_urban_construction", "municipal_facilities"),
    ("下水道堵了臭得很", "report_urban_construction", "municipal_facilities"),
    ("井盖丢了很危险", "report_urban_construction", "municipal_facilities"),
    ("物业费乱涨价", "report_urban_construction", "property_management"),
    ("电梯老是坏物业不管", "report_urban_construction", "property_management"),
    ("小区保安不负责任", "report_urban_construction", "property_management"),
    ("老板拖欠工资三个月", "report_labor_social_security", "unpaid_wages"),
    ("包工头不给工钱", "report_labor_social_security", "unpaid_wages"),
    ("公司不交社保", "report_labor_social_security", "social_insurance"),
    ("社保断缴了怎么补", "report_labor_social_security", "social_insurance"),
    ("你好", "greet", None),
    ("在吗", "greet", None),
    ("[玉林北路18号](location)", "inform", None),
]


def training_data() -> TrainingData:
    messages = []
    for text, intent, sub in EXAMPLES:
        data = {"text": text, "intent": intent}
        if sub:
            data["metadata"] = {"intent": {"subcategory": sub}}
        messages.append(Message(data=data))
    return TrainingData(training_examples=messages)


def test_train_persist_load_and_predict(components: Components) -> None:
    storage, context, tokenizer = components.storage, components.context, components.tokenizer
    paths = {
        "dictionary_path": str(ROOT / "data/jieba/userdict.txt"),
        "taxonomy_path": str(ROOT / "data/taxonomy.yml"),
    }
    data = training_data()
    tokenizer.process_training_data(data)
    LinearIntentClassifier.create(paths, storage, Resource("intent"), context).train(data)
    SubcategoryClassifier.create(paths, storage, Resource("sub"), context).train(data)
    intent = LinearIntentClassifier.load(paths, storage, Resource("intent"), context)
    sub = SubcategoryClassifier.load(paths, storage, Resource("sub"), context)
    assert len(intent.lexicon.places) > 100  # the gazetteer went into the model

    messages = [Message.build(text="公司拖欠我的工资"), Message.build(text="您好在吗")]
    tokenizer.process(messages)
    intent.process(messages)
    wages, hello = messages
    ranking = wages.get("intent_ranking")
    assert abs(sum(r["confidence"] for r in ranking) - 1.0) < 1e-6
    sub.process(messages)
    assert wages.get("intent")["name"] == "report_labor_social_security"
    # The report's confidence is now both classifiers' agreement on the category.
    own = wages.get("intent")["model_confidence"]
    assert own > 0.5 and 0.5 < wages.get("intent")["confidence"] <= 1.0
    assert wages.get("intent_ranking")[0]["confidence"] == wages.get("intent")["confidence"]
    assert wages.get("subcategory")["name"] == "unpaid_wages"
    assert {r["name"] for r in wages.get("subcategory_ranking")} == {
        "unpaid_wages",
        "social_insurance",
    }
    assert hello.get("intent")["name"] == "greet"
    assert hello.get("subcategory") is None  # only reports get a subcategory


def test_places_are_masked_for_classification(tmp_path: Path) -> None:
    from nlu.text_features import PLACE, document, lexicon_for

    lexicon = lexicon_for(
        {"dictionary_path": str(ROOT / "data/jieba/userdict.txt"), "taxonomy_path": None}
    )
    tokenizer = NormalizingJiebaTokenizer.create(
        {**NormalizingJiebaTokenizer.get_default_config(),
         "dictionary_path": str(ROOT / "data/jieba")},
        LocalModelStorage(tmp_path), Resource("tok"), ExecutionContext(GraphSchema({}), "t"),
    )  # fmt: skip
    message = Message.build(text="长寿苑小区3栋的路灯坏了")
    tokenizer.process([message])
    doc = document(message, lexicon)
    assert PLACE in doc and "长寿苑" not in doc and "0栋" in doc


def test_a_report_the_two_classifiers_disagree_on_becomes_a_fallback() -> None:
    from nlu.subcategory import SubcategoryClassifier as Sub

    message = Message.build(text="x")
    message.set("intent", {"name": "report_disputes", "confidence": 0.9})
    message.set("intent_ranking", [{"name": "report_disputes", "confidence": 0.9},
                                   {"name": "report_other", "confidence": 0.1}])  # fmt: skip
    Sub._combine_confidence(message, 0.1, threshold=0.6)  # sqrt(0.9 * 0.1) = 0.3
    assert message.get("intent")["name"] == "nlu_fallback"
    ranking = message.get("intent_ranking")
    assert [r["name"] for r in ranking] == ["nlu_fallback", "report_disputes", "report_other"]
    assert abs(ranking[1]["confidence"] - 0.3) < 1e-9
    agreed = Message.build(text="y")
    agreed.set("intent", {"name": "report_disputes", "confidence": 0.9})
    agreed.set("intent_ranking", [{"name": "report_disputes", "confidence": 0.9}])
    Sub._combine_confidence(agreed, 0.9, threshold=0.6)
    assert agreed.get("intent")["name"] == "report_disputes"
    assert abs(agreed.get("intent")["confidence"] - 0.9) < 1e-9


def test_reports_without_a_subcategory_teach_the_category_only(components: Components) -> None:
    paths = {
        "dictionary_path": str(ROOT / "data/jieba/userdict.txt"),
        "taxonomy_path": str(ROOT / "data/taxonomy.yml"),
    }
    data = training_data()
    corrected = [
        Message(data={"text": text, "intent": "report_transportation"})
        for text in ("地铁站的电梯又坏了", "公交车老是不来", "出租车拒载")
    ]
    data = TrainingData(training_examples=[*data.training_examples, *corrected])
    sub = SubcategoryClassifier.create(paths, components.storage, Resource("sub"),
                                       components.context)  # fmt: skip
    sub.train(data)
    assert "report_transportation/" in list(sub.pipeline.classes_)
    message = Message.build(text="地铁站的电梯又坏了")
    message.set("intent", {"name": "report_transportation", "confidence": 0.9})
    message.set("intent_ranking", [{"name": "report_transportation", "confidence": 0.9}])
    sub.process([message])
    assert message.get("subcategory") is None  # the unnamed class is never offered
    assert message.get("intent")["model_confidence"] == 0.9


def test_unlabelled_reports_are_a_bounded_sample(components: Components) -> None:
    paths = {"dictionary_path": str(ROOT / "data/jieba"), "taxonomy_path": None,
             "max_unlabelled_per_category": 2}  # fmt: skip
    many = [Message(data={"text": f"第{i}路公交车老是不来", "intent": "report_transportation"})
            for i in range(20)]  # fmt: skip
    data = TrainingData(training_examples=[*training_data().training_examples, *many])
    seen: list[int] = []
    sub = SubcategoryClassifier.create(paths, components.storage, Resource("sub"),
                                       components.context)  # fmt: skip
    original = sub.fit
    sub.fit = lambda documents_of, examples, labels: (  # type: ignore[method-assign]
        seen.append(labels.count("report_transportation/"))
        or original(documents_of, examples, labels)
    )
    sub.train(data)
    assert seen == [2]


def test_a_model_saved_with_joblib_before_still_loads(components: Components) -> None:
    """Models kept for rollback (models/versions/) were saved compressed with joblib."""
    storage, context, tokenizer = components.storage, components.context, components.tokenizer
    paths = {
        "dictionary_path": str(ROOT / "data/jieba/userdict.txt"),
        "taxonomy_path": str(ROOT / "data/taxonomy.yml"),
    }
    data = training_data()
    tokenizer.process_training_data(data)
    trained = LinearIntentClassifier.create(paths, storage, Resource("old"), context)
    trained.train(data)
    with storage.write_to(Resource("old")) as directory:  # rewrite it as the old format
        saved = directory / LinearIntentClassifier.MODEL_FILE
        joblib.dump((trained.pipeline, trained.lexicon), saved.with_suffix(".joblib"), compress=3)
        saved.unlink()
    loaded = LinearIntentClassifier.load(paths, storage, Resource("old"), context)
    messages = [Message.build(text="公司拖欠我的工资")]
    tokenizer.process(messages)
    loaded.process(messages)
    assert messages[0].get("intent")["name"] == "report_labor_social_security"
