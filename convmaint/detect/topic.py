"""Topic moves: shifts (marked and unmarked), hand-offs, resumptions and closings.

Topic shifts are found on two paths whose results are merged:

* the **turn path** scores each turn (after the first) for introducing a new topic: topical
  similarity to the preceding turns and to the next one, questions, topic-proffering questions
  ("do you have any pets?"), reciprocal questions (which keep the topic), whether the turn
  answers a question, and boundary markers. A logistic score over these features, with weights
  fitted on the TIAGE training dialogues (Xie et al. 2021: the label marks the turn that
  introduces the new topic), is compared with ``shift_threshold``. It runs for two-party talk
  only, and not on a language model's turns (they answer the user; they open a topic only with
  a marker);
* the **unit path** scores each unit (sentence, or transcribed segment) that carries a boundary
  marker ("anyway", "by the way", "let's move on") or a weak opener ("okay so", "alright"),
  with evidence from the talk around it: a lull of backchannels before it, a new speaker who
  keeps the floor after it, and the drop in lexical cohesion across it (Hearst 1997). Its weights
  were fitted on the first 32 ICSI MRDA meetings (the ``tc`` tag), where topics change with the
  agenda and markers matter more than content.

Topical similarity is either ``wordllama`` (the default: static token embeddings distilled from
an LLM's embedding table, MIT, 16 MB shipped inside the wheel, loaded once per process without
touching the network) or ``lexical`` (cosine of content-lemma bags; no dependency). Measured on
TIAGE topic.shift with the turn-path weights refitted on anno_train for each option, F1 on the
held-out anno_dev (full / lite mode): wordllama 0.577 / 0.579, lexical cohesion 0.553 / 0.539,
averaged en_core_web_md word vectors 0.544 / 0.523, no similarity features at all 0.49.

Unit of emission: a move's span is the unit (sentence or transcribed segment) that carries it:
the one with the marker, the topic-proffering question, or else the least similar to the context.
"""

from __future__ import annotations

import functools
import math
import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, chain, compress, count, repeat
from operator import mul, not_, sub
from pathlib import Path
from typing import Any, Literal

from convmaint.detect.base import (
    Detector,
    Mode,
    frozen_attributes,
    register_detector,
    units,
)
from convmaint.errors import BackendError, ConfigError
from convmaint.lexicon import Entry, LexiconSet, Match, Matcher
from convmaint.model import Conversation, Move, Role
from convmaint.nlp.base import ParsedTurn

__all__ = ["TopicDetector"]

SHIFT = "topic.shift"
HANDOFF = "topic.handoff"
RESUME = "topic.resume"
CLOSE = "topic.close"
_PROFFER = "topic.proffer"
_OPENER = "topic.opener"
_PARTICLE = "topic.particle"
_ACK = "grounding.acknowledgement"

Similarity = Literal["wordllama", "lexical"]
# Moves of earlier detectors that make their unit repair or clarification work, not a new topic.
_NOT_A_SHIFT = frozenset({"clarification.request", "repair.other", "repair.completion", "repair.third_position"})

# Closed word classes: grammar, not cue vocabulary (the cues live in the lexicons).
_WH = frozenset({"what", "who", "whom", "whose", "where", "when", "why", "how", "which", "whats", "what's"})
_AUX = frozenset({"do", "does", "did", "is", "are", "was", "were", "am", "have", "has", "had", "can", "could", "will",
                  "would", "should", "shall", "may", "might", "any", "ever"})
_SECOND = frozenset({"you", "your", "yours", "yourself", "u", "ur", "ya"})
_QSTART = _AUX | _WH
_SUBJ = frozenset({"you", "your", "u", "ya", "we", "i", "they", "he", "she", "it", "there", "this", "that", "yours"})
# Pronouns that point back into the prior talk: a question built on one is a follow-up, not a proffer.
_ANAPHOR = frozenset({"it", "that", "this", "they", "them", "those", "these", "there", "he", "she", "him", "her",
                      "its", "their", "one"})
# Function and light words never counted as topical content (lite mode has no POS tags to tell).
_STOP = frozenset("""a an the and or but if so of to in on at for with by from as is are was were be been being am
i you he she it we they me him her us them my your his its our their this that these those there here what which who
whom whose when where why how do does did done have has had having not no yes yeah uh um oh well just like really very
can could would should will shall may might must than then too also about up down out over into all any some one ok
okay know think mean get got go going s t m re ve ll d don didn doesn isn wasn aren lol wow cool nice great good love
hi hello hey sound sounds thing things lot much many most more time yep yup huh hmm mm gonna wanna kind sort stuff
guess say said see let make want need try way sure right fine""".split())  # noqa: SIM905
_CONTENT_POS = frozenset({"NOUN", "PROPN", "VERB", "ADJ"})
_WORD_RE = re.compile(r"^[a-z][a-z'-]+$")
# Match labels of the words a marker may stand behind, and of the words that make a unit an acknowledgement.
_SKIPPABLE = frozenset({_PARTICLE, _OPENER, SHIFT, RESUME, CLOSE, _ACK, "filler"})
_COVERING = frozenset({_ACK, _PARTICLE, "filler"})
#: Most lemmas whose content test a detector remembers.
_MAX_MEMO = 200_000

#: Turn-path feature weights (logistic regression, L2 = 1, fitted on TIAGE anno_train.json, 300
#: dialogues, full mode), one set per similarity option. Feature meanings: see ``_turn_features``.
_TURN_WEIGHTS: dict[str, dict[str, float]] = {
    "wordllama": {
        "bias": -1.608, "last_question": -0.058, "any_question": 1.337, "prev_question": -0.441,
        "prev_any_question": -0.553, "sim_prev": -0.986, "sim_context": -0.59, "min_unit_sim": 0.474,
        "last_unit_sim": -1.541, "last_unit_sim_prev": -1.326, "new_content": 0.825, "question_new_content": 0.551,
        "reciprocal": -0.574, "marked": 0.188, "proffer": 1.435, "anaphoric_question": -1.262,
        "anaphoric_start": -0.162, "ack_then_question": 0.289, "n_units": -0.133, "second_turn": -0.277,
        "third_turn": -0.23, "length": 1.019, "gap": -1.796, "sim_next": 1.248, "next_sim_prev": -2.458,
    },
    "lexical": {
        "bias": -2.082, "last_question": -0.229, "any_question": 1.278, "prev_question": -0.577,
        "prev_any_question": -0.651, "sim_prev": -0.625, "sim_context": -0.167, "min_unit_sim": 1.096,
        "last_unit_sim": -0.982, "last_unit_sim_prev": -1.082, "new_content": 0.977, "question_new_content": 0.606,
        "reciprocal": -0.684, "marked": 0.408, "proffer": 1.417, "anaphoric_question": -1.149,
        "anaphoric_start": -0.167, "ack_then_question": 0.302, "n_units": -0.172, "second_turn": -0.325,
        "third_turn": -0.288, "length": 0.659, "gap": -1.515, "sim_next": 0.831, "next_sim_prev": -2.114,
    },
}
#: The turn-path features, in the order both weight sets list them (``_turn_values`` gives them so).
_TURN_FEATURES: tuple[str, ...] = tuple(_TURN_WEIGHTS["wordllama"])
#: Unit-path feature weights (logistic regression, fitted on the first 32 ICSI MRDA meetings).
_UNIT_WEIGHTS: dict[str, float] = {
    "bias": -2.159, "strong": 0.945, "weak": -0.005, "opener": -0.941, "cohesion": -4.366, "lull": 1.367,
    "new_speaker": 0.264, "run": 0.07, "length": -0.793,
}
#: Default ``shift_threshold`` per similarity option (the F1-best cut-off on the training data).
_TURN_THRESHOLDS: dict[str, float] = {"wordllama": 0.27, "lexical": 0.24}


