"""The topic detector: shifts, hand-offs, resumptions and closings, on hand-built conversations."""

from __future__ import annotations

import logging
import random
import re
import socket
from pathlib import Path

import pytest

from convmaint.detect.topic import TopicDetector
from convmaint.errors import BackendError, ConfigError
from convmaint.model import Role
from tests.detect.helpers import family_lexicons, fast_parse, make_conv, spacy_backend

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lexicons():
    return family_lexicons("topic_markers", "handoff", "backchannels")


@pytest.fixture(scope="module")
def backend():
    return spacy_backend({"tokens", "sents", "pos", "lemma"})


_conv = make_conv


_fast_parse = fast_parse


def _run(lexicons, backend, texts, *, similarity="lexical", **kw):
    conv = _conv(texts, kw.pop("speakers", None), kw.pop("roles", None))
    if backend is None:
        parsed = [_fast_parse(t) for t in texts]
        det = TopicDetector(lexicons=lexicons, mode="lite", similarity=similarity, **kw)
    else:
        parsed = list(backend.parse(texts))
        det = TopicDetector(lexicons=lexicons, similarity=similarity, **kw)
    return det.detect(conv, parsed)


def _of(moves, label, turn=None):
    return [m for m in moves if m.label == label and (turn is None or m.turn == turn)]


# ---------------------------------------------------------------------------------- topic.shift

COOKING = [
    "I spent the whole afternoon making lasagna from scratch.",
    "Nice, did you make the pasta sheets yourself?",
    "Yes, and the sauce simmered for three hours.",
]


@pytest.mark.model
@pytest.mark.parametrize("similarity", ["lexical", "wordllama"])
def test_marked_shift(lexicons, backend, similarity):
    last = "Sounds great. By the way, did you see the game last night?"
    moves = _run(lexicons, backend, COOKING + [last], similarity=similarity)
    shifts = _of(moves, "topic.shift", 3)
    assert len(shifts) == 1
    m = shifts[0]
    assert m.attributes["marked"] is True and m.cue == "by the way" and m.attributes["kind"] == "disjunctive"
    # The span is the sentence with the marker, not the acknowledgement before it.
    assert last[m.start:m.end] == "By the way, did you see the game last night?"


@pytest.mark.model
def test_speaking_of_is_stepwise(lexicons, backend):
    moves = _run(lexicons, backend, COOKING + ["Speaking of sauce, my brother just opened an Italian restaurant."])
    (m,) = _of(moves, "topic.shift", 3)
    assert m.attributes == {"marked": True, "kind": "stepwise"}


@pytest.mark.model
def test_anyway_inside_a_sentence_is_not_a_marker(lexicons, backend):
    moves = _run(lexicons, backend, COOKING + ["It was raining but I went to the market anyway."])
    assert not [m for m in _of(moves, "topic.shift") if m.attributes.get("marked")]


@pytest.mark.model
@pytest.mark.parametrize("similarity", ["lexical", "wordllama"])
def test_unmarked_proffer_opens_a_topic_but_a_follow_up_does_not(lexicons, backend, similarity):
    texts = ["hi ! i just got back from work at the hospital .",
             "oh , are you a nurse ?",
             "yes , i work nights in the children s ward .",
             "that is cool . do you have any pets ?",
             "yes , two cats . they sleep all day .",
             "what are their names ?"]
    moves = _run(lexicons, backend, texts, similarity=similarity)
    shifted = {m.turn for m in _of(moves, "topic.shift")}
    assert 3 in shifted
    assert 5 not in shifted  # anaphoric follow-up on the cats
    assert 0 not in shifted  # the first turn is never scored
    (m,) = _of(moves, "topic.shift", 3)
    assert m.attributes["marked"] is False and texts[3][m.start:m.end].startswith("do you have any pets")


@pytest.mark.model
def test_repeat_and_echo_questions_are_not_shifts(lexicons, backend):
    moves = _run(lexicons, backend, ["my sister won the lottery last week", "oh really?", "yes, ten thousand pounds"])
    assert not _of(moves, "topic.shift", 1)


