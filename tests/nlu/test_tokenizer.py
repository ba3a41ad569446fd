from __future__ import annotations

from pathlib import Path

from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message

from nlu.tokenizer import NormalizingJiebaTokenizer

ROOT = Path(__file__).resolve().parents[2]


def make(tmp_path: Path, dictionary: str) -> NormalizingJiebaTokenizer:
    config = {**NormalizingJiebaTokenizer.get_default_config(), "dictionary_path": dictionary}
    return NormalizingJiebaTokenizer.create(
        config,
        LocalModelStorage(tmp_path),
        Resource("tok"),
        ExecutionContext(GraphSchema({}), "t"),
    )


def test_place_names_stay_one_token_and_offsets_point_into_the_original(tmp_path: Path) -> None:
    tokenizer = make(tmp_path, str(ROOT / "data" / "jieba"))
    text = "長壽苑小區３栋门口的垃圾没人收"
    tokens = tokenizer.tokenize(Message.build(text=text), "text")
    words = [t.text for t in tokens]
    assert "长寿苑小区" in words
    first = tokens[0]
    assert text[first.start : first.end] == "長壽苑小區"


def test_dictionary_changes_change_the_fingerprint(tmp_path: Path) -> None:
    folder = tmp_path / "dict"
    folder.mkdir()
    (folder / "userdict.txt").write_text("玉林小区 5000 ns\n", encoding="utf-8")
    config = {"dictionary_path": str(folder)}
    before = NormalizingJiebaTokenizer.fingerprint_addon(config)
    (folder / "userdict.txt").write_text("玉林小区 5000 ns\n黄门街 5000 ns\n", encoding="utf-8")
    assert NormalizingJiebaTokenizer.fingerprint_addon(config) != before