def _sigmoid(z: float) -> float:
    if z < -30:
        return 0.0
    if z > 30:
        return 1.0
    return 1.0 / (1.0 + math.exp(-z))


def _logit(weights: Mapping[str, float], feats: Mapping[str, float]) -> float:
    return sum(map(mul, weights.values(), map(feats.get, weights, repeat(0.0))))


# ------------------------------------------------------------------------------ similarity


def _wordllama_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("wordllama")
    if spec is None or spec.origin is None:
        raise BackendError(
            "topic detector: similarity='wordllama' needs the wordllama package "
            "(`pip install wordllama`); or choose similarity='lexical'"
        )
    return Path(spec.origin).parent


@functools.cache
def _load_wordllama() -> _WordLlama:
    """Load the WordLlama model shipped inside the wordllama wheel, never downloading anything.

    The two bundled files are read directly, as ``WordLlama.load`` reads them: importing wordllama
    itself costs more than the load (it pulls in pydantic and reconfigures logging). Loaded once
    per process: the model is read-only, so detectors share it (and its cache of encoded words).
    """
    folder = _wordllama_dir()
    weights = folder / "weights" / "l2_supercat_256.safetensors"
    tokenizer = folder / "tokenizers" / "l2_supercat_tokenizer_config.json"
    for f in (weights, tokenizer):
        if not f.exists():
            raise BackendError(f"topic detector: the wordllama package lacks its bundled file {f}; "
                               "reinstall wordllama or choose similarity='lexical'")
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise BackendError(f"topic detector: cannot import wordllama's dependencies ({exc}); "
                           "or choose similarity='lexical'") from None
    try:
        tok = Tokenizer.from_file(str(tokenizer))
        table = _mapped_table(weights)
        if table is None:  # not the layout _mapped_table reads: let safetensors read it
            from safetensors import safe_open

            with safe_open(str(weights), framework="np", device="cpu") as f:
                table = f.get_tensor("embedding.weight")
    except ImportError as exc:
        raise BackendError(f"topic detector: cannot import wordllama's dependencies ({exc}); "
                           "or choose similarity='lexical'") from None
    except Exception as exc:  # noqa: BLE001 (tokenizers and safetensors raise bare Exception subclasses)
        raise BackendError(f"topic detector: cannot load the bundled WordLlama model: {exc}") from None
    # Padding only wastes time here: every text's token ids are pooled on their own.
    tok.no_padding()
    tok.no_truncation()
    # Encoding word by word relies on how this tokenizer is made (see _WordLlama): check what is
    # cheap to check (the vocabulary is checked by the tests), and encode whole texts otherwise.
    by_word = (tok.pre_tokenizer is None and tok.normalizer is not None
               and tok.normalizer.normalize_str(" a  b") == "\u2581\u2581a\u2581\u2581b"
               and {t.content for t in tok.get_added_tokens_decoder().values()} <= {"<unk>", "<s>", "</s>"})
    # Kept as stored (float16); rows are widened to float32 as WordLlama does, when first used.
    return _WordLlama(table, tok, by_word)


def _mapped_table(path: Path) -> Any:
    """The embedding table of a safetensors file as a read-only float16 array mapped from the file
    (its pages are read when touched: a corpus reads a fraction of the 32,000 rows), or None when
    the file is not the single little-endian float16 matrix this expects.

    The format: an 8-byte little-endian header size, a JSON header giving each tensor's dtype,
    shape and byte range, then the data.
    """
    import json
    import mmap

    import numpy as np

    try:
        with open(path, "rb") as f:
            size = int.from_bytes(f.read(8), "little")
            if not 0 < size < 1 << 20:
                return None
            info = json.loads(f.read(size)).get("embedding.weight")
            if not isinstance(info, dict) or info.get("dtype") != "F16" or len(info.get("shape", ())) != 2:
                return None
            (rows, cols), (a, b) = info["shape"], info["data_offsets"]
            if b - a != rows * cols * 2 or a < 0:
                return None
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        if len(data) < 8 + size + b:
            return None
        return np.frombuffer(data, dtype="<f2", count=rows * cols, offset=8 + size + a).reshape(rows, cols)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):  # (unreadable or unexpected: safetensors decides)
        return None


# Special tokens the tokenizer extracts from raw text: texts with them (or with its own word-start
# mark "▁", or a trailing space) are encoded whole rather than word by word.
_SPECIAL_RE = re.compile("<s>|</s>|<unk>")
#: Most encoded words (and whole texts) the model keeps: a long corpus meets ever more rare words.
_MAX_CACHED_WORDS = 200_000


def _word_keys(text: str) -> list[str] | None:
    """The words of ``text`` as encoded on their own (each after the extra spaces before it).

    None when the text must be encoded whole: see ``_SPECIAL_RE``.
    """
    if text[-1:] == " " or "\u2581" in text or ("<" in text and _SPECIAL_RE.search(text)):
        return None
    if "  " not in text and text[:1] != " ":
        return text.split(" ")
    keys, pad = [], ""
    for w in text.split(" "):
        if w:
            keys.append(pad + w)
            pad = ""
        else:
            pad += " "
    return keys


