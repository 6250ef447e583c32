"""ParsedTurn: its hand-written __init__ against the dataclass fields it replaces."""

from __future__ import annotations

import dataclasses
import inspect
import pickle

from convmaint.nlp.base import ParsedTurn


def test_init_takes_exactly_the_init_fields_with_their_defaults():
    params = list(inspect.signature(ParsedTurn.__init__).parameters.values())[1:]
    fields = [f for f in dataclasses.fields(ParsedTurn) if f.init]
    assert [p.name for p in params] == [f.name for f in fields]
    for p, f in zip(params, fields):
        expected = f.default if f.default is not dataclasses.MISSING else inspect.Parameter.empty
        assert p.default == expected, f.name


def test_init_sets_every_field_and_leaves_derived_columns_to_first_use():
    p = ParsedTurn("I do. Yes", ("I", "do", ".", "Yes"), (0, 2, 4, 6), ("i", "do", ".", "yes"),
                   ("i", "do", ".", "yes"), sent_starts=(0, 3), annotations=frozenset({"tokens", "sents"}))
    assert p.annotations == {"tokens", "sents"} and p.pos == () and p.heads == ()
    for f in dataclasses.fields(ParsedTurn):  # every column set (an unset slot raises AttributeError)
        if f.init:
            getattr(p, f.name)
    assert ParsedTurn("", (), (), (), ()).annotations == {"tokens"}
    assert p.ends == (1, 4, 5, 9)
    assert p.punct == (False, False, True, False)
    assert p.sentences() == [(0, 3), (3, 4)]
    assert p.sentence_spans() == [(0, 5), (6, 9)]
    q = pickle.loads(pickle.dumps(p))
    assert q == p and hash(q) == hash(p) and q.ends == p.ends
    assert dataclasses.replace(p, text="I do. Yes") == p
    try:
        p.text = "x"  # type: ignore[misc]
    except dataclasses.FrozenInstanceError:
        pass
    else:
        raise AssertionError("ParsedTurn must stay frozen")
