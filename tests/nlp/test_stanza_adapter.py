"""The stanza adapter on hand-built stanza Documents (no stanza models can be downloaded here)."""

from __future__ import annotations

import pytest

from convmaint.errors import BackendError
from convmaint.nlp.stanza_backend import processors_for, provides_for, stanza_doc_to_parsed

stanza = pytest.importorskip("stanza", reason="stanza is the optional extra convmaint[stanza]")
from stanza.models.common.doc import Document  # noqa: E402


def _word(i, text, lemma, upos, head, deprel, start):
    return {"id": i, "text": text, "lemma": lemma, "upos": upos, "xpos": upos, "head": head, "deprel": deprel,
            "start_char": start, "end_char": start + len(text)}


@pytest.fixture
def doc():
    text = "I mean the red folder. Which one?"
    s1 = [
        _word(1, "I", "I", "PRON", 2, "nsubj", 0),
        _word(2, "mean", "mean", "VERB", 0, "root", 2),
        _word(3, "the", "the", "DET", 5, "det", 7),
        _word(4, "red", "red", "ADJ", 5, "amod", 11),
        _word(5, "folder", "folder", "NOUN", 2, "obj", 15),
        _word(6, ".", ".", "PUNCT", 2, "punct", 21),
    ]
    s2 = [
        _word(1, "Which", "which", "DET", 2, "det", 23),
        _word(2, "one", "one", "NOUN", 0, "root", 29),
        _word(3, "?", "?", "PUNCT", 2, "punct", 32),
    ]
    return Document([s1, s2], text=text)


def test_tokens_offsets_and_sentences(doc):
    p = stanza_doc_to_parsed(doc, provides_for(["tokenize", "pos", "lemma", "depparse"]))
    assert p.words == ("I", "mean", "the", "red", "folder", ".", "Which", "one", "?")
    assert all(p.text[p.starts[i]:p.end(i)] == w for i, w in enumerate(p.words))
    assert p.sentences() == [(0, 6), (6, 9)]
    assert p.lemmas[0] == "i" and p.pos[4] == "NOUN"


def test_heads_are_document_indexes(doc):
    p = stanza_doc_to_parsed(doc, provides_for(["tokenize", "pos", "lemma", "depparse"]))
    assert p.heads[1] == 1  # root points at itself, as in spaCy
    assert p.heads[4] == 1 and p.deps[4] == "obj"
    assert p.heads[6] == 7  # second sentence offsets by its start


def test_noun_chunks_from_ud(doc):
    p = stanza_doc_to_parsed(doc, provides_for(["tokenize", "pos", "lemma", "depparse"]))
    chunks = {p.text[slice(*p.char_span(i, j))] for i, j in p.noun_chunks}
    assert {"I", "the red folder", "Which one"} <= chunks


def test_tokenize_only_leaves_parse_fields_empty(doc):
    p = stanza_doc_to_parsed(doc, provides_for(["tokenize"]))
    assert p.pos == () and p.deps == () and p.lemmas == tuple(w.lower() for w in p.words)
    assert "dep" not in p.annotations


def test_processors_follow_requirements():
    assert processors_for(["tokens"]) == ["tokenize"]
    assert processors_for(["lemma", "sents"]) == ["tokenize", "pos", "lemma"]
    assert "ner" not in processors_for(["dep", "noun_chunks"])


def test_backend_refuses_to_download(tmp_path):
    from convmaint.nlp import load_backend

    with pytest.raises(BackendError, match="local model folder"):
        load_backend("stanza", requires={"tokens"})
    with pytest.raises(BackendError, match="cannot load stanza pipeline"):
        load_backend("stanza", requires={"tokens"}, model=str(tmp_path))