class _WordLlama:
    """The WordLlama token embeddings and tokenizer, with a cache of encoded words.

    The tokenizer (Llama 2's BPE) has no pre-tokenizer: it turns every space into "▁", puts one
    in front, and merges over the whole text. No token of its vocabulary has a "▁" after another
    character, so no merge crosses the "▁" that starts a word, and a text's token ids are its
    words' ids one after the other (each word encoded with the "▁" in front, and any extra "▁" of
    a run of spaces). Words are therefore encoded once and cached, which costs a fraction of
    encoding every text; ``tests/detect/test_topic.py`` checks this against whole-text encoding.
    A new plain word is asked of the tokenizer's BPE model directly (see ``_bpe``).

    The embeddings stay as stored (float16, mapped from the file by ``_load_wordllama``): the
    parse detector widens the rows it reads when it first reads them (``widened``), fast mode
    the columns it reads (``columns``).
    """

    def __init__(self, table: Any, tokenizer: Any, by_word: bool = True) -> None:
        self._raw = table  # as stored (float16); see table, columns and widened
        self.tokenizer = tokenizer
        self.by_word = by_word
        self._ids: dict[str, list[int]] = {}  # string -> the tokenizer's ids for it (a word, or a whole text)
        self._starts_word: dict[int, bool] = {}  # id -> whether its token starts with "▁" (as a word's first does)
        self._slot: Any = None  # see widened
        self._wide: Any = None
        self._n_wide = 0

    @functools.cached_property
    def table(self) -> Any:
        """The token embeddings widened to float32, contiguous (widened on first use)."""
        import numpy as np

        return np.ascontiguousarray(self._raw, dtype=np.float32)

    def columns(self, dims: int) -> Any:
        """``table[:, :dims]`` as a contiguous array, widening only those columns when the whole
        table is not widened yet (fast mode reads 64 of the 256)."""
        import numpy as np

        if "table" in self.__dict__ or dims >= self._raw.shape[1]:
            return np.ascontiguousarray(self.table[:, :dims])
        return np.ascontiguousarray(self._raw[:, :dims], dtype=np.float32)

    def widened(self, ids: Any) -> tuple[Any, Any]:
        """``(rows, at)``: float32 rows and, for each of ``ids`` (an int array), the one that is its
        row of ``table`` (``rows[at]`` is ``table[ids]``). Rows are widened when first asked for,
        into a table of their own in that order: widening float16 costs more than anything else
        about a row, a corpus reads a fraction of them, and rows side by side spare memory."""
        import numpy as np

        raw = self._raw
        if "table" in self.__dict__ or raw.dtype == np.float32:
            return self.table, ids
        if self._slot is None:
            self._slot = np.full(len(raw), -1, dtype=np.int64)  # token id -> its row in _wide
            self._wide = np.empty((min(4096, len(raw)), raw.shape[1]), dtype=np.float32)
        slot = self._slot
        at = slot[ids]
        if len(at) and at.min() < 0:
            # The new ids, each once, in order (np.unique costs milliseconds on its first call).
            mark = np.zeros(len(raw), dtype=bool)
            mark[ids[at < 0]] = True
            fresh = np.flatnonzero(mark)
            old, new = self._n_wide, self._n_wide + len(fresh)
            if new > len(self._wide):
                grown = np.empty((min(max(new, 2 * len(self._wide)), len(raw)), raw.shape[1]), dtype=np.float32)
                grown[:old] = self._wide[:old]
                self._wide = grown
            self._wide[old:new] = raw[fresh]
            slot[fresh] = np.arange(old, new)
            self._n_wide = new
            at = slot[ids]
        return self._wide, at

    def token_ids(self, texts: Sequence[str]) -> tuple[list[int], Any]:
        """The token ids of all ``texts`` one after the other, and how many each text has.

        Each text's ids are exactly the tokenizer's for that text; a blank text has none.
        """
        import numpy as np

        # What to encode for each text: its words, or the text itself.
        joined = " ".join(texts)
        if (self.by_word and texts and all(map(str.strip, texts)) and "  " not in joined and joined[:1] != " "
                and joined[-1:] != " " and "\u2581" not in joined and ("<" not in joined or not _SPECIAL_RE.search(joined))):
            # No text is blank or has a special token, "▁", or a space at an edge or next to another
            # (a text's would meet the one joining it to the next): each one's keys are its words
            # (see _word_keys), and they are those of the joined text, text after text.
            flat = joined.split(" ")
            n_keys = [t.count(" ") + 1 for t in texts]
        else:
            plans = [((_word_keys(t) if self.by_word else None) or [t]) if t.strip() else [] for t in texts]
            flat = list(chain.from_iterable(plans))
            n_keys = list(map(len, plans))
        cache = self._ids
        per = list(map(cache.get, flat))
        if None in per:
            fresh = self._encode(list(set(flat).difference(cache)))
            if len(cache) + len(fresh) <= _MAX_CACHED_WORDS:
                cache.update(fresh)
            else:  # the cache is full: keep it as it is, and look this call's words up here
                cache = {k: fresh[k] if k in fresh else cache[k] for k in set(flat)}
            per = list(map(cache.__getitem__, flat))
        # Each text's size: the ids up to its last key less those up to its first.
        upto = [0, *accumulate(map(len, per))]
        last = [0, *accumulate(n_keys)]
        sizes = np.fromiter(map(sub, map(upto.__getitem__, last[1:]), map(upto.__getitem__, last)), dtype=np.int64,
                            count=len(texts))
        return list(chain.from_iterable(per)), sizes

    @functools.cached_property
    def _bpe(self) -> Any:
        """The tokenizer's BPE model, when it encodes a plain word exactly as the tokenizer encodes
        it (the normalizer only puts "▁" before the text and for each space, and there is no
        pre-tokenizer: see ``by_word``), checked on a few words; else None. Asking it word by word
        skips the tokenizer's per-call work, and costs less than merging one long text."""
        tok = self.tokenizer
        bpe = getattr(tok, "model", None)
        if not self.by_word or not hasattr(bpe, "tokenize"):
            return None
        probe = ["zanzibarian", "n't", "'s", "222", "na\u00efve", "\U0001f600", "o'clock", "quokkas", "...", "x",
                 "don't!", "\u00bd"]
        try:
            same = all([t.id for t in bpe.tokenize("\u2581" + w)] == tok.encode(w, add_special_tokens=False).ids
                       for w in probe)
        except Exception:  # noqa: BLE001 (any surprise: encode with the tokenizer)
            same = False
        return bpe if same else None

    def _encode(self, keys: list[str]) -> dict[str, list[int]]:
        """The tokenizer's ids for each key (a word, with any extra spaces before it, or a text)."""
        tok = self.tokenizer
        out: dict[str, list[int]] = {}
        # Plain words (no space, no "▁", no special token): by the BPE model, or many at a time as
        # one text (far cheaper than one encoding object per word).
        plain: list[str] = []
        rest: list[str] = []
        for k in keys:
            # (_word_keys(k) == [k] for a word with no space: no "▁" and no special token)
            (plain if self.by_word and k and " " not in k and "\u2581" not in k
             and ("<" not in k or not _SPECIAL_RE.search(k)) else rest).append(k)
        bpe = self._bpe if plain else None
        if bpe is not None:
            tokenize = bpe.tokenize
            out.update((k, [t.id for t in tokenize("\u2581" + k)]) for k in plain)
            plain = []
        encode = getattr(tok, "encode_batch_fast", tok.encode_batch)
        # Each one's ids start with the only token of it that starts with "▁" (the one put in
        # front of it), so they are told apart by that.
        for c in range(0, len(plain), 1000):
            chunk = plain[c:c + 1000]
            (enc,) = encode([" ".join(chunk)], add_special_tokens=False)
            ids = enc.ids
            starts = self._starts_word
            for i in set(ids).difference(starts):  # (asked id by id: far fewer than the vocabulary)
                starts[i] = (tok.id_to_token(i) or "")[:1] == "\u2581"
            cuts = list(compress(count(), map(starts.__getitem__, ids)))
            if len(cuts) != len(chunk) or cuts[0] != 0:  # not as expected: encode them one by one
                rest += chunk
                continue
            cuts.append(len(ids))
            for k, a, b in zip(chunk, cuts, cuts[1:]):
                out[k] = ids[a:b]
        if rest:
            out.update((k, e.ids) for k, e in zip(rest, encode(rest, add_special_tokens=False)))
        return out


class _Vectors:
    """Unit-normalised vectors for units, and for turns pooled from their units.

    ``wordllama`` averages the model's static token embeddings (what ``WordLlama.embed`` does),
    tokenising each distinct word once (see ``_WordLlama``); a turn's vector pools the token
    embeddings of all its units, so turns cost no second pass. ``lexical`` counts content lemmas.
    """

    def __init__(self, kind: Similarity) -> None:
        self.kind = kind

    def __call__(self, unit_texts: Sequence[str], unit_bags: Sequence[Sequence[str]],
                 owners: Sequence[int], n_turns: int) -> tuple[Any, Any]:
        """Turn vectors (``n_turns`` rows) and unit vectors; ``owners[r]`` is the turn of unit ``r``."""
        import numpy as np

        if self.kind == "wordllama":
            sums, counts = self._token_sums(unit_texts)
        else:
            vocab: dict[str, int] = {}
            for b in unit_bags:
                for w in b:
                    vocab.setdefault(w, len(vocab))
            sums = np.zeros((len(unit_bags), max(1, len(vocab))), dtype=np.float32)
            for r, b in enumerate(unit_bags):
                for w in b:
                    sums[r, vocab[w]] += 1.0
            counts = np.ones(len(unit_bags), dtype=np.float32)
        return _normalise(_add_by_owner(sums, owners, n_turns)), _normalise(sums / np.maximum(counts, 1.0)[:, None])

    def _token_sums(self, texts: Sequence[str]) -> tuple[Any, Any]:
        import numpy as np

        model = _load_wordllama()
        ids, sizes = model.token_ids(list(map(str.lower, texts)))
        if ids:
            idx = np.asarray(ids, dtype=np.int64)
            if min(ids) < 0 or max(ids) >= len(model._raw):  # (not expected: the model has a row for each token)
                idx = np.clip(idx, 0, len(model._raw) - 1)
            sums = _run_sums(*model.widened(idx), sizes)
        else:
            sums = np.zeros((len(texts), model._raw.shape[1]), dtype=np.float32)
        return sums, sizes.astype(np.float32)