@pytest.mark.model
def test_turn_path_is_for_dyads_only(lexicons, backend):
    texts = ["so the budget for the next quarter is tight", "we could cut travel",
             "do you have any pets?", "anyway, let's move on to the hiring plan"]
    moves = _run(lexicons, backend, texts, speakers=["A", "B", "C", "A"])
    shifted = {m.turn: m for m in _of(moves, "topic.shift")}
    assert 2 not in shifted  # unmarked: the turn path does not run with three speakers
    assert 3 in shifted and shifted[3].attributes["marked"]


@pytest.mark.model
def test_model_turns_need_a_marker(lexicons, backend):
    texts = ["recommend me a book", "Try Piranesi by Susanna Clarke: a strange, short mystery."]
    moves = _run(lexicons, backend, texts, roles=[Role.HUMAN, Role.MODEL])
    assert not _of(moves, "topic.shift")


def test_lite_mode_finds_a_marked_shift(lexicons):
    moves = _run(lexicons, None, COOKING + ["ok. anyway, how is your new job going?"])
    (m,) = _of(moves, "topic.shift", 3)
    assert m.attributes["marked"] and m.cue == "anyway"


# ---------------------------------------------------------------------------------- topic.handoff


@pytest.mark.model
def test_reciprocal_handoff(lexicons, backend):
    moves = _run(lexicons, backend, ["what do you do for work?", "I teach maths at a high school. What about you?"])
    (m,) = _of(moves, "topic.handoff", 1)
    assert m.attributes["reciprocal"] is True and m.target == 0 and m.attributes["to"] == "A"
    assert m.cue == "what about you"


@pytest.mark.model
def test_bare_you_question_and_mirrored_question(lexicons, backend):
    moves = _run(lexicons, backend, ["how are your knees holding up?", "sore but alive. how's your running going?",
                                     "slowly. I'm good, you?"])
    assert _of(moves, "topic.handoff", 1)[0].attributes["reciprocal"] is True
    assert _of(moves, "topic.handoff", 2)[0].attributes["reciprocal"] is True


@pytest.mark.model
def test_invitation_and_yield(lexicons, backend):
    moves = _run(lexicons, backend, ["I think we should repaint the kitchen blue.", "Hmm. Blue or green, what do you think?",
                                     "Fine, your turn to choose."])
    assert _of(moves, "topic.handoff", 1)[0].attributes == {"reciprocal": False, "kind": "invitation", "to": "A"}
    assert _of(moves, "topic.handoff", 2)[0].attributes["kind"] == "yield"


@pytest.mark.model
def test_handoff_near_misses(lexicons, backend):
    moves = _run(lexicons, backend, ["hi how are you?", "thank you for asking, I am fine.",
                                     "what do you mean by fine?", "I love you too"])
    assert not _of(moves, "topic.handoff")


@pytest.mark.model
def test_opening_turn_handoff_has_no_target(lexicons, backend):
    moves = _run(lexicons, backend, ["my favourite season is autumn. what's yours?"])
    (m,) = _of(moves, "topic.handoff")
    assert m.target is None and m.attributes["reciprocal"] is True


# ---------------------------------------------------------------------------------- topic.resume

TRIP = [
    "We just got back from Lisbon, the trams and the custard tarts were amazing.",
    "Oh nice, did you ride the famous yellow tram up to the castle?",
    "We did! Oh sorry, the dog is barking at the door again.",
    "Ha, what breed is your dog?",
    "A beagle, very loud.",
]


@pytest.mark.model
@pytest.mark.parametrize("similarity", ["lexical", "wordllama"])
def test_resume_targets_the_earlier_topic(lexicons, backend, similarity):
    moves = _run(lexicons, backend, TRIP + ["Anyway, back to Lisbon: the tram to the castle was packed."],
                 similarity=similarity)
    (m,) = _of(moves, "topic.resume", 5)
    assert m.target in (0, 1) and m.cue == "back to"
    assert not _of(moves, "topic.shift", 5)  # a return is not a new topic


@pytest.mark.model
def test_back_to_in_a_sentence_is_not_a_resume(lexicons, backend):
    moves = _run(lexicons, backend, TRIP + ["My cousin went back to Lisbon last year."])
    assert not _of(moves, "topic.resume")


