from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.regex_featurizer import RegexFeaturizer
from rasa.shared.importers.rasa import RasaFileImporter
from rasa.shared.nlu.training_data.message import Message

from nlu.crf import TAGGERS_FILE, BoundedCRFEntityExtractor
from tests.nlu.conftest import Components

ROOT = Path(__file__).resolve().parents[2]


def test_entities_come_from_the_opening_tokens_of_a_long_message(components: Components) -> None:
    storage, context, tokenizer = components.storage, components.context, components.tokenizer
    data = RasaFileImporter(training_data_paths=[str(ROOT / "data/nlu")]).get_nlu_data()
    annotated = data.filter_training_examples(lambda m: bool(m.get("entities")))
    tokenizer.process_training_data(annotated)
    regex_config = {**RegexFeaturizer.get_default_config(), "use_word_boundaries": False}
    regex = RegexFeaturizer.create(regex_config, storage, Resource("regex"), context)
    regex.train(annotated)
    regex.process_training_data(annotated)
    config = {**BoundedCRFEntityExtractor.get_default_config(), "max_tokens": 30}
    crf = BoundedCRFEntityExtractor.create(config, storage, Resource("crf"), context)
    crf.train(annotated)
    short = Message.build(text="玉林北路18号门口的下水道堵了")
    long = Message.build(text="玉林北路18号门口的下水道堵了。" + "臭味很大，邻居都受不了。" * 40)
    tokenizer.process([short, long])
    regex.process([short, long])
    assert len(long.get("text_tokens")) > 30
    found_short = [(e["entity"], e["value"]) for e in crf.process([short])[0].get("entities")]
    found_long = [(e["entity"], e["value"]) for e in crf.process([long])[0].get("entities")]
    assert ("location", "玉林北路18号") in found_short
    assert found_long == found_short  # the same entities, read from the opening tokens


def _trained(
    components: Components, name: str
) -> tuple[BoundedCRFEntityExtractor, RegexFeaturizer]:
    storage, context, tokenizer = components.storage, components.context, components.tokenizer
    data = RasaFileImporter(training_data_paths=[str(ROOT / "data/nlu")]).get_nlu_data()
    annotated = data.filter_training_examples(lambda m: bool(m.get("entities")))
    tokenizer.process_training_data(annotated)
    regex_config = {**RegexFeaturizer.get_default_config(), "use_word_boundaries": False}
    regex = RegexFeaturizer.create(regex_config, storage, Resource(f"{name}-regex"), context)
    regex.train(annotated)
    regex.process_training_data(annotated)
    config = BoundedCRFEntityExtractor.get_default_config()
    crf = BoundedCRFEntityExtractor.create(config, storage, Resource(name), context)
    crf.train(annotated)
    return crf, regex


def _found(
    components: Components, regex: RegexFeaturizer, crf: BoundedCRFEntityExtractor, text: str
) -> list[tuple[str, str]]:
    message = Message.build(text=text)
    components.tokenizer.process([message])
    regex.process([message])
    return [(e["entity"], e["value"]) for e in crf.process([message])[0].get("entities", [])]


def test_a_loaded_extractor_opens_the_trained_crf_instead_of_training_again(
    components: Components, monkeypatch: pytest.MonkeyPatch
) -> None:
    trained, regex = _trained(components, "crf2")

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("the CRF was trained again on load")

    monkeypatch.setattr(BoundedCRFEntityExtractor, "train_model", no_training)
    config = BoundedCRFEntityExtractor.get_default_config()
    loaded = BoundedCRFEntityExtractor.load(
        config, components.storage, Resource("crf2"), components.context
    )
    assert loaded.crf_order == trained.crf_order
    for text in ["玉林北路18号门口的下水道堵了", "从上周三开始每天晚上十点以后都很吵"]:
        assert _found(components, regex, loaded, text) == _found(components, regex, trained, text)
    assert ("location", "玉林北路18号") in _found(
        components, regex, loaded, "玉林北路18号门口的下水道堵了"
    )


def test_a_model_without_crf_files_is_trained_again_on_load(components: Components) -> None:
    _, regex = _trained(components, "crf3")
    with components.storage.write_to(Resource("crf3")) as model_dir:  # as before the CRF files
        (model_dir / TAGGERS_FILE).unlink()
    config = BoundedCRFEntityExtractor.get_default_config()
    loaded = BoundedCRFEntityExtractor.load(
        config, components.storage, Resource("crf3"), components.context
    )
    assert ("location", "玉林北路18号") in _found(
        components, regex, loaded, "玉林北路18号门口的下水道堵了"
    )