def _run_sums(table: Any, idx: Any, sizes: Any) -> Any:
    """The sum of each run of ``table[idx]`` (``sizes`` rows each, one after the other; zeros for
    an empty run), bit for bit as ``np.add.reduceat(table[idx], starts, axis=0)`` adds them.

    ``reduceat`` adds each column of a run with numpy's pairwise summation, one call of its inner
    loop per column and run (most of its cost here): ``_pairwise_sums`` does the same additions
    for all runs and columns at once. Runs of more than 129 rows, and a numpy that adds otherwise
    (see ``_pairwise_sums_exact``), take ``reduceat`` itself.
    """
    import numpy as np

    out = np.zeros((len(sizes), table.shape[1]), dtype=table.dtype)
    some = np.flatnonzero(sizes)
    if len(some):
        size = sizes[some]
        start = np.cumsum(sizes)[some] - size
        if size.max() <= 129 and _pairwise_sums_exact(table.shape[1]):
            out[some] = _pairwise_sums(table, idx, start, size - 1)
        else:
            out[some] = np.add.reduceat(table[idx], start, axis=0)
    return out


def _pairwise_sums(table: Any, idx: Any, start: Any, m: Any) -> Any:
    """For each run (rows ``start`` to ``start + m`` of ``table[idx]``, ``m`` at most 128), its
    first row plus the pairwise sum of the ``m`` others, as numpy's ``reduceat`` adds them.

    The pairwise sum of m <= 128 values is eight running sums (value ``8b + j`` goes to sum ``j``)
    over the ``m // 8`` full blocks of eight, combined as ((s0 + s1) + (s2 + s3)) + ((s4 + s5) +
    (s6 + s7)), then the ``m % 8`` values left added one by one; without a full block, the values
    one by one onto -0.0. -0.0 also pads the runs to one shape: x + -0.0 is x for every float.
    """
    import numpy as np

    nb = m >> 3  # full blocks
    # Per run: the combined running sums, the rows left and -0.0 pads, added in this order; the
    # first row is added to the lot last (a + b is b + a).
    X = np.empty((len(m), 8, table.shape[1]), dtype=table.dtype)
    by_blocks = np.argsort(-nb, kind="stable")
    nbs = nb[by_blocks]
    top = int(nbs[0]) if len(nbs) else 0
    if top:
        # Block b of the runs with more than b blocks (they come first in ``by_blocks``), added
        # onto the running sums.
        have = np.searchsorted(-nbs, -np.arange(top), side="left").tolist()
        block_rows = np.arange(1, 8 * top + 1).reshape(top, 8)  # a run's rows 1 + 8b + j
        base = start[by_blocks[:have[0]], None]
        acc = table[idx[base + block_rows[0]]]
        for b in range(1, top):
            acc[:have[b]] += table[idx[base[:have[b]] + block_rows[b]]]
        half = acc[:, 0::2] + acc[:, 1::2]
        X[by_blocks[:have[0]], 0] = half[:, 0] + half[:, 1] + (half[:, 2] + half[:, 3])
        X[by_blocks[have[0]:], 0] = -0.0
    else:
        X[:, 0] = -0.0
    lanes = np.arange(7)
    pad = lanes >= (m & 7)[:, None]
    left = table[idx[np.where(pad, 0, (start + 8 * nb + 1)[:, None] + lanes)]]
    left[pad] = -0.0
    X[:, 1:] = left
    return table[idx[start]] + np.add.reduce(X, axis=1, initial=-0.0)


