from __future__ import annotations

from pathlib import Path

from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.regex_featurizer import RegexFeaturizer
from rasa.shared.importers.rasa import RasaFileImporter
from rasa.shared.nlu.training_data.message import Message

from nlu.crf import BoundedCRFEntityExtractor
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