# ---------------------------------------------------------------------------------- topic.close


@pytest.mark.model
def test_close(lexicons, backend):
    texts = ["how did the boiler repair go?", "finally fixed, £95 with the part. so yeah.",
             "good. anyway, that's that."]
    moves = _run(lexicons, backend, texts)
    assert {m.turn for m in _of(moves, "topic.close")} == {1, 2}
    assert not _of(moves, "topic.shift", 2)  # "anyway, that's that" closes, it opens nothing


@pytest.mark.model
def test_close_near_misses(lexicons, backend):
    texts = ["any plans for the weekend?",
             "so yeah I think we should drive to the coast on Saturday and hike the cliffs all day.",
             "that's all the money I have left."]
    moves = _run(lexicons, backend, texts)
    assert not _of(moves, "topic.close")


# ---------------------------------------------------------------------------------- configuration


def test_bad_similarity(lexicons):
    with pytest.raises(ConfigError):
        TopicDetector(lexicons=lexicons, similarity="bert")  # type: ignore[arg-type]


def test_missing_wordllama_is_a_clear_backend_error(lexicons, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wordllama" else real(name, *a))
    with pytest.raises(BackendError, match="wordllama"):
        TopicDetector(lexicons=lexicons, similarity="wordllama")
    TopicDetector(lexicons=lexicons, similarity="lexical")  # the dependency-free option still works


def test_wordllama_loads_offline_and_leaves_logging_alone(lexicons, monkeypatch):
    pytest.importorskip("wordllama")
    root = logging.getLogger()
    before = (list(root.handlers), root.level)

    def no_network(*args, **kwargs):
        raise AssertionError("the wordllama load tried to open a socket")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    moves = _run(lexicons, None, COOKING + ["by the way, how is your new job?"], similarity="wordllama")
    assert _of(moves, "topic.shift", 3)
    assert (list(root.handlers), root.level) == before


# ---------------------------------------------------------------------------------- exact shortcuts


def test_word_by_word_encoding_is_the_whole_text_encoding():
    """Words are encoded once and cached: a text's ids must still be exactly the tokenizer's."""
    pytest.importorskip("wordllama")
    from convmaint.detect.topic import _load_wordllama, _WordLlama

    model = _load_wordllama()
    tok = model.tokenizer
    # What makes it exact: no token (so no merge) has a "▁" after another character.
    assert not [t for t in tok.get_vocab() if re.search("[^\u2581]\u2581", t)]
    texts = ["hello world", "so  two spaces", " leading", "trailing ", "tabs\tand\nnewlines  ok", "\U0001f600 emoji, ok?",
             "don't", "it\u2019s", "na\u00efve caf\u00e9", "a\u2581b", "x <s> y", "<unk>", "</s>end", "   ", "",
             "MiXeD Case  ", "a   b c"]
    texts += [t.lower() for t in texts]
    ids, sizes = model.token_ids(texts)
    k = 0
    for t, n in zip(texts, sizes):
        assert ids[k:k + n] == (tok.encode(t, add_special_tokens=False).ids if t.strip() else []), repr(t)
        k += n
    assert k == len(ids)
    again, sizes_again = model.token_ids(texts)  # from the cache this time
    assert again == ids and sizes_again.tolist() == sizes.tolist()
    assert model.by_word  # the tokenizer is still made the way the shortcut needs
    # Fresh words are encoded up to a thousand at a time as one text, then told apart.
    rng = random.Random(5)
    pieces = ["a", "é", "ß", "th", "ing", "7", "-", "'", "’", ",", "?!", "\u00bd", "\U0001f600", "zz", "q", "\t"]
    words = sorted({"".join(rng.choices(pieces, k=rng.randint(1, 6))) for _ in range(3000)})
    words = [w for w in words if w.strip()]
    fresh, fresh_sizes = _WordLlama(model.table, tok).token_ids(words)
    k = 0
    for w, n in zip(words, fresh_sizes):
        assert fresh[k:k + n] == tok.encode(w, add_special_tokens=False).ids, repr(w)
        k += n
    whole, whole_sizes = _WordLlama(model.table, tok, by_word=False).token_ids(texts)
    assert whole == ids and whole_sizes.tolist() == sizes.tolist()


@pytest.mark.parametrize("context_turns", [0, 1, 2, 3, 5])
def test_turn_similarities_are_the_per_turn_formulas(context_turns):
    """_Sims computes all turns at once; every number must be the per-turn formula's, bit for bit."""
    import numpy as np

    from convmaint.detect.topic import _normalise, _Sims

    rng = np.random.default_rng(7)
    for n in range(1, 9):
        T = rng.standard_normal((n, 16)).astype(np.float32)
        T[rng.random(T.shape) < 0.3] = -0.0  # zeros of both signs
        T[n // 2] = 0.0  # a turn without units
        T = _normalise(T)
        owners = sorted(rng.integers(0, n, 2 * n).tolist())
        S = _normalise(rng.standard_normal((len(owners), 16)).astype(np.float32))
        sims = _Sims(T, S, owners, context_turns)
        for i in range(1, n):
            ctx = T[max(0, i - context_turns):i].sum(0)
            norm = float(np.linalg.norm(ctx))
            ctx = ctx / norm if norm else ctx
            before, after = T[max(0, i - 2):i].sum(0), T[i:i + 2].sum(0)
            nb, na = float(np.linalg.norm(before)), float(np.linalg.norm(after))
            want = [float(T[i] @ T[i - 1]), float(T[i] @ ctx), float(before @ after) / (nb * na) if nb and na else 0.0,
                    float(T[i] @ T[i + 1]) if i + 1 < n else 0.5, float(T[i + 1] @ T[i - 1]) if i + 1 < n else 0.5]
            got = [sims.sim_prev[i], sims.sim_context[i], sims.gap[i], sims.sim_next[i], sims.next_sim_prev[i]]
            assert list(map(repr, got)) == list(map(repr, want)), (n, i)
            for j in (j for j, o in enumerate(owners) if o == i):
                assert repr(sims.unit_ctx[j]) == repr(float(S[j] @ ctx))
                assert repr(sims.unit_prev[j]) == repr(float(S[j] @ T[i - 1]))


def test_pooling_units_into_turns_adds_them_in_order():
    import numpy as np

    from convmaint.detect.topic import _add_by_owner

    rng = np.random.default_rng(3)
    rows = (rng.standard_normal((40, 8)) * rng.choice([1e-4, 1.0, 1e4], (40, 1))).astype(np.float32)
    rows[rng.random(rows.shape) < 0.2] = -0.0
    owners = sorted(rng.integers(0, 12, 40).tolist())
    want = np.zeros((14, 8), dtype=np.float32)
    np.add.at(want, np.asarray(owners), rows)
    assert _add_by_owner(rows, owners, 14).tobytes() == want.tobytes()


def test_plain_texts_are_split_at_once_into_the_same_ids():
    """Texts of single-spaced words are split all at once: the ids must be those of each on its own."""
    pytest.importorskip("wordllama")
    from convmaint.detect.topic import _load_wordllama

    model = _load_wordllama()
    tok = model.tokenizer
    plain = ["hello world", "it\u2019s ok?", "x", "don't stop", "na\u00efve caf\u00e9 \U0001f600", "a-b c"]
    for texts in (plain, plain[:1], [*plain, "two  spaces"], [*plain, "<s> x"], [*plain, "\n"]):
        ids, sizes = model.token_ids(texts)
        k = 0
        for t, n in zip(texts, sizes):
            assert ids[k:k + n] == (tok.encode(t, add_special_tokens=False).ids if t.strip() else []), repr(t)
            k += n
        assert k == len(ids)
    ids, sizes = model.token_ids([])
    assert ids == [] and len(sizes) == 0


def test_fresh_plain_words_are_encoded_by_the_bpe_model_or_as_one_text():
    """Fresh plain words are encoded word by word by the tokenizer's BPE model (no call of the
    tokenizer itself); without a usable model, a thousand at a time as one text, not one by one."""
    pytest.importorskip("wordllama")
    from convmaint.detect.topic import _load_wordllama, _WordLlama

    model = _load_wordllama()
    encoded: list[str] = []

    class Counting:
        def __getattr__(self, name):
            return getattr(model.tokenizer, name)

        def encode_batch_fast(self, texts, **kw):
            encoded.extend(texts)
            return model.tokenizer.encode_batch_fast(texts, **kw)

    class NoModel(Counting):
        model = None

    words = ["zebra", "quokka's", "naïve", "x-ray", "\U0001f600", "don't", "3.14", "über"]
    for tokenizer, calls in ((Counting(), 0), (NoModel(), 1)):
        encoded.clear()
        wl = _WordLlama(model.table, tokenizer)
        ids, sizes = wl.token_ids(words)
        assert len(encoded) == calls and (wl._bpe is None) == bool(calls)
        k = 0
        for w, n in zip(words, sizes):
            assert ids[k:k + n] == model.tokenizer.encode(w, add_special_tokens=False).ids, w
            k += n


def test_table_is_read_as_safetensors_reads_it_and_widened_by_rows():
    """The mapped float16 table is safetensors' tensor, and rows widened on demand are the rows of
    the whole table widened at once, bit for bit, however the asks come."""
    pytest.importorskip("wordllama")
    import numpy as np
    from safetensors import safe_open

    from convmaint.detect.topic import (
        _load_wordllama,
        _mapped_table,
        _WordLlama,
        _wordllama_dir,
    )

    weights = _wordllama_dir() / "weights" / "l2_supercat_256.safetensors"
    with safe_open(str(weights), framework="np", device="cpu") as f:
        want = f.get_tensor("embedding.weight")
    got = _mapped_table(weights)
    assert got.dtype == want.dtype and got.shape == want.shape and got.tobytes() == want.tobytes()
    model = _load_wordllama()
    fresh = _WordLlama(got, model.tokenizer)
    whole = np.ascontiguousarray(want, dtype=np.float32)
    rng = np.random.default_rng(2)
    for n in (0, 5, 300, 5000, 20000, 300):  # (the rows outgrow their first table)
        ids = rng.integers(0, len(want), n)
        rows, at = fresh.widened(ids)
        assert rows[at].tobytes() == whole[ids].tobytes()
    assert "table" not in fresh.__dict__
    rows, at = _WordLlama(whole, model.tokenizer).widened(ids)  # (a float32 table is used as it is)
    assert rows is whole and at is ids


def test_run_sums_add_as_reduceat():
    """Unit vectors sum their tokens' rows for all units at once: bit for bit numpy's reduceat."""
    import numpy as np

    from convmaint.detect.topic import _pairwise_sums_exact, _run_sums

    assert _pairwise_sums_exact(256)  # (else _run_sums is reduceat itself)
    rng = np.random.default_rng(11)
    for trial in range(600):
        sizes = rng.integers(0, [3, 10, 20, 40, 131, 300][trial % 6], int(rng.integers(1, 30)))
        if trial % 7 == 0:
            sizes[rng.random(len(sizes)) < 0.3] = 0
        table = rng.standard_normal((50, 256)) * rng.choice([1e-6, 1e-2, 1.0, 1e4, 1e8], (50, 1))
        table = (np.round(table) if trial % 11 == 0 else table).astype(np.float32)
        table[rng.random(table.shape) < (0.3 if trial % 3 == 0 else 0.02)] = -0.0
        table[rng.random(table.shape) < 0.05] = 0.0
        idx = rng.integers(0, 50, int(sizes.sum()))
        want = np.zeros((len(sizes), 256), dtype=np.float32)
        some = sizes > 0
        if some.any():
            want[some] = np.add.reduceat(table[idx], (np.cumsum(sizes) - sizes)[some], axis=0)
        assert _run_sums(table, idx, sizes).tobytes() == want.tobytes(), sizes


def test_turn_values_follow_the_weights():
    """The turn path scores a list of feature values against the weights: same names, same order."""
    from convmaint.detect.topic import _TURN_FEATURES, _TURN_WEIGHTS

    assert all(tuple(w) == _TURN_FEATURES for w in _TURN_WEIGHTS.values())


def test_shift_features_are_named_in_order(lexicons):
    from convmaint.detect.topic import _TURN_FEATURES

    texts = ["we adopted a puppy last week.", "oh nice! what breed is it?", "a beagle. anyway, did you watch the game?"]
    det = TopicDetector(lexicons=lexicons, mode="lite", similarity="lexical")
    feats = det.shift_features(_conv(texts), [_fast_parse(t) for t in texts])
    assert feats[0] is None and all(tuple(f) == _TURN_FEATURES for f in feats[1:])
    assert feats[2]["marked"] == 1.0 and feats[2]["any_question"] == 1.0


def test_phrase_spans_are_the_matchers_phrase_matches(lexicons):
    """The topic detector reads phrase cues as Matcher.phrase_spans triples: they must be find's
    matches (ASCII texts are matched lower-cased, without IGNORECASE; others with it)."""
    det = TopicDetector(lexicons=lexicons, mode="lite", similarity="lexical")
    matcher = det._matcher
    assert matcher._lower_regex is not None  # (the lexicons' phrases are ASCII)
    texts = ["OK so By The Way, did you SEE it?", "anyway...  anyways", "Mm-Hmm uh-huh, UH HUH", "Let\u2019s move on",
             "let's  move\non", "so-so", "x-ok", "o'k", "'ok", "Yeah, yeah!", "na\u00efve OK", "\u0130 okay", "\u017fo",
             "by the wayy", "BTW lol", "speaking of which, you know what? that's that.", "_ok_", "ok_", "3ok", "ok3"]
    rng = random.Random(2)
    texts += ["".join(c.upper() if rng.random() < 0.3 else c for c in t) for t in texts]
    for text in texts:
        p = _fast_parse(text)
        assert matcher.phrase_spans(p.text) == [(m.start, m.end, m.entry) for m in matcher.find(p)], text


def test_token_patterns_are_only_skipped_where_they_cannot_match(lexicons):
    det = TopicDetector(lexicons=lexicons, mode="lite", similarity="lexical")
    assert det._token_matcher._anchors  # the bare "…, you?" patterns need "you" (or "u") right before "?"
    texts = ["I'm good, you?", "and u ?", "Yourself?", "you know?", "you? me?", "what about you?", "you are?",
             "really?", "?", "you", "are you sure?", "thank you . ?"]
    for text in texts:
        p = _fast_parse(text)
        assert det._token_matcher.may_match_tokens(p) or not det._token_matcher.find(p), text
    conv = ["how was the trip?", "long. good though, you?", "fine. what about you?", "ok you?"]
    fast = _run(lexicons, None, conv)
    det._token_matcher._anchors = None  # no prefilter: every unit with a "?" is matched
    assert det.detect(_conv(conv), [_fast_parse(t) for t in conv]) == fast


# ---------------------------------------------------------------------------------- corpora


@pytest.mark.model
@pytest.mark.shared_data
def test_tiage_regression(shared_data):
    from convmaint.evaluate import evaluate_corpus

    path = shared_data("tiage", "anno_dev.json")
    rep = evaluate_corpus(str(path), corpus="tiage", detectors=["topic"], limit=40)
    (ls,) = rep.labels
    # Measured 0.57 on the first 50 dev dialogues (0.57 on all 100); TextTiling 0.33.
    assert ls.system["f1"] >= 0.50
    assert ls.system["f1"] > ls.baselines["texttiling"]["f1"] + 0.1


@pytest.mark.model
def test_native_gold_regression():
    from convmaint.evaluate import evaluate_corpus

    path = ROOT / "corpora" / "gold" / "chat_gold.jsonl"
    if not path.exists():
        pytest.skip(f"no native gold file at {path}")
    labels = ["topic.shift", "topic.handoff", "topic.resume", "topic.close"]
    rep = evaluate_corpus(str(path), corpus="native", detectors=["topic"], labels=labels)
    f1 = {ls.label: ls.system["f1"] or 0.0 for ls in rep.labels}
    assert f1["topic.shift"] >= 0.4
    assert f1["topic.handoff"] >= 0.6 and f1["topic.resume"] >= 0.6 and f1["topic.close"] >= 0.6