@functools.cache
def _pairwise_sums_exact(width: int) -> bool:
    """Whether ``_pairwise_sums`` adds rows of ``width`` columns as this numpy's ``reduceat`` does:
    checked once per process on runs with every number of rows left over a block (and none to
    sixteen blocks), with zeros of both signs and magnitudes far apart."""
    import numpy as np

    k = np.arange(64 * width).reshape(64, width)  # (numpy.random would cost more than the check)
    table = (np.sin(k * 1.618034) * 10.0 ** (6 * (k // width % 3 - 1))).astype(np.float32)
    table[k % 5 == 0] = -0.0
    table[k % 11 == 0] = 0.0
    sizes = np.array([*range(1, 27), 33, 34, 40, 64, 65, 71, 120, 128, 129, 1, 5], dtype=np.int64)
    idx = np.arange(int(sizes.sum())) * 37 % 64
    start = np.cumsum(sizes) - sizes
    want = np.add.reduceat(table[idx], start, axis=0)
    return bool(_pairwise_sums(table, idx, start, sizes - 1).tobytes() == want.tobytes())


def _add_by_owner(rows: Any, owners: Sequence[int], n: int) -> Any:
    """``n`` rows, row i the sum of the ``rows`` whose owner is i, added one by one onto zeros in
    their order (as ``np.add.at`` adds them, in far fewer calls): step k adds the k-th row of every
    owner, and no owner comes twice in one step."""
    import numpy as np

    out = np.zeros((n, rows.shape[1]), dtype=rows.dtype)
    rank: list[int] = []
    seen: dict[int, int] = {}
    for o in owners:
        rank.append(seen.get(o, 0))
        seen[o] = rank[-1] + 1
    if rank:
        ranks, who = np.asarray(rank), np.asarray(owners)
        for k in range(max(rank) + 1):
            sel = ranks == k
            out[who[sel]] += rows[sel]
    return out


def _content_word(lemma: str, pos: str | None = None) -> str:
    """The content word a token with this lemma (and, in full mode, POS) counts as, or ""."""
    if not _WORD_RE.match(lemma) or lemma in _STOP:
        return ""
    if pos is not None:
        return lemma if pos in _CONTENT_POS else ""
    # Fast mode, without POS: short words are function words; "dad's" counts as "dad".
    return "" if len(lemma) < 3 else lemma.removesuffix("'s")


def _normalise(m: Any) -> Any:
    import numpy as np

    # np.linalg.norm(m, axis=1, keepdims=True), without its dispatch
    norms = np.sqrt(np.add.reduce(m * m, axis=1, keepdims=True))
    norms[norms == 0] = 1.0
    return m / norms


# ------------------------------------------------------------------------------ per-unit facts


@dataclass(slots=True)
class _Unit:
    turn: int
    k: int
    start: int
    end: int
    t0: int  # first token
    t1: int  # one past the last token
    n_words: int
    content: list[str]
    question: bool = False
    anaphoric: bool = False  # a word after the first points back (told for questions only: only they ask)
    ack: bool = False
    lead: list[str] = field(default_factory=list)  # the first words after any particles
    wrap_up: bool = False  # the short last unit of its turn, where "so yeah, …" can close a topic
    # (match, initial, final) of the cues: not of the acknowledgements, particles and fillers (that
    # only make ``ack`` and ``lead``: nothing asks where they stand)
    marks: list[tuple[Match, bool, bool]] = field(default_factory=list)
    labels: frozenset[str] = frozenset()  # the labels among ``marks``

    def hits(self, label: str, positioned: bool = True) -> list[Match]:
        if label not in self.labels:
            return []
        out = []
        for m, ini, fin in self.marks:
            if m.entry.label != label:
                continue
            pos = m.entry.attributes.get("position", "any")
            ok = (pos == "any" or (pos == "initial" and ini) or (pos == "final" and fin)
                  or (pos == "alone" and ini and fin) or (pos == "closing" and (fin or (ini and self.wrap_up))))
            if ok or not positioned:
                out.append(m)
        return out


class _State:
    """Per-conversation data shared by the paths: content lemmas, and vectors and the turn path's
    similarities, computed on first use (the similarities for all turns at once)."""

    def __init__(self, det: TopicDetector, conv: Conversation, us: list[list[_Unit]]) -> None:
        self.det = det
        self.conv = conv
        self.us = us
        # (a one-unit turn's content is its unit's list: neither is ever changed)
        self.content = [tu[0].content if len(tu) == 1 else list(chain.from_iterable(x.content for x in tu))
                        for tu in us]
        self.sidx: list[list[int]] = []
        self.owners: list[int] = []  # the turn of each unit, in the order of ``S``
        self._vec: tuple[Any, Any] | None = None
        self._sims: _Sims | None = None
        self._seen: dict[int, set[str]] = {}
        self._asks: list[bool] | None = None

    def vectors(self) -> tuple[Any, Any]:
        """Turn vectors ``T`` and unit vectors ``S`` (rows indexed by ``sidx``), unit-normalised."""
        if self._vec is None:
            us = self.us
            utexts = [t.text[x.start:x.end] for t, tu in zip(self.conv.turns, us) for x in tu]
            ubags = [x.content for tu in us for x in tu]
            self.owners = [i for i, tu in enumerate(us) for _ in tu]
            firsts = accumulate(map(len, us), initial=0)
            self.sidx = [list(range(a, a + len(tu))) for a, tu in zip(firsts, us)]
            self._vec = self.det._vectors(utexts, ubags, self.owners, len(self.conv.turns))
        return self._vec

    def sims(self) -> _Sims:
        """The similarities the turn path uses, for every turn."""
        if self._sims is None:
            T, S = self.vectors()
            self._sims = _Sims(T, S, self.owners, self.det.context_turns)
        return self._sims

    def seen(self, i: int) -> set[str]:
        """The content lemmas of the ``context_turns`` turns before turn ``i``."""
        got = self._seen.get(i)
        if got is None:
            got = self._seen[i] = set().union(*self.content[max(0, i - self.det.context_turns):i])
        return got

    def labels(self, i: int) -> frozenset[str]:
        """The labels of the cues in turn ``i``."""
        tu = self.us[i]
        return tu[0].labels if len(tu) == 1 else frozenset().union(*[x.labels for x in tu])

    def asks(self, i: int) -> bool:
        """Whether turn ``i`` has a question."""
        if self._asks is None:
            self._asks = [any(x.question for x in tu) for tu in self.us]
        return self._asks[i]


class _Sims:
    """The cosines of the turn path for all turns of a conversation, as Python floats.

    Each is the very number the per-turn formula gives (see ``TopicDetector._turn_features``):
    ``np.vecdot`` runs the same BLAS dot per pair of rows as ``a @ b`` does for two vectors, a
    norm is the root of that dot of a vector with itself (as in ``np.linalg.norm``), and a run of
    turns is pooled by adding its rows one by one onto zeros, as ``T[a:b].sum(0)`` does. Indexed
    by turn (unit, for ``unit_ctx`` and ``unit_prev``); entry 0 is unused.
    """

    def __init__(self, T: Any, S: Any, owners: list[int], context_turns: int) -> None:
        import numpy as np

        n, width = T.shape
        # Runs of k turns pooled, T[j:j + k].sum(0) for every j, built up k = 1, 2, ...: the first
        # row of each (for the turns with fewer than k before them), all rows where needed.
        firsts, runs = [], {}
        run = T + np.float32(0.0)  # one turn, added onto zeros: -0.0 becomes 0.0 as in the sum
        for k in range(1, min(max(context_turns, 2), n) + 1):
            if k > 1:
                run = run[:-1] + T[k - 1:]
            firsts.append(run[:1])
            if k in (1, 2, context_turns):
                runs[k] = run

        def pooled(k: int) -> Any:
            """``T[max(0, i - k):i].sum(0)`` for the turns i = 1 .. n - 1."""
            if k <= 0 or n < 2:
                return np.zeros((max(0, n - 1), width), dtype=T.dtype)
            return np.concatenate(firsts[:min(k, n) - 1] + ([runs[k][:n - k]] if n > k else []))

        # The context of turn i: the context_turns turns before it, pooled and normalised.
        ctx = pooled(context_turns)
        norm = np.sqrt(np.vecdot(ctx, ctx))
        some = norm != 0
        ctx[some] /= norm[some, None]
        self.sim_prev = [0.0, *np.vecdot(T[1:], T[:-1]).tolist()]
        self.sim_context = [0.0, *np.vecdot(T[1:], ctx).tolist()]
        self.sim_next = [0.0, *np.vecdot(T[1:-1], T[2:]).tolist(), 0.5][:n]
        self.next_sim_prev = [0.0, *np.vecdot(T[2:], T[:-2]).tolist(), 0.5][:n]
        # TextTiling's gap: the two turns before against this one and the next (just this one at the end).
        before = pooled(2)
        after = np.concatenate([runs[2][1:], runs[1][n - 1:]]) if n > 1 else before  # T[i:i + 2].sum(0)
        nb = np.sqrt(np.vecdot(before, before)).tolist()
        na = np.sqrt(np.vecdot(after, after)).tolist()
        ba = np.vecdot(before, after).tolist()
        self.gap = [0.0] + [d / (b * a) if b and a else 0.0 for d, b, a in zip(ba, nb, na)]
        # Each unit against its turn's context and against the previous turn.
        owner = np.asarray(owners, dtype=np.int64)
        later = np.flatnonzero(owner > 0)
        unit_ctx = np.zeros(len(S), dtype=np.float32)
        unit_prev = np.zeros(len(S), dtype=np.float32)
        if len(later):
            unit_ctx[later] = np.vecdot(S[later], ctx[owner[later] - 1])
            unit_prev[later] = np.vecdot(S[later], T[owner[later] - 1])
        self.unit_ctx = unit_ctx.tolist()
        self.unit_prev = unit_prev.tolist()


@register_detector
class TopicDetector(Detector):
    """Finds topic moves: shifts, hand-offs, resumptions and closings.

    Args:
        lexicons: Loaded lexicons; uses ``topic_markers`` and ``handoff`` (and ``backchannels``
            to recognise a lull of acknowledgements, when loaded).
        mode: ``full`` (lemmas and POS pick the content words) or ``lite`` (tokens only).
        similarity: ``wordllama`` (default; needs the wordllama package) or ``lexical``
            (content-lemma cohesion, no dependency).
        shift_threshold: Turn-path probability from which a turn counts as introducing a new
            topic; default 0.27 with wordllama, 0.24 with lexical (``_TURN_THRESHOLDS``: the
            F1-best cut-offs on TIAGE train).
        marker_threshold: Unit-path probability from which a marked or opener-initial unit is a
            topic shift; default 0.07 (the F1-best cut-off on the MRDA fitting meetings).
        context_turns: How many preceding turns form the context a turn is compared with; 3.
        cohesion_window: Content words on each side of a unit for the cohesion drop; 60.
        resume_gap: Turns just before a resumption that cannot be its target (the digression);
            2.
        stepwise_overlap: Content lemmas a new topic must share with the context to count as
            ``stepwise`` rather than ``disjunctive``; 1.
        close_max_words: Longest last unit of a turn in which a unit-initial "so yeah" or "so
            anyway" still closes the topic ("so yeah, that's sorted"); 8.

    Example:
        >>> from convmaint.pipeline import Annotator
        >>> ann = Annotator.create(["topic"])  # doctest: +SKIP
    """

    name = "topic"
    version = 1
    labels = (SHIFT, HANDOFF, RESUME, CLOSE)
    requires = frozenset({"tokens", "sents", "pos", "lemma"})
    requires_lite = frozenset({"tokens", "sents"})
    order = 30

    def __init__(
        self,
        *,
        lexicons: LexiconSet,
        mode: Mode = "full",
        similarity: Similarity = "wordllama",
        shift_threshold: float | None = None,
        marker_threshold: float = 0.07,
        context_turns: int = 3,
        cohesion_window: int = 60,
        resume_gap: int = 2,
        stepwise_overlap: int = 1,
        close_max_words: int = 8,
    ) -> None:
        super().__init__(lexicons=lexicons, mode=mode)
        if similarity not in ("wordllama", "lexical"):
            raise ConfigError(f"topic detector: unknown similarity {similarity!r}; expected wordllama or lexical")
        if similarity == "wordllama":
            _wordllama_dir()  # fail early and clearly when the package is missing
        self.similarity = similarity
        self.shift_threshold = _TURN_THRESHOLDS[similarity] if shift_threshold is None else float(shift_threshold)
        self.marker_threshold = float(marker_threshold)
        self.context_turns = int(context_turns)
        self.cohesion_window = int(cohesion_window)
        self.resume_gap = int(resume_gap)
        self.stepwise_overlap = int(stepwise_overlap)
        self.close_max_words = int(close_max_words)
        entries = [e for i in ("topic_markers", "handoff") if i in lexicons for e in lexicons[i].entries]
        # Only the phrase entries of the backchannels: enough to see a lull of "yeah"s and "mm-hmm"s,
        # without running its question-form token patterns over every token.
        if "backchannels" in lexicons:
            entries += [e for e in lexicons["backchannels"].entries if e.match == "phrase"]
        # Token patterns (the bare "…, you?") only run on units with a question mark.
        phrases = [e for e in entries if e.match == "phrase"]
        self._matcher = Matcher(phrases) if entries else None
        token_entries = [e for e in entries if e.match == "token"]
        self._token_matcher = Matcher(token_entries) if token_entries else None
        self._vectors = _Vectors(similarity)
        self._content_memo: dict[bool, dict[Any, str]] = {False: {}, True: {}}

    # -------------------------------------------------------------------------- units

    def _token_content(self, p: ParsedTurn) -> list[str]:
        """Each token's content word (its lemma; trimmed of "'s" in lite mode), or "" for none."""
        full = self.mode == "full" and bool(p.pos)
        # The test depends on the lemma (and POS) only: remembered, as a corpus has far fewer
        # distinct ones than tokens. In full mode the memo keeps the lemma's part of the test (a
        # content POS's answer), and the POS is tested per token.
        memo = self._content_memo[full]
        lemmas = p.lemmas
        out = list(map(memo.get, lemmas))
        if None in out:
            if len(memo) > _MAX_MEMO:
                memo.clear()
            for lemma in lemmas:
                if lemma not in memo:
                    memo[lemma] = _content_word(lemma, "NOUN") if full else _content_word(lemma)
            out = list(map(memo.__getitem__, lemmas))
        if full:
            # word * True is the word, word * False is "": the lemma where the POS is a content one.
            return list(map(mul, out, map(_CONTENT_POS.__contains__, p.pos)))
        return out

    def _units(self, conv: Conversation, parsed: Sequence[ParsedTurn]) -> list[list[_Unit]]:
        out: list[list[_Unit]] = []
        phrases, token_matcher = self._matcher, self._token_matcher
        position = self._position
        for turn, p in zip(conv.turns, parsed):
            matches = phrases.phrase_spans(p.text) if phrases is not None and p.words else []
            tus: list[_Unit] = []
            ends, starts, lower, text, index = p.ends, p.starts, p.lower, turn.text, turn.index
            content = self._token_content(p)
            words_at = list(compress(count(), map(not_, p.punct)))  # the tokens that are not punctuation
            # Tokens ending in "?" (a question, see _is_question); none without a "?" in the text.
            asks = [i for i, w in enumerate(p.words) if w[-1:] == "?"] if "?" in text else []
            token_cues: bool | None = None  # whether a token pattern can match in the turn, once asked
            for k, (s, e) in enumerate(units(turn, p)):
                t0, t1 = bisect_right(ends, s), bisect_left(starts, e)
                words = words_at[bisect_left(words_at, t0):bisect_left(words_at, t1)]
                inside = [m for m in matches if m[0] >= s and m[1] <= e] if matches else []
                if token_matcher is not None and text.find("?", s, e) >= 0:
                    if token_cues is None:
                        token_cues = token_matcher.may_match_tokens(p)
                    if token_cues:
                        inside += [(m.start, m.end, m.entry) for m in token_matcher.find(p, s, e)]
                if inside:
                    u = position(p, _Unit(index, k, s, e, t0, t1, len(words), list(filter(None, content[t0:t1]))),
                                 inside, words)
                else:  # nothing covers or skips a token: no acknowledgement, no particle before the lead
                    u = _Unit(index, k, s, e, t0, t1, len(words), list(filter(None, content[t0:t1])), False, False,
                              False, list(map(lower.__getitem__, words[:4])), False, [])
                if asks and (a := bisect_left(asks, t0)) < len(asks) and asks[a] < t1:
                    question = True
                else:  # _is_question, inline (wrap_up is still False here, as it was there)
                    question = bool(_PROFFER in u.labels and u.hits(_PROFFER))
                    if not question:
                        lead = u.lead
                        question = len(lead) >= 2 and lead[0] in _QSTART and not _SUBJ.isdisjoint(lead[1:4])
                if question:
                    u.question = True
                    u.anaphoric = len(words) > 1 and not _ANAPHOR.isdisjoint(map(lower.__getitem__, words[1:]))
                tus.append(u)
            if tus:
                tus[-1].wrap_up = tus[-1].n_words <= self.close_max_words
            out.append(tus)
        return out

    @staticmethod
    def _position(p: ParsedTurn, u: _Unit, inside: list[tuple[int, int, Entry]], words: list[int]) -> _Unit:
        """Record each cue match with whether it stands unit-initially and unit-finally, and what the
        acknowledgements, particles and fillers among ``inside`` make of the unit (``ack``, ``lead``).

        ``inside`` are the unit's matches as ``(start, end, entry)``; ``words`` its tokens that are
        not punctuation. Returns ``u``.
        """
        lower = p.lower
        t0, t1 = u.t0, u.t1
        ends, starts = p.ends, p.starts
        covers: list[tuple[int, int]] = []  # token ranges of the acknowledgements, particles and fillers
        particle: set[int] = set()
        spans = []  # the other matches (the cues), with their tokens
        for ms, me, entry in inside:
            # t0 <= i, j <= t1 (the match ends after the unit starts and starts before it ends),
            # so the slices below cover the same tokens as ranges over [t0, t1).
            i, j = max(t0, bisect_right(ends, ms)), min(t1, bisect_left(starts, me))
            label = entry.label
            if label in _COVERING:
                covers.append((i, j))
                if label == _PARTICLE:
                    particle.update(range(i, j))
            else:
                spans.append((Match(ms, me, entry), i, j))
        covered: set[int] = set()
        for i, j in covers:
            covered.update(range(i, j))
        u.ack = bool(words) and covered.issuperset(words)
        if particle:
            # The first four words that are not particles are among the first 4 + len(particle).
            u.lead = [lower[t] for t in words[:4 + len(particle)] if t not in particle][:4]
        else:
            u.lead = list(map(lower.__getitem__, words[:4]))
        if not spans:
            return u
        # Tokens a marker may stand behind: punctuation, particles, fillers and other markers (the
        # covering labels are all skippable).
        skip = list(p.punct[t0:t1])
        for t in covered:
            skip[t - t0] = True
        for m, i, j in spans:
            if j > i and m.entry.label in _SKIPPABLE:
                skip[i - t0:j - t0] = [True] * (j - i)
        # A match is initial when only skippable tokens come before it (it starts at or before the
        # first other token), final when only skippable ones come after it.
        if False in skip:
            first = skip.index(False) + t0
            last = len(skip) - 1 - skip[::-1].index(False) + t0
            u.marks = [(m, i <= first, j > last) for m, i, j in spans]
        else:
            u.marks = [(m, True, True) for m, _, _ in spans]
        u.labels = frozenset([m.entry.label for m, _, _ in spans])
        return u

    def _is_question(self, p: ParsedTurn, u: _Unit) -> bool:
        """A topic-proffering frame, or question word order ("do you…", "what is your…").

        (A token ending in "?" makes a question too; ``_units`` tests that first, and inlines this.)
        """
        if _PROFFER in u.labels and u.hits(_PROFFER):
            return True
        lead = u.lead
        if len(lead) < 2:
            return False
        return lead[0] in _QSTART and not _SUBJ.isdisjoint(lead[1:4])

    # -------------------------------------------------------------------------- features

    def _turn_features(self, i: int, us: list[list[_Unit]], state: _State) -> dict[str, float]:
        """Turn-path features of turn ``i`` (``i >= 1``).

        Similarities are cosines of the chosen vectors: ``sim_prev`` with the previous turn,
        ``sim_context`` with the ``context_turns`` before, ``min_unit_sim`` / ``last_unit_sim`` of the
        turn's units with that context, ``last_unit_sim_prev`` of its last unit with the previous turn;
        ``gap`` compares the two turns before with this one and the next (TextTiling's gap),
        ``sim_next`` this turn with the next, ``next_sim_prev`` the next turn with the previous one
        (a reply that still talks about the old topic). Questions: ``last_question`` /
        ``any_question`` in this turn, ``prev_question`` / ``prev_any_question`` in the previous one
        (this turn then answers), ``question_new_content`` a last question with words the context
        has not had, ``proffer`` a topic-proffering frame, ``anaphoric_question`` a question pointing
        back ("what is it?"), ``reciprocal`` an "and you?". ``new_content`` counts (up to 6) content
        lemmas new to the context; ``marked`` is a boundary marker; ``anaphoric_start`` a turn that
        opens with "that", "it"…; ``ack_then_question`` "cool. do you…?"; ``n_units``, ``length``,
        ``second_turn`` and ``third_turn`` describe size and position.
        """
        return dict(zip(_TURN_FEATURES, self._turn_values(i, us, state)))  # type: ignore[arg-type]

    def _turn_values(self, i: int, us: list[list[_Unit]], state: _State, skip_stale: bool = False) -> list[float] | None:
        """The features of ``_turn_features`` in the order of ``_TURN_FEATURES``; None, when
        ``skip_stale``, for a turn with no content word new to the context and no marker."""
        seen = state.seen(i)
        content = state.content
        mine = us[i]
        cues = state.labels(i)  # (a quick no for the many turns without the cue)
        marked = SHIFT in cues and any(x.hits(SHIFT) for x in mine)
        if seen.issuperset(content[i]):
            n_new = 0
            if skip_stale and not marked:
                return None
        else:
            n_new = len(set(content[i]).difference(seen))
        sims = state.sims()
        sidx = state.sidx[i]
        last = mine[-1] if mine else None
        if sidx:  # (the turn's units are rows sidx[0] .. sidx[-1])
            unit_ctx = sims.unit_ctx[sidx[0]:sidx[-1] + 1]
            # Of the units' similarities to the previous turn only the last one's is a feature.
            last_prev = sims.unit_prev[sidx[-1]]
        else:
            unit_ctx, last_prev = [0.0], 0.0
        prev_units = us[i - 1]
        prevq_last = bool(prev_units) and prev_units[-1].question
        last_new = bool(last) and not seen.issuperset(last.content)
        lastq = bool(last) and last.question
        recip = HANDOFF in cues and any(m.entry.attributes.get("reciprocal") for x in mine for m in x.hits(HANDOFF))
        proffer = _PROFFER in cues and any(x.hits(_PROFFER) and not x.anaphoric for x in mine)
        ack_first = bool(mine) and len(mine) > 1 and (mine[0].ack or mine[0].n_words <= 3)
        return [
            1.0,  # bias
            float(lastq),  # last_question
            float(state.asks(i)),  # any_question
            float(prevq_last),  # prev_question
            float(state.asks(i - 1)),  # prev_any_question
            sims.sim_prev[i],
            sims.sim_context[i],
            min(unit_ctx),  # min_unit_sim
            unit_ctx[-1],  # last_unit_sim
            last_prev,  # last_unit_sim_prev
            min(n_new, 6) / 6,  # new_content
            float(lastq and last_new),  # question_new_content
            float(recip),  # reciprocal
            float(marked),  # marked
            float(proffer),  # proffer
            float(lastq and bool(last) and last.anaphoric),  # anaphoric_question
            float(bool(mine) and bool(mine[0].lead) and mine[0].lead[0] in _ANAPHOR),  # anaphoric_start
            float(ack_first and lastq),  # ack_then_question
            min(len(mine), 4) / 4,  # n_units
            float(i == 1),  # second_turn
            float(i == 2),  # third_turn
            min(mine[0].n_words if len(mine) == 1 else sum(x.n_words for x in mine), 30) / 30,  # length
            sims.gap[i],
            sims.sim_next[i],
            sims.next_sim_prev[i],
        ]

    def _unit_features(self, flat: list[_Unit], pos: int, first: list[int], flat_content: list[str],
                       speakers: list[str]) -> dict[str, float] | None:
        """Unit-path features of the ``pos``-th unit of the conversation; None when it carries no cue."""
        u = flat[pos]
        strong = weak = False
        for m in u.hits(SHIFT):
            if m.entry.attributes.get("strength") == "weak":
                weak = True
            else:
                strong = True
        opener = not (strong or weak) and bool(u.hits(_OPENER)) and not u.ack and len(u.content) > 0
        if not (strong or weak or opener):
            return None
        w = self.cohesion_window
        f0 = first[pos]
        after = Counter(flat_content[f0:f0 + w])
        before = Counter(flat_content[max(0, f0 - w):f0])
        # A lull: the units just before are acknowledgements or near-empty.
        prev = flat[max(0, pos - 3):pos]
        lull = sum(1 for x in prev if x.ack or x.n_words <= 1) / 3
        # Who held the floor: the last substantial unit before, and the units after (others' acks skipped).
        j = pos - 1
        while j >= 0 and (flat[j].ack or flat[j].n_words <= 1):
            j -= 1
        new_speaker = j >= 0 and speakers[j] != speakers[pos]
        run = 0
        j = pos + 1
        while j < len(flat) and j <= pos + 5 and (speakers[j] == speakers[pos] or flat[j].ack):
            run += speakers[j] == speakers[pos]
            j += 1
        return {"bias": 1.0, "strong": float(strong), "weak": float(weak), "opener": float(opener),
                "cohesion": _cos(after, before), "lull": lull, "new_speaker": float(new_speaker),
                "run": min(run, 5) / 5, "length": min(u.n_words, 20) / 20}

    def unit_features(self, conv: Conversation,
                      parsed: Sequence[ParsedTurn]) -> list[tuple[int, int, dict[str, float]]]:
        """Unit-path features ``(turn, unit, features)`` of every cued unit, for inspection and refitting."""
        us = self._units(conv, parsed)
        return self._unit_path(conv, us)

    def _unit_path(self, conv: Conversation, us: list[list[_Unit]]) -> list[tuple[int, int, dict[str, float]]]:
        flat = [x for tu in us for x in tu]
        # Only a unit with a boundary marker or an opener has features (see _unit_features).
        cued = [pos for pos, x in enumerate(flat) if (SHIFT in x.labels or _OPENER in x.labels)
                and not (x.turn == 0 and x.k == 0)]
        if not cued:
            return []
        speakers = [conv.turns[x.turn].speaker for x in flat]
        first, flat_content = [], []
        for x in flat:
            first.append(len(flat_content))
            flat_content.extend(x.content)
        out = []
        for pos in cued:
            x = flat[pos]
            f = self._unit_features(flat, pos, first, flat_content, speakers)
            if f is not None:
                out.append((x.turn, x.k, f))
        return out

    # -------------------------------------------------------------------------- detect

    def shift_features(self, conv: Conversation, parsed: Sequence[ParsedTurn]) -> list[dict[str, float] | None]:
        """The turn-path features of every turn (None for the first), for inspection and refitting."""
        us = self._units(conv, parsed)
        state = _State(self, conv, us)
        return [None] + [self._turn_features(i, us, state) for i in range(1, len(us))]

    def detect(self, conv: Conversation, parsed: Sequence[ParsedTurn], prior: Sequence[Move] = ()) -> list[Move]:
        if len(conv.turns) < 1:
            return []
        us = self._units(conv, parsed)
        state = _State(self, conv, us)
        n = len(us)
        weights = _TURN_WEIGHTS[self.similarity]
        # (turn, unit) -> probability; the turn path nominates one unit per turn, the unit path its own.
        shifts: dict[tuple[int, int], float] = {}
        # The turn path models a dyad trading whole turns (chat, written dialogue): with more than two
        # speakers the previous turn is often not the one a turn answers, so only the unit path runs.
        if len(conv.speakers) <= 2:
            for i in range(1, n):
                # A model's turn answers the user's; it opens a topic only with a marker (unit path).
                if not us[i] or conv.turns[i].role is Role.MODEL:
                    continue
                # No word the context has not had: nothing new to talk about ("oh really?").
                values = self._turn_values(i, us, state, skip_stale=True)
                if values is None:
                    continue
                # _logit(weights, _turn_features(...)), term by term in the same order
                prob = _sigmoid(sum(map(mul, weights.values(), values)))
                if prob >= self.shift_threshold:
                    shifts[(i, self._introducing_unit(i, us, state))] = prob
        for t, k, f in self._unit_path(conv, us):
            prob = _sigmoid(_logit(_UNIT_WEIGHTS, f))
            if prob >= self.marker_threshold:
                shifts[(t, k)] = max(prob, shifts.get((t, k), 0.0))

        # Units an earlier detector found to be repair or clarification work are not new topics.
        busy = [(m.turn, m.start, m.end) for m in prior if m.label in _NOT_A_SHIFT]
        moves: list[Move] = []
        speakers = [t.speaker for t in conv.turns]
        partner: int | None = None  # the last turn before turn i by another speaker
        for i, tu in enumerate(us):
            text = conv.turns[i].text
            if i and speakers[i - 1] != speakers[i]:
                partner = i - 1  # (else the previous turn's partner: the same speaker's)
            for u in tu:
                labels = u.labels
                prob = shifts.get((i, u.k)) if shifts else None
                # (most units: no cue, no shift, no question to mirror)
                if not labels and prob is None and not (partner is not None and u.k and u.question):
                    continue
                resumes = u.hits(RESUME) if RESUME in labels else []
                closes = u.hits(CLOSE) if CLOSE in labels else []
                # A return to an earlier topic, or a wind-down ("anyway, that's that"), is no new topic.
                if (prob is not None and not resumes and not closes
                        and not any(t == i and s < u.end and u.start < e for t, s, e in busy)):
                    moves.append(self._shift_move(i, u, prob, state, text))
                # (_handoff finds nothing without a hand-off cue, or a question to mirror)
                hand = (self._handoff(i, u, us, partner) if HANDOFF in u.labels or (
                    partner is not None and u.k and u.question and u.lead and not u.anaphoric) else None)
                if hand is not None:
                    m, reciprocal, kind = hand
                    attrs = (frozen_attributes(reciprocal=reciprocal, kind=kind) if partner is None
                             else frozen_attributes(reciprocal=reciprocal, kind=kind, to=speakers[partner]))
                    moves.append(self.move(HANDOFF, i, m[0], m[1], cue=text[m[0]:m[1]] if m[2] is None else m[2],
                                           target=partner, attributes=attrs, score=0.9))
                if resumes and i > 0:
                    m = resumes[0]
                    moves.append(self.move(RESUME, i, u.start, u.end, cue=_cue(m, conv.turns[i].text),
                                           target=self._resume_target(i, state), score=0.9))
                elif closes:
                    m = closes[0]
                    moves.append(self.move(CLOSE, i, u.start, u.end, cue=_cue(m, conv.turns[i].text), score=0.9))
        return moves

    def _handoff(self, i: int, u: _Unit, us: list[list[_Unit]],
                 partner: int | None) -> tuple[tuple[int, int, str | None], bool, str] | None:
        """A hand-off in unit ``u`` of turn ``i``: ((start, end, cue), reciprocal, kind), or None."""
        text_cue: str | None
        for m in u.hits(HANDOFF):
            reciprocal = bool(m.entry.attributes.get("reciprocal", False))
            # A conversation-opening question hands nothing back; "mine is autumn. what's yours?" does.
            if partner is None and (not reciprocal or u.k == 0):
                continue
            text_cue = m.entry.cue if m.entry.match == "phrase" else None
            return (m.start, m.end, text_cue), reciprocal, str(m.entry.attributes.get("kind", "invitation"))
        # A mirrored question: the partner asked "how are your knees?", the speaker answers and asks
        # back in the same frame ("how's your running going?").
        if partner is None or u.k == 0 or not u.question or not u.lead or u.anaphoric:
            return None
        theirs = [x for x in us[partner] if x.question and x.lead]
        if not theirs or not any(w in _SECOND for w in u.lead):
            return None
        for x in theirs:
            if x.lead[0] == u.lead[0] and x.lead[0] in _WH | _AUX and any(w in _SECOND for w in x.lead):
                return (u.start, u.end, None), True, "reciprocal"
        return None

    def _introducing_unit(self, i: int, us: list[list[_Unit]], state: _State) -> int:
        """The unit of turn ``i`` that brings in the new topic."""
        tu = us[i]
        for u in tu:
            if u.hits(SHIFT):
                return u.k
        for u in tu:
            if u.hits(_PROFFER) and not u.anaphoric:
                return u.k
        seen = state.seen(i)
        for u in reversed(tu):
            if u.question and not u.anaphoric and any(w not in seen for w in u.content):
                return u.k
        unit_prev = state.sims().unit_prev
        scored = [(unit_prev[j], u.k) for u, j in zip(tu, state.sidx[i]) if u.content]
        if scored:
            return min(scored)[1]
        return tu[-1].k

    def _shift_move(self, i: int, u: _Unit, prob: float, state: _State, text: str) -> Move:
        marks = u.hits(SHIFT)
        seen = state.seen(i)
        if marks:
            kind = str(marks[0].entry.attributes.get("kind", "disjunctive"))
        else:
            shared = {w for w in u.content if w in seen}
            kind = "stepwise" if len(shared) >= self.stepwise_overlap else "disjunctive"
        cue = _cue(marks[0], text) if marks else None
        if cue is None:
            proffers = u.hits(_PROFFER)
            cue = _cue(proffers[0], text) if proffers else None
        return self.move(SHIFT, i, u.start, u.end, cue=cue,
                         attributes=frozen_attributes(marked=bool(marks), kind=kind), score=round(prob, 4))

    def _resume_target(self, i: int, state: _State) -> int | None:
        """The earlier turn most like turn ``i``, beyond the ``resume_gap`` turns just before it."""
        content = state.content
        T, _ = state.vectors()
        last = i - self.resume_gap
        cands = [j for j in range(last) if content[j]] or [j for j in range(i) if content[j]]
        if not cands:
            return None
        best = max(cands, key=lambda j: (float(T[j] @ T[i]), j))
        return best


def _cue(m: Match, text: str) -> str:
    """The cue to report: the lexicon phrase, or the matched words for a token pattern."""
    return m.entry.cue if m.entry.match == "phrase" else text[m.start:m.end]


def _cos(a: Counter, b: Counter) -> float:
    if not a or not b:
        return 0.0
    num = sum(v * b[k] for k, v in a.items() if k in b)
    return num / math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))
