"""Fast-mode (scan) detector for the topic family: shifts, hand-offs, resumptions and closings.

Built like the parse-based :class:`~convmaint.detect.topic.TopicDetector` (its docstring gives the
rationale and the literature), at a fraction of the cost. The work per conversation is a few
passes over its tokens in C (list, set and dict built-ins, itertools, a handful of numpy calls);
Python work per turn is O(1), and per unit only where a cue, an opener or a shift needs it:

* **Units.** A turn's units are its source segments, else its sentences; sentence units are not
  built up front: the scan needs only their number and first tokens (``sent_starts``), and a
  unit's span, tokens and question flag are worked out on demand (``_span``, ``_toks``,
  ``_asks``), or for a whole turn (``_units``) where a rule looks at all its units.
* **Cues.** The boundary, resumption and closing markers of the ``topic_markers`` lexicon, the
  hand-off and topic-proffer phrases of ``handoff`` and its bare "…, you?" are found by one
  pattern (the phrases' trie), tried only where a cue can start: at a token pair that starts a
  longer cue, or a token that is a one-token cue (``_cue_keys``; set look-ups over the
  conversation's tokens). Only a hit costs Python work (its unit, and its position there, tested
  on the text around it: unit-initial means only punctuation, particles, fillers,
  acknowledgements or other markers before it, as in the parse detector).
* **Lexical cohesion.** Every token is looked up in a per-process table of word vectors: the
  WordLlama static token embeddings of the parse detector (loaded by its ``_load_wordllama``),
  summed over the word's tokens and cut to their first ``dims`` dimensions (the model is trained
  so that its leading dimensions form an embedding of their own). The table starts with the
  tokenizer's one-token words and encodes other words once (by the tokenizer's BPE model, word by
  word), with a flag per row for a content word. A conversation's turns (as
  two runs of rows: before the last unit, the last unit) are summed by one gather and one
  ``reduceat``, and the cosines the turn path needs come from one Gram matrix. Talk with more
  than two speakers needs no vectors but for a resumption's target: its new words' vectors are
  computed when first needed.
* **Turn path** (two-party talk, not a language model's turns, only turns with a content word the
  context lacks): a logistic score over nine features, compared with ``shift_threshold``; the
  features and how their weights were fitted are given at ``_TURN_WEIGHTS``.
* **Unit path** (any number of speakers): a unit with a boundary marker or a unit-initial opener
  ("okay so", "alright") is scored with the parse detector's own unit model and weights
  (``_UNIT_WEIGHTS``, same features: marker strength, the drop in content-word cohesion across the
  unit, a lull of acknowledgements before it, a new speaker who keeps the floor after it).

Hand-offs, resumptions and closings follow the parse detector's rules on the same lexicon hits.
What it drops from the parse detector: 15 of the turn model's 24 features (the similarities to the
context and to the next turn, the units' similarity to the context, turn length, units and
position, the last-unit and previous-unit question flags, reciprocal questions, boundary markers
(a marked unit is left to the unit path), a pronoun opening the turn, "ok. do you…?"); particles
inside a unit's first words (only leading ones are skipped); the least-like-the-previous-turn
choice of the unit a shift is put on (here: the unit with most new content words); resumption
targets further back than ``resume_window`` turns; and lemmas (none exist in fast mode). Cues
are matched where the regex tokenizer starts a token (a cue glued to other characters inside a
token, as in a URL, is not one).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import re
import threading
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import accumulate, chain, compress, count, islice, pairwise, repeat
from operator import add, attrgetter, eq, itemgetter, not_
from pathlib import Path
from typing import Any

from convmaint import _regex  # (large tries: compiled programs cached per user)
from convmaint.detect.base import (
    Detector,
    Mode,
    frozen_attributes,
    register_detector,
    units,
)
from convmaint.detect.topic import (  # the parse detector's word lists
    _ANAPHOR,
    _NOT_A_SHIFT,
    _QSTART,
    _SECOND,
    _STOP,
    _SUBJ,
    _load_wordllama,
    _wordllama_dir,
)
from convmaint.errors import BackendError, ConfigError
from convmaint.lexicon import Entry, LexiconSet, Match, trie_pattern
from convmaint.model import Conversation, Move, Role
from convmaint.nlp.base import ParsedTurn

__all__ = ["FastTopicDetector"]

# Copied from the parse detector (convmaint/detect/topic.py): its fast-mode content-word test, its
# unit model's weights and its cosine of word counts. Its word classes are imported above.
_CONTENT_RE = re.compile(r"^[a-z][a-z'-]+$")
#: The unit model's weights (logistic regression, fitted by the parse detector on the first 32 ICSI MRDA meetings).
_UNIT_WEIGHTS: dict[str, float] = {
    "bias": -2.159, "strong": 0.945, "weak": -0.005, "opener": -0.941, "cohesion": -4.366, "lull": 1.367,
    "new_speaker": 0.264, "run": 0.07, "length": -0.793,
}
# Texts the tokenizer must encode whole (special tokens, its own word-start mark).
_SPECIAL_RE = re.compile("<s>|</s>|<unk>")


def _content_word(lemma: str) -> str:
    """The content word a token counts as, or "": without POS, short words are function words;
    "dad's" counts as "dad"."""
    if not _CONTENT_RE.match(lemma) or lemma in _STOP:
        return ""
    return "" if len(lemma) < 3 else lemma.removesuffix("'s")


def _cos(a: Counter, b: Counter) -> float:
    if not a or not b:
        return 0.0
    num = sum(v * b[k] for k, v in a.items() if k in b)
    return num / math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))


SHIFT = "topic.shift"
HANDOFF = "topic.handoff"
RESUME = "topic.resume"
CLOSE = "topic.close"
_PROFFER = "topic.proffer"
_OPENER = "topic.opener"
_PARTICLE = "topic.particle"
_ACK = "grounding.acknowledgement"
_CUE_LABELS = frozenset({SHIFT, RESUME, CLOSE, HANDOFF, _PROFFER})
# Labels of the phrases a marker may stand behind (or before) and still be unit-initial (final): the
# parse detector's _SKIPPABLE; and of those that make a unit a bare acknowledgement (its _COVERING).
_SKIP_LABELS = frozenset({_PARTICLE, _OPENER, SHIFT, RESUME, CLOSE, _ACK, "filler"})
_ACK_LABELS = frozenset({_ACK, _PARTICLE, "filler"})
# Joins a conversation's turns for the one cue search: neither a word character nor white space,
# so no phrase matches across it and every phrase edge test holds at it.
_SEP = "\x00"
_TEXT, _LOWER, _SEGMENTS, _ANNOTATIONS, _SPEAKER, _ROLE = (attrgetter(a) for a in (
    "text", "lower", "segments", "annotations", "speaker", "role"))
_WS_RE = re.compile(r"\s+")
_WORD_CHAR = re.compile(r"\w")

#: Turn-path weights: logistic regression (L2 = 1 on the weights, none on the bias, Newton's method)
#: on the candidate turns of TIAGE ``anno_train.json`` (300 dialogues; 4,227 candidates, 876 of them
#: shifts), parsed by the regex backend, ``dims`` = 64; ``shift_threshold`` is the F1-best cut-off
#: there. The nine features were chosen by backward elimination from the parse detector's under
#: 5-fold cross-validation on those dialogues, by conversation (F1 0.564 over 8 shuffles; all the
#: parse features fast mode can compute 0.571 at several times the cost; 128 or 256 dimensions no
#: better, 32 worse). ``anno_dev.json`` was scored once, after the choice: F1 0.542 (lite mode
#: 0.571). To refit: ``FastTopicDetector.shift_features`` gives each dialogue's candidate turns and
#: their feature rows; a candidate is positive when TIAGE labels its turn "1". Features (turn i): ``any_question`` it has a question (a "?", question
#: word order, or a topic-proffering frame); ``prev_any_question`` the turn before has one (this
#: turn then answers); ``new_content`` how many of its content words the ``context_turns`` turns
#: before lack (up to 6, over 6); ``question_new_content`` its last unit is a question with such a
#: word; ``proffer`` it has a topic-proffering frame ("do you have any…?") not pointing back;
#: ``anaphoric_question`` its last unit is a question pointing back ("what is it?");
#: ``next_sim_prev`` cosine of the next turn with the previous one (a reply still on the old
#: topic); ``gap`` TextTiling's cosine of the two turns before with this one and the next;
#: ``last_unit_sim_prev`` cosine of its last unit with the previous turn.
_TURN_WEIGHTS: dict[str, float] = {
    "bias": -1.315, "new_content": 0.913, "question_new_content": 0.598, "any_question": 1.094,
    "prev_any_question": -1.046, "proffer": 1.509, "anaphoric_question": -1.035, "gap": -2.728,
    "next_sim_prev": -1.068, "last_unit_sim_prev": -1.788,
}
_FEATURES = tuple(_TURN_WEIGHTS)
#: The F1-best cut-off on the fitting dialogues (``shift_threshold``).
_TURN_THRESHOLD = 0.28
#: Most words the shared vector table holds before it drops those it met in the text (keeping the
#: tokenizer's one-token words): a long corpus meets ever more rare words; 200,000 words of 64
#: float32 dimensions take 51 MB.
_MAX_WORDS = 200_000


def _normalise(phrase: str) -> str:
    """A matched phrase as the lexicon Matcher keys it: lower case, ASCII apostrophes, single spaces."""
    return _WS_RE.sub(" ", phrase.strip().lower().replace("\u2019", "'"))


def _trie(phrases: Iterable[str]) -> str:
    """A regex for the phrases, as a trie (branches start with different characters, so the engine
    tries one), each ending at a word edge: the lexicon Matcher's construction."""
    keys = {_normalise(p) for p in phrases if p.strip()}
    # Each character's regex, escaped once (not once per phrase it is in).
    units = {ch: re.escape(ch) for ch in set().union(*keys)} | {" ": r"\s+", "'": "['\u2019]"}
    return trie_pattern((list(map(units.__getitem__, p)) for p in keys), r"(?![\w'\u2019])") if keys else "(?!)"


_POSITIONS: list[int] = list(range(4096))


def _positions(n: int) -> list[int]:
    """0, 1, … (at least n of them), as a kept list: iterating it makes no new int objects."""
    if n > len(_POSITIONS):
        _POSITIONS.extend(range(len(_POSITIONS), 2 * n))
    return _POSITIONS


def _cue_keys(phrases: Iterable[str]) -> tuple[frozenset[str], frozenset[tuple[str, str]]] | None:
    """The first tokens (regex tokenizer, lower case) of the one-token cues and of the bare "you?"
    patterns, and the first two tokens of the longer ones, with typographic apostrophes too: a cue
    can only start at a token that starts such a token sequence. A pair is used only where the
    tokenizer always cuts the text as it cuts the cue (a word, a clitic, "?", "," or "!" second);
    else the first token alone. None when a cue does not start with a word."""
    from convmaint.nlp.regex_backend import tokenize

    one: set[str] = set()
    two: set[tuple[str, str]] = {("you", "?"), ("yourself", "?"), ("u", "?")}  # the bare patterns
    for phrase in phrases:
        toks = [t.lower() for t in tokenize(phrase)[0]]
        if not toks or not toks[0][:1].isalnum():
            return None
        first = {toks[0], toks[0].replace("'", "\u2019")}
        if len(toks) > 1 and (toks[1][:1].isalnum() or toks[1][:1] == "'" or toks[1] in ("?", ",", "!")):
            two.update((a, b) for a in first for b in {toks[1], toks[1].replace("'", "\u2019")})
        else:
            one.update(first)
    return frozenset(one), frozenset(two)


#: The tokenizer file whose vocabulary ``_vocab_words`` reads (``_load_wordllama`` loads it).
_TOKENIZER_FILE = ("tokenizers", "l2_supercat_tokenizer_config.json")


def _vocab_words(model: Any) -> tuple[list[str], Any, list[bool]]:
    """The words that are one token of the tokenizer's vocabulary (see ``_WordVectors._prefill``)
    by token id, their ids, and whether each is a content word.

    Listing them takes some 0.05 s (the vocabulary of 32,000 tokens, filtered and tested in
    Python), so they are kept in convmaint's per-user cache, keyed by the SHA-256 of the tokenizer
    file and of this module (which holds the listing and the content-word test), the stop words
    and convmaint's version; reading the entry takes about 1 ms.
    """
    import numpy as np

    from convmaint import _cache
    from convmaint._version import __version__

    key = None
    with contextlib.suppress(OSError, BackendError):
        raw = _wordllama_dir().joinpath(*_TOKENIZER_FILE).read_bytes()
        what = f"{__version__}\0{sorted(_STOP)}\0".encode() + Path(__file__).read_bytes()
        key = hashlib.sha256(what + b"\0" + raw).hexdigest()
        got = _cache.read("wordllama", key)
        # (an entry of another shape is a miss, as a damaged one is)
        if (isinstance(got, tuple) and len(got) == 3 and isinstance(got[0], list) and isinstance(got[1], bytes)
                and isinstance(got[2], bytes) and len(got[1]) == 8 * len(got[0]) == 8 * len(got[2])):
            return got[0], np.frombuffer(got[1], dtype=np.int64), list(map(bool, got[2]))
    vocab = model.tokenizer.get_vocab()
    # (Of the white space, only " " is printable.)
    pairs = sorted((i, w) for t, i in vocab.items()
                   if t[:1] == "\u2581" and (w := t[1:]) and w == w.lower() and w.isprintable()
                   and " " not in w and "\u2581" not in w)
    words = [w for _, w in pairs]
    token = np.asarray([i for i, _ in pairs], dtype=np.int64)
    content = [bool(_content_word(w)) for w in words]
    if key is not None:
        _cache.write("wordllama", key, (words, token.tobytes(), bytes(content)))
    return words, token, content


class _WordVectors:
    """Lower-case word -> row of a growing matrix: the sum of its WordLlama token embeddings.

    Shared by the detectors of a process that use the same ``dims`` (the model is read-only). Row 0
    is a zero vector. ``content`` tells, by row, whether its word is a content word (the parse
    detector's ``_content_word`` without POS, as in lite mode).
    """

    def __init__(self, dims: int) -> None:
        import numpy as np

        self.dims = dims
        self.model = _load_wordllama()
        self.index: dict[str, int] = {}
        self.content: list[bool] = [False]  # by row
        self.rows = np.zeros((1, dims), dtype=np.float32)
        self.size = 1
        self.pending: dict[str, int] = {}  # words entered without their rows computed: see add_new
        self._bpe = self._word_encoder()
        # The token embeddings cut to dims, contiguous: a new word's rows are gathered from here.
        self._token_rows = self.model.columns(dims)
        self._prefill()
        self.base = self.size  # the rows kept when the table starts afresh

    def _word_encoder(self) -> Any:
        """The tokenizer's BPE model, when it encodes a plain word exactly as the tokenizer encodes
        it (its normalizer only puts the word-start mark before the text and for each space; no
        pre-tokenizer): then a word's ids are its model's tokens of "▁" + word, with none of the
        tokenizer's per-call overhead (checked on a few words). Else None (the tokenizer is used)."""
        tok = self.model.tokenizer
        bpe = getattr(tok, "model", None)
        if not self.model.by_word or tok.pre_tokenizer is not None or not hasattr(bpe, "tokenize"):
            return None
        probe = ["zanzibarian", "n't", "'s", "222", "na\u00efve", "\U0001f600", "o'clock", "quokkas", "...", "x"]
        try:
            same = all([t.id for t in bpe.tokenize("\u2581" + w)] == tok.encode(w, add_special_tokens=False).ids for w in probe)
        except Exception:  # noqa: BLE001 (any surprise: use the tokenizer)
            same = False
        return bpe if same else None

    def _prefill(self) -> None:
        """Enter the words that are one token of the tokenizer's vocabulary (a lower-case token with
        the word-start mark, some 12,000): their vectors need no encoding, and they are most of the
        words of any English text. Checked on a sample against the tokenizer, else encoded."""
        words, token, content = _vocab_words(self.model)
        sample = words[::97]
        got, sizes = self.model.token_ids(sample)
        if sizes.tolist() == [1] * len(sample) and got == token[::97].tolist():
            self._add(words, self._token_rows[token], content)
        else:  # not the tokenizer this shortcut expects: encode them
            self.add(words)

    def reset_if_full(self) -> None:
        """Start afresh when full (only between conversations: row numbers must hold within one)."""
        if self.size > _MAX_WORDS:
            self.index = {w: r for w, r in self.index.items() if r < self.base}
            del self.content[self.base:]
            self.pending.clear()
            self.size = self.base

    def add(self, words: Iterable[str]) -> None:
        """Enter the words not met before, encoded by the tokenizer many at a time."""
        fresh = sorted(set(words).difference(self.index))
        if fresh:
            self.add_new(fresh)

    def add_new(self, fresh: list[str], vectors: bool = True) -> None:
        """Enter words not met before (distinct). Without ``vectors``, their rows are left for
        ``fill`` to compute when first needed (``pending``)."""
        if vectors:
            self._vectors(fresh, self._add(fresh))
        else:
            self.pending.update(zip(fresh, range(self.size, self.size + len(fresh))))
            self._add(fresh)

    def fill(self, words: Iterable[str]) -> None:
        """Compute the rows of the pending words among ``words``."""
        import numpy as np

        pending = self.pending
        todo = sorted(set(words).intersection(pending))
        if todo:
            block = np.empty((len(todo), self.dims), dtype=np.float32)
            self._vectors(todo, block)
            self.rows[[pending.pop(w) for w in todo]] = block

    def _vectors(self, fresh: list[str], block: Any) -> None:
        """Fill ``block`` with the words' vectors."""
        import numpy as np

        per = self._encode(fresh)
        table = self._token_rows
        ids = list(chain.from_iterable(per))
        sizes = list(map(len, per))
        if not ids:
            block[:] = 0.0
            return
        if max(ids) >= len(table):  # (not expected: the model has a row for each token)
            ids = [min(t, len(table) - 1) for t in ids]
        if 0 not in sizes:
            np.add.reduceat(table[ids], list(accumulate(sizes[:-1], initial=0)), axis=0, out=block)
            return
        block[:] = 0.0
        some = [k for k, n in enumerate(sizes) if n]
        block[some] = np.add.reduceat(table[ids], list(accumulate((sizes[k] for k in some[:-1]), initial=0)), axis=0)

    def _encode(self, words: list[str]) -> list[list[int]]:
        """The tokenizer's ids for each word. Plain words (no space, no word-start mark, no special
        token: encoded alone as within a text) by the BPE model (``_word_encoder``),
        or else as one text told apart by their first tokens, the only ones starting with the
        word-start mark (as ``_WordLlama._encode`` of the parse detector does); the rest, and any
        surprise, by ``_WordLlama.token_ids``."""
        model = self.model
        out: dict[str, list[int]] = {}
        plain = [w for w in words if " " not in w and "\u2581" not in w and not ("<" in w and _SPECIAL_RE.search(w))] \
            if model.by_word else []
        if plain and self._bpe is not None:
            tokenize = self._bpe.tokenize
            got = [[t.id for t in tokenize("\u2581" + w)] for w in plain]
            if len(plain) == len(words):
                return got
            out = dict(zip(plain, got))
        elif plain:
            enc = model.tokenizer.encode(" ".join(plain), add_special_tokens=False)
            ids = enc.ids
            cuts = [k for k, t in enumerate(enc.tokens) if t[:1] == "\u2581"]
            if len(cuts) == len(plain) and cuts[:1] == [0]:
                cuts.append(len(ids))
                out = {w: ids[a:b] for w, a, b in zip(plain, cuts, cuts[1:])}
        rest = [w for w in words if w not in out]
        if rest:
            ids, sizes = model.token_ids(rest)
            at = 0
            for w, n in zip(rest, sizes.tolist()):
                out[w] = ids[at:at + n]
                at += n
        return [out[w] for w in words]

    def _add(self, fresh: list[str], block: Any = None, content: Iterable[bool] | None = None) -> Any:
        """Enter new words with their vectors (``block``), or return their rows to fill; ``content``
        gives their content-word flags when known."""
        import numpy as np

        old, need = self.size, self.size + len(fresh)
        if need > len(self.rows):
            # (Rows past ``size`` are never read: a new array need not be zeroed. Room for
            # 32,768 more words: most runs never grow the table again.)
            cap = max(need + 32768, 2 * len(self.rows))
            rows = np.empty((cap, self.dims), dtype=np.float32)
            rows[:old] = self.rows[:old]
            self.rows = rows
        if block is not None:
            self.rows[old:need] = block
        self.index.update(zip(fresh, range(old, need)))
        self.content.extend((bool(_content_word(w)) for w in fresh) if content is None else content)
        self.size = need
        return self.rows[old:need]


_TABLES: dict[int, _WordVectors] = {}


def _word_vectors(dims: int) -> _WordVectors:
    table = _TABLES.get(dims)
    if table is None:
        table = _TABLES[dims] = _WordVectors(dims)
    return table


#: A turn's units: their character spans, token ranges and question flags.
_Units = tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...], tuple[bool, ...]]


class _Scan:
    """What one pass over a conversation's turns found: lists by turn, by token of the whole
    conversation (turn i's tokens are ``off[i]`` up to ``off[i + 1]``), or by unit in conversation
    order (the units of turn i are ``tfirst[i]`` up to ``tfirst[i + 1]``). A turn's units (their
    spans, token ranges and question flags) are worked out when first needed (``_units``)."""

    __slots__ = (
        "content",
        "cwords",
        "dyad",
        "flat",
        "hits",
        "idl",
        "ids",
        "last_asks",
        "last_cut",
        "lower",
        "mirror",
        "n",
        "off",
        "openers",
        "parsed",
        "qforce",
        "speakers",
        "texts",
        "tfirst",
        "tunits",
        "turn_asks",
        "uturn",
        "vectors",
    )

    def __init__(self, n: int) -> None:
        self.n = n
        self.texts: list[str] = []
        self.parsed: Sequence[ParsedTurn] = ()
        self.lower: list[Sequence[str]] = []  # per turn: its lower-case tokens
        self.off: list[int] = []  # per turn and one more: where its tokens start among all
        self.flat: list[str] = []  # per token: its lower-case form
        self.idl: list[int] = []  # per token: its word-vector row
        self.ids: Any = None  # the same as a numpy array, with one more (row 0, the zero vector); see _ids
        self.cwords: tuple[list[int], list[int]] | None = None  # see _cwords
        self.vectors = True  # whether the new words' vectors are computed in the scan
        self.speakers: list[str] = []  # per turn
        self.dyad = True  # whether at most two speakers talk
        self.content: list[set[int] | None] = []  # per turn: its content words (rows), once needed; see _content
        self.tfirst: list[int] = []
        self.uturn: list[int] = []  # per unit: its turn
        # per turn: its units' spans, token ranges and question flags, once needed; see _units
        self.tunits: list[_Units | None] = []
        self.turn_asks: list[bool] = []  # per turn: whether some unit is a question
        self.last_asks: list[bool] = []  # per turn: whether its last unit is one
        self.last_cut: list[int] = []  # per turn: the token its last unit starts at
        self.hits: dict[int, list[tuple[int, Match, bool, bool]]] = {}  # turn -> (unit, match, initial, final)
        self.qforce: set[int] = set()  # units that a topic-proffering frame makes questions
        self.openers: list[int] = []  # units that may start with an opener ("okay so")
        self.mirror: list[int] = []  # questions after a turn's first unit, with "you" early on


@register_detector
class FastTopicDetector(Detector):
    """Finds topic moves in fast mode: shifts, hand-offs, resumptions and closings.

    Args:
        lexicons: Loaded lexicons; uses ``topic_markers`` and ``handoff`` (and the phrases of
            ``backchannels``, when loaded, to tell acknowledgements).
        mode: ``fast`` only.
        shift_threshold: Turn-path probability from which a turn introduces a new topic; 0.28
            (the F1-best cut-off on TIAGE train).
        marker_threshold: Unit-path probability from which a marked or opener-initial unit is a
            topic shift; 0.07 (the parse detector's).
        context_turns: How many preceding turns form the context whose content words are not new; 3.
        dims: Leading dimensions of the WordLlama embeddings used for cohesion; 64 (fewer lose F1
            on TIAGE train under cross-validation, more gain none).
        cohesion_window: Content words on each side of a cued unit for the unit path's cohesion; 60.
        resume_gap: Turns just before a resumption that cannot be its target (the digression); 2.
        resume_window: Turns before a resumption among which its target is sought; 100 (the
            parse detector looks at all).
        stepwise_overlap: Content words a new topic must share with the context to count as
            ``stepwise`` rather than ``disjunctive``; 1.
        close_max_words: Longest last unit of a turn in which a unit-initial "so yeah" still closes
            the topic; 8.

    Example:
        >>> from convmaint.pipeline import Annotator
        >>> ann = Annotator.create(["topic"], mode="fast")  # doctest: +SKIP
    """

    name = "topic"
    version = 1
    engine = "scan"
    labels = (SHIFT, HANDOFF, RESUME, CLOSE)
    requires = frozenset({"tokens", "sents"})
    order = 30

    def __init__(
        self,
        *,
        lexicons: LexiconSet,
        mode: Mode = "fast",
        shift_threshold: float = _TURN_THRESHOLD,
        marker_threshold: float = 0.07,
        context_turns: int = 3,
        dims: int = 64,
        cohesion_window: int = 60,
        resume_gap: int = 2,
        resume_window: int = 100,
        stepwise_overlap: int = 1,
        close_max_words: int = 8,
    ) -> None:

        super().__init__(lexicons=lexicons, mode=mode)
        if not 1 <= int(dims) <= 256:
            raise ConfigError(f"topic detector: dims must be between 1 and 256, got {dims!r}")
        self.shift_threshold = float(shift_threshold)
        self.marker_threshold = float(marker_threshold)
        self.context_turns = max(1, int(context_turns))
        self.dims = int(dims)
        self.cohesion_window = int(cohesion_window)
        self.resume_gap = int(resume_gap)
        self.resume_window = max(1, int(resume_window))
        self.stepwise_overlap = int(stepwise_overlap)
        self.close_max_words = int(close_max_words)
        entries = [e for i in ("topic_markers", "handoff", "backchannels") if i in lexicons for e in lexicons[i].entries]
        phrases = [e for e in entries if e.match == "phrase"]

        def pats(labels: frozenset[str]) -> list[str]:
            return [str(e.pattern) for e in phrases if e.label in labels]

        # The cues, by normalised phrase, and one regex for all of them over a conversation's
        # lower-case text: the phrases' trie, and the handoff lexicon's token patterns ("…, you?"
        # after punctuation, unit-final; "you?" alone) as the group "bare".
        self._cue_entries: dict[str, list[Entry]] = {}
        for e in phrases:
            if e.label in _CUE_LABELS:
                self._cue_entries.setdefault(_normalise(str(e.pattern)), []).append(e)
        tok = [e for e in entries if e.match == "token" and e.label == HANDOFF]
        self._bare_after = next((e for e in tok if e.attributes.get("position") == "final"), None)
        self._bare_alone = next((e for e in tok if e.attributes.get("position") == "alone"), None)
        # A cue starts after a character that is no word character, apostrophe or hyphen, which the
        # pattern consumes (the text gets one in front): a pattern that starts with a set of
        # characters lets the engine skip the letters between words without trying a match there
        # (the set is ASCII, fast to test; a non-ASCII word character is turned away after it).
        self._cue_rx = _regex.compile(r"[^a-z0-9_'\u2019-](?<![^\x00-\x7f\W])(?P<cue>(?P<bare>(?:you|yourself|u)\s*\?)|"
                                  + _trie(self._cue_entries) + ")")
        self._cue_rx_any = _regex.compile(self._cue_rx.pattern, re.IGNORECASE)  # for text whose case folding moves offsets
        self._cue_keys = _cue_keys(self._cue_entries)
        # Position tests on the text before / after a hit: only skippable phrases and punctuation.
        # (Possessive: each step consumes a whole phrase, a character of punctuation or of space.)
        self._skip_rx = _regex.compile(rf"(?:\s|[^\w\s]|{_trie(pats(_SKIP_LABELS))})*+", re.IGNORECASE)
        self._ack_rx = _regex.compile(rf"(?:\s|[^\w\s]|{_trie(pats(_ACK_LABELS))})*+", re.IGNORECASE)
        openers = pats(frozenset({_OPENER}))
        self._opener_rx = _regex.compile(rf"(?<![\w'\u2019-]){_trie(openers)}", re.IGNORECASE) if openers else None
        # A unit can open with an opener only if its first token starts a skippable phrase and an
        # opener's word is among its tokens.
        self._skip_first = frozenset(_normalise(p).split(" ")[0].split("'")[0] for p in pats(_SKIP_LABELS))
        self._opener_words = frozenset(w for p in openers for w in _normalise(p).split(" "))
        self._particles = frozenset(_normalise(p) for p in pats(frozenset({_PARTICLE})) if " " not in p.strip())
        self._qstart = _QSTART | self._particles
        self._weights = list(_TURN_WEIGHTS.values())
        self._scratch = threading.local()
        # Loaded now, once per process (shared by the detectors with the same dims), rather than
        # inside the first conversation.
        self._table = _word_vectors(self.dims)

    # -------------------------------------------------------------------------- the scan

    def _scan(self, conv: Conversation, parsed: Sequence[ParsedTurn]) -> _Scan:
        """One pass over the turns: word rows, per-turn question facts, cues and opener candidates.

        A turn's units are its source segments (``units``) or else its sentences. Sentence units
        are not built here: the scan needs only their number and the first token of each (from
        ``sent_starts``), and ``_units`` builds them for the few turns that need more.
        """
        table = self._table
        table.reset_if_full()
        turns = conv.turns
        n = len(turns)
        sc = _Scan(n)
        sc.parsed = parsed
        # Word vectors are wanted by the turn path (two-party talk); else only for a resumption's
        # target (computed then: see _resume_target).
        speakers = sc.speakers = list(map(_SPEAKER, turns))
        sc.dyad = len(set(speakers)) <= 2
        sc.vectors = n > 1 and sc.dyad
        texts = sc.texts = list(map(_TEXT, turns))
        lower = sc.lower = list(map(_LOWER, parsed))
        sc.off = list(accumulate(map(len, lower), initial=0))
        flat = sc.flat = list(chain.from_iterable(lower))
        index = table.index
        idl = sc.idl = list(map(index.get, flat))
        if None in idl:  # words not met before: entered all at once
            at = []
            k = -1
            with contextlib.suppress(ValueError):
                while True:
                    k = idl.index(None, k + 1)
                    at.append(k)
            table.add_new(sorted({flat[k] for k in at}), vectors=sc.vectors)
            for k in at:
                idl[k] = index[flat[k]]
        if sc.vectors and table.pending and not table.pending.keys().isdisjoint(flat):
            table.fill(flat)
        sc.content = [None] * n
        sc.tunits = [None] * n
        counts: list[int] = []
        turn_asks, last_asks, last_cut, openers = sc.turn_asks, sc.last_asks, sc.last_cut, sc.openers
        qstart, word_order, skip_first, opener_words = self._qstart, self._word_order, self._skip_first, self._opener_words
        segmented = list(map(_SEGMENTS, turns))
        if any(segmented) or not all("sents" in a for a in set(map(_ANNOTATIONS, parsed))):
            odd = [bool(seg) or "sents" not in p.annotations for seg, p in zip(segmented, parsed)]
        else:
            odd = None
        u0 = 0  # the turn's first unit
        for i, (lw, text, p) in enumerate(zip(lower, texts, parsed)):
            ss = p.sent_starts
            if not lw or not ss or ss[0] or (odd is not None and odd[i]):
                k = len(self._segment_units(sc, i, turns[i], p, u0)[0])
                counts.append(k)
                u0 += k
                continue
            k = len(ss)
            counts.append(k)
            if k == 1:  # the unit is the whole turn
                w0 = lw[0]
                q = "?" in text or (w0 in qstart and word_order(lw, 0, len(lw)))
                turn_asks.append(q)
                last_asks.append(q)
                last_cut.append(0)
                if w0 in skip_first and u0 and not opener_words.isdisjoint(lw):
                    openers.append(u0)
                u0 += 1
                continue
            c = ss[-1]
            asks = "?" in text
            n_tok = len(lw)
            q = (asks and text.find("?", p.starts[c]) >= 0) or (lw[c] in qstart and word_order(lw, c, n_tok))
            last_asks.append(q)
            last_cut.append(c)
            if not (asks or q) and not qstart.isdisjoint(map(lw.__getitem__, ss)):
                q = True in [lw[t0] in qstart and word_order(lw, t0, t1) for t0, t1 in pairwise(ss)]
            turn_asks.append(asks or q)
            # Units that may open with an opener, or mirror the partner's question (a question after
            # the turn's first unit with "you" early on).
            if not opener_words.isdisjoint(lw) and not skip_first.isdisjoint(map(lw.__getitem__, ss)):
                for j, (t0, t1) in enumerate(zip(ss, (*ss[1:], n_tok))):
                    if lw[t0] in skip_first and u0 + j and not opener_words.isdisjoint(lw[t0:t1]):
                        openers.append(u0 + j)
            if (asks or q) and not _SECOND.isdisjoint(lw):
                starts, words = p.starts, p.words
                for j in range(1, k):
                    t0 = ss[j]
                    if not _SECOND.isdisjoint(lw[t0:t0 + 6]):
                        t1 = ss[j + 1] if j + 1 < k else n_tok
                        if (asks and text.find("?", starts[t0], starts[t1 - 1] + len(words[t1 - 1])) >= 0) or (
                                lw[t0] in qstart and word_order(lw, t0, t1)):
                            sc.mirror.append(u0 + j)
            u0 += k
        sc.tfirst = list(accumulate(counts, initial=0))
        sc.uturn = list(chain.from_iterable(map(repeat, range(n), counts)))
        self._find_cues(sc, texts)
        return sc

    def _units(self, sc: _Scan, i: int) -> _Units:
        """Turn ``i``'s units: their character spans, token ranges and question flags.

        Sentence units come from ``sent_starts`` and the token offsets: the spans ``units`` gives
        (the regex tokenizer's tokens hold no white space, so a sentence's span runs from its first
        token's start to its last token's end). A unit is a question when it has a "?" or
        question word order.
        """
        got = sc.tunits[i]
        if got is not None:
            return got
        p, lw, text = sc.parsed[i], sc.lower[i], sc.texts[i]
        starts, words = p.starts, p.words
        n_tok = len(lw)
        if sc.last_cut[i] == 0:  # one unit
            got = sc.tunits[i] = (((starts[0], starts[-1] + len(words[-1])),), ((0, n_tok),), (sc.turn_asks[i],))
            return got
        spans: list[tuple[int, int]] = []
        toks: list[tuple[int, int]] = []
        qs: list[bool] = []
        asks = "?" in text
        qstart, word_order = self._qstart, self._word_order
        t0 = 0
        for t1 in (*p.sent_starts[1:], n_tok):
            s, e = starts[t0], starts[t1 - 1] + len(words[t1 - 1])
            spans.append((s, e))
            toks.append((t0, t1))
            qs.append((asks and text.find("?", s, e) >= 0) or (lw[t0] in qstart and word_order(lw, t0, t1)))
            t0 = t1
        # (Tuples: the collector stops tracking tuples of numbers, lists it tracks for good.)
        got = sc.tunits[i] = (tuple(spans), tuple(toks), tuple(qs))
        return got

    def _segment_units(self, sc: _Scan, i: int, turn: Any, p: ParsedTurn,
                       u0: int) -> _Units:
        """The units of turn ``i`` (its first unit ``u0``) from ``units``: source segments, and the
        odd turn without tokens or sentence starts; with the scan's facts about the turn."""
        us = units(turn, p)
        lw, text = sc.lower[i], sc.texts[i]
        asks = "?" in text
        qstart, word_order, skip_first, opener_words = self._qstart, self._word_order, self._skip_first, self._opener_words
        spans: list[tuple[int, int]] = []
        toks: list[tuple[int, int]] = []
        qs: list[bool] = []
        if len(us) == 1 and not turn.segments:  # the unit is the whole turn
            spans.append(us[0])
            toks.append((0, len(lw)))
            qs.append(asks or (bool(lw) and lw[0] in qstart and word_order(lw, 0, len(lw))))
            if u0 and lw and lw[0] in skip_first and not opener_words.isdisjoint(lw):
                sc.openers.append(u0)
        else:
            starts = p.starts
            for j, (s, e) in enumerate(us):
                t0, t1 = bisect_left(starts, s), bisect_left(starts, e)
                spans.append((s, e))
                toks.append((t0, t1))
                q = (asks and text.find("?", s, e) >= 0) or (t0 < t1 and lw[t0] in qstart and word_order(lw, t0, t1))
                qs.append(q)
                if t0 < t1 and u0 + j:
                    if lw[t0] in skip_first and not opener_words.isdisjoint(lw[t0:t1]):
                        sc.openers.append(u0 + j)
                    if q and j and not _SECOND.isdisjoint(lw[t0:t0 + 6]):
                        sc.mirror.append(u0 + j)
        sc.turn_asks.append(True in qs)
        sc.last_asks.append(bool(qs) and qs[-1])
        sc.last_cut.append(toks[-1][0] if toks else len(lw))
        sc.tunits[i] = got = (tuple(spans), tuple(toks), tuple(qs))
        return got


    def _word_order(self, lw: Sequence[str], t0: int, t1: int) -> bool:
        """Question word order after any leading particles: "do you…", "so what is your…"."""
        parts = self._particles
        j = t0
        while j < t1 and (lw[j] in parts or not lw[j][:1].isalnum()):
            j += 1
        return j < t1 and lw[j] in _QSTART and not _SUBJ.isdisjoint(lw[j + 1:j + 4])

    def _lead(self, lw: Sequence[str], t0: int, t1: int) -> list[str]:
        """The unit's first four words after any leading particles (punctuation left out)."""
        out: list[str] = []
        parts = self._particles
        for w in lw[t0:min(t1, t0 + 10)]:
            if not (w[:1].isalnum() or w[:1] == "'"):
                continue
            if not out and w in parts:
                continue
            out.append(w)
            if len(out) == 4:
                break
        return out

    def _find_cues(self, sc: _Scan, texts: list[str]) -> None:
        """The lexicon cues of all turns: the cue pattern, tried where a cue can start (see below), or
        searched over the conversation's lower-case text."""
        joined = _SEP.join(texts)
        found: list[tuple[int, Any]] = []
        offsets = list(map(add, accumulate(map(len, texts), initial=0), count()))
        if self._cue_keys is not None:
            # Where a cue can start: at a token that is a one-token cue's first, or a pair of tokens
            # that is a longer cue's first two (C-level set lookups over the conversation's tokens;
            # a few per cent of the tokens). The pattern is tried there only (ignoring case: no
            # lower-case copy of the text), in text order, as a search over the text would find the
            # cues (none inside the one before).
            flat = sc.flat
            one, two = self._cue_keys
            pos = _positions(len(flat))
            at = list(compress(pos, map(two.__contains__, zip(flat, islice(flat, 1, None)))))
            if not one.isdisjoint(flat):  # (one-token cues are rare words)
                at = sorted(at + list(compress(pos, map(one.__contains__, flat))))
            if not at:
                return
            text = _SEP + joined
            match, off, parsed = self._cue_rx_any.match, sc.off, sc.parsed
            done = 0
            for k in at:
                i = bisect_right(off, k) - 1
                x = offsets[i] + parsed[i].starts[k - off[i]]  # (the cue's character before it, in text)
                if x >= done:
                    m = match(text, x)
                    if m is not None:
                        found.append((i, m))
                        done = m.end() - 1
        else:  # (the cues cannot be told by their first tokens: search the text)
            low = _SEP + joined.lower()
            if len(low) != len(joined) + 1:  # case folding moved offsets: search the turns one by one
                offsets = [0] * len(texts)
                for i, t in enumerate(texts):
                    search = self._cue_rx_any.search
                    m = search(_SEP + t)
                    while m is not None:
                        found.append((i, m))
                        m = search(m.string, m.end() - 1)  # (the match may end with the next one's separator)
            else:
                search = self._cue_rx.search
                m = search(low)
                while m is not None:
                    found.append((bisect_right(offsets, m.start("cue") - 1) - 1, m))
                    m = search(low, m.end() - 1)
        skip = self._skip_rx.fullmatch
        tfirst = sc.tfirst
        for i, m in found:
            text, off = texts[i], offsets[i] + 1
            start, end = m.start("cue") - off, m.end() - off
            got = sc.tunits[i]
            if got is not None:
                k = bisect_right(got[0], (start, len(text) + 1)) - 1
            else:  # (a sentence starts at its first token)
                p = sc.parsed[i]
                k = bisect_right(list(map(p.starts.__getitem__, p.sent_starts)), start) - 1
            if k < 0:
                continue
            u = tfirst[i] + k
            s, e = self._span(sc, u)
            if end > e:
                continue
            final = skip(text, end, e) is not None
            hits = sc.hits.setdefault(i, [])
            if m.start("bare") >= 0:  # the handoff lexicon's token patterns: "…, you?" and "you?" alone
                before = text[s:start].rstrip()
                if (self._bare_after is not None and before and not before[-1].isalnum()
                        and before[-1] not in "'\u2019" and final):
                    hits.append((u, Match(s + len(before) - 1, end, self._bare_after), False, True))
                elif self._bare_alone is not None and skip(text, s, start) is not None:
                    hits.append((u, Match(start, end, self._bare_alone), True, final))
                continue
            initial = skip(text, s, start) is not None
            key = m.group("cue")
            for entry in self._cue_entries.get(key) or self._cue_entries.get(_normalise(key), ()):
                hits.append((u, Match(start, end, entry), initial, final))
                if entry.label == _PROFFER and initial:  # a topic-proffering frame makes a question
                    sc.qforce.add(u)
                    sc.turn_asks[i] = True
                    if u == tfirst[i + 1] - 1:
                        sc.last_asks[i] = True
        for i, hs in list(sc.hits.items()):
            if hs:
                hs.sort(key=lambda h: (h[1].start, -h[1].end))
            else:
                del sc.hits[i]

    @staticmethod
    def _positioned(m: Match, initial: bool, final: bool, wrap_up: bool = False) -> bool:
        """Whether a hit stands where its entry's ``position`` wants it (see the topic_markers lexicon)."""
        pos = m.entry.attributes.get("position", "any")
        return (pos == "any" or (pos == "initial" and initial) or (pos == "final" and final)
                or (pos == "alone" and initial and final) or (pos == "closing" and (final or (initial and wrap_up))))

    # A unit's facts, from its turn's units when they are built, else from its sentence.

    def _toks(self, sc: _Scan, u: int) -> tuple[int, int]:
        """Unit ``u``'s tokens in its turn."""
        i = sc.uturn[u]
        got = sc.tunits[i]
        if got is not None:
            return got[1][u - sc.tfirst[i]]
        ss = sc.parsed[i].sent_starts
        k = u - sc.tfirst[i] + 1
        return ss[k - 1], (ss[k] if k < len(ss) else len(sc.lower[i]))

    @staticmethod
    def _span(sc: _Scan, u: int) -> tuple[int, int]:
        """Unit ``u``'s characters in its turn."""
        i = sc.uturn[u]
        got = sc.tunits[i]
        k = u - sc.tfirst[i]
        if got is not None:
            return got[0][k]
        p = sc.parsed[i]
        ss = p.sent_starts
        t1 = ss[k + 1] - 1 if k + 1 < len(ss) else len(p.words) - 1  # (the last token)
        return p.starts[ss[k]], p.starts[t1] + len(p.words[t1])

    def _asks(self, sc: _Scan, u: int) -> bool:
        """Whether unit ``u`` is a question."""
        if u in sc.qforce:
            return True
        i = sc.uturn[u]
        got = sc.tunits[i]
        if got is not None:
            return got[2][u - sc.tfirst[i]]
        t0, t1 = self._toks(sc, u)
        s, e = self._span(sc, u)
        lw = sc.lower[i]
        return sc.texts[i].find("?", s, e) >= 0 or (lw[t0] in self._qstart and self._word_order(lw, t0, t1))

    def _anaphoric(self, sc: _Scan, u: int) -> bool:
        """Whether unit ``u`` points back at the prior talk (a pronoun after its first word)."""
        t0, t1 = self._toks(sc, u)
        return not _ANAPHOR.isdisjoint(sc.lower[sc.uturn[u]][t0 + 1:t1])

    def _ids(self, sc: _Scan) -> Any:
        """The word rows of all tokens, and one more (row 0, the zero vector), as a numpy array."""
        import numpy as np

        if sc.ids is None:
            idl = sc.idl
            sc.ids = np.fromiter(chain(idl, (0,)), dtype=np.intp, count=len(idl) + 1)
        return sc.ids

    def _cwords(self, sc: _Scan) -> tuple[list[int], list[int]]:
        """The content words (rows) of all tokens in order, and per token how many come before it
        (one more entry: all of them); computed on first use."""
        if sc.cwords is None:
            idl = sc.idl
            # Each token's flag: one C-level pass (an itemgetter of one item gives no tuple).
            cf = itemgetter(*idl)(self._table.content) if len(idl) > 1 else [self._table.content[r] for r in idl]
            sc.cwords = (list(compress(idl, cf)), list(accumulate(cf, initial=0)))
        return sc.cwords

    def _unit_content(self, sc: _Scan, u: int) -> list[int]:
        """The content words (rows) of unit ``u``'s tokens, in order."""
        t0, t1 = self._toks(sc, u)
        o = sc.off[sc.uturn[u]]
        cids, cpos = self._cwords(sc)
        return cids[cpos[o + t0]:cpos[o + t1]]

    def _content(self, sc: _Scan, first: int = 0, stop: int | None = None) -> list[set[int]]:
        """The content words (rows) of turns ``first`` up to ``stop`` (all by default), each found
        on first use."""
        content = sc.content
        stop = sc.n if stop is None else stop
        if None in content[first:stop]:
            cids, cpos = self._cwords(sc)
            if first == 0 and stop == sc.n and content.count(None) == sc.n:
                at = list(map(cpos.__getitem__, sc.off))
                content[:] = [set(cids[a:b]) for a, b in pairwise(at)]
            else:
                off = sc.off
                for i in range(first, stop):
                    if content[i] is None:
                        content[i] = set(cids[cpos[off[i]]:cpos[off[i + 1]]])
        return content[first:stop] if first or stop != sc.n else content  # type: ignore[return-value]

    def _n_words(self, sc: _Scan, u: int) -> int:
        """The words of unit ``u``, as white space separates them."""
        s, e = self._span(sc, u)
        return len(sc.texts[sc.uturn[u]][s:e].split())

    # -------------------------------------------------------------------------- turn path

    def _turn_path(self, conv: Conversation, sc: _Scan, cutoff: float | None = None) -> tuple[list[int], list[Any]]:
        """The candidate turns and their features (a tuple each, in the order of ``_FEATURES``
        without the bias); ``([], [])`` when the path does not run. With a ``cutoff`` on the
        logit, only the turns that reach it, and their logits instead of the features.

        The cheap features and the logit come from one Python pass over the turns; the cohesion
        features from the dot products of the turns' vectors (``_cohesion``).
        """
        n = sc.n
        if n < 2 or not sc.dyad:
            return [], []
        k = self.context_turns
        content, lower, tfirst, last_cut, turn_asks, last_asks = (self._content(sc), sc.lower, sc.tfirst, sc.last_cut,
                                                                  sc.turn_asks, sc.last_asks)
        cids, cpos = self._cwords(sc)
        off = sc.off
        # (The units with a unit-initial topic-proffering frame are those the scan made questions.)
        proffers = {sc.uturn[u] for u in sc.qforce if not self._anaphoric(sc, u)}
        roles = list(map(_ROLE, conv.turns))
        model = [r is Role.MODEL for r in roles] if Role.MODEL in roles else [False] * n
        bias, w_new, w_qnew, w_any, w_prev, w_prof, w_ana, w_gap, w_next, w_last = self._weights
        gaps, next_sims, last_sims = self._cohesion(sc)
        cand: list[int] = []
        out: list[Any] = []
        for i in range(1, n):
            # Not the first turn, nor a language model's (it answers the user's; it opens a topic
            # only with a marker: unit path); and some content word the context lacks (none:
            # nothing new to talk about, "oh really?").
            mine = content[i]
            if not mine or tfirst[i] == tfirst[i + 1] or model[i]:
                continue
            ctx = content[i - k if i > k else 0:i]
            new = len(mine.difference(*ctx))
            if not new:
                continue
            ana = qnew = False
            if last_asks[i]:
                cut = last_cut[i]
                ana = not _ANAPHOR.isdisjoint(lower[i][cut + 1:])
                # (one unit: its new words are the turn's; several: those of the last)
                if cut:
                    qnew = bool(set(cids[cpos[off[i] + cut]:cpos[off[i + 1]]]).difference(*ctx))
                else:
                    qnew = True
            nc = min(new, 6) / 6
            if cutoff is None:
                cand.append(i)
                out.append((nc, qnew, turn_asks[i], turn_asks[i - 1], i in proffers, ana, gaps[i], next_sims[i], last_sims[i]))
                continue
            z = bias + (w_new * nc + w_qnew * qnew + w_any * turn_asks[i] + w_prev * turn_asks[i - 1] + w_prof * (i in proffers)
                        + w_ana * ana + w_gap * gaps[i] + w_next * next_sims[i] + w_last * last_sims[i])
            if z >= cutoff:
                cand.append(i)
                out.append(z)
        return cand, out

    def _cohesion(self, sc: _Scan) -> tuple[list[float], list[float], list[float]]:
        """The turn path's cohesion features by turn i, from the cosines of the turns' summed word
        vectors: TextTiling's gap at i, the cosine of turn i + 1 with turn i - 1 (0.5 for the last
        turn) and of turn i's last unit with turn i - 1. (The cosines are first listed by padded
        turn j, turn j - 2, with two zero turns before the first and after the last: whether the
        turn has a vector, ``one``, and its cosines with turns j + 1, j + 2 and j + 3.)

        One gather and one ``reduceat`` sum each turn's word rows before its last unit and in
        it; the dot products come from the Gram matrix of the turns' and last units' vectors (a
        cached index, ``_gram_index``, picks them), or for long talk from row-wise products; the
        cosines from them in Python. (Few numpy calls: on small arrays, each costs more than its
        arithmetic.)
        """
        import numpy as np

        n = sc.n
        ids = self._ids(sc)
        off, cuts = sc.off, sc.last_cut
        # Where each run of word rows starts (before the last unit, the last unit, by turn), and
        # the runs that are empty (a one-unit turn has nothing before its last unit).
        last = list(map(add, off, cuts))
        at = list(chain.from_iterable(zip(off, last)))
        at.append(len(sc.idl))  # and a last run: the zero row that ends ``ids``
        empty = list(compress(range(0, 2 * n, 2), map(not_, cuts)))
        empty += compress(range(1, 2 * n, 2), map(eq, last, islice(off, 1, None)))
        # The rows go to a kept buffer (a fresh array this size would be fresh pages of memory),
        # in "clip" mode as every row number is in range ("raise" makes take copy ``out`` first);
        # array methods and ufuncs are called, not numpy's Python-level wrappers of them.
        rows = self._table.rows.take(ids, axis=0, out=self._buffer(len(ids)), mode="clip")
        if self.dims % 2:  # (an odd number of floats cannot be viewed as pairs)
            R = np.add.reduceat(rows, at, axis=0)
        else:  # summed as pairs of floats: half the steps
            R = np.add.reduceat(rows.view(np.complex64), at, axis=0).view(np.float32)
        if empty:
            R[empty] = 0.0  # (an empty run's "sum" is the row it starts at)
        if n <= _GRAM_TURNS:  # a turn is its two runs: its products are sums of four of the runs'
            idx, parts = _gram_index(n)
            got = np.add.reduce((R @ R.T).take(idx), axis=0).tolist()  # (take: of the flat matrix)
            tt, t1, t2, t3, ll, lp = [got[a:b] for a, b in parts]
        else:  # row-wise: a Gram matrix grows with the square of the turns
            L = R[1:-1:2]
            T = R[0:-1:2] + L
            tt, t1, t2, t3, ll, lp = (np.einsum("ij,ij->i", a, b).tolist() for a, b in (
                (T, T), (T[:-1], T[1:]), (T[:-2], T[2:]), (T[:-3], T[3:]), (L, L), (L[1:], T[:-1])))
        sqrt = math.sqrt
        inv = [1.0 / sqrt(x) if x > 0 else 0.0 for x in tt]
        pad = [0.0, 0.0]
        one = pad + [x > 0 for x in tt] + pad
        c1 = pad + [d * a * b for d, a, b in zip(t1, inv, islice(inv, 1, None))] + pad + pad
        c2 = pad + [d * a * b for d, a, b in zip(t2, inv, islice(inv, 2, None))] + pad
        c3 = pad + [d * a * b for d, a, b in zip(t3, inv, islice(inv, 3, None))] + pad
        cl = [0.0] + [d * a / sqrt(x) if x > 0 else 0.0 for d, a, x in zip(lp, inv, islice(ll, 1, None))]
        # By padded turn j: the squared norm of turns j - 2 and j - 1 with their vectors normalised.
        block = [a + b + 2 * c for a, b, c in zip(one, islice(one, 1, None), c1)]
        # By turn i: TextTiling's gap, the two turns before (i - 2, i - 1) against this one and
        # the next (i, i + 1).
        gap = [(a + b + c + d) / sqrt(den) if (den := x * y) > 0 else 0.0 for a, b, c, d, x, y in zip(
            c2, c3, islice(c1, 1, None), islice(c2, 1, None), block, islice(block, 2, None))]
        return gap, c2[1:n] + [0.5], cl

    def _buffer(self, n_rows: int) -> Any:
        """A scratch array of ``n_rows`` rows of ``dims`` floats, kept per thread and reused."""
        import numpy as np

        buf = getattr(self._scratch, "rows", None)
        if buf is None or len(buf) < n_rows:
            buf = self._scratch.rows = np.empty((max(n_rows, 4096), self.dims), dtype=np.float32)
        return buf[:n_rows]

    def shift_features(self, conv: Conversation, parsed: Sequence[ParsedTurn]) -> tuple[list[int], Any]:
        """The turn path's candidate turns and their features (a row each, columns as
        ``_FEATURES``), for inspection and refitting."""
        import numpy as np

        cand, rows = self._turn_path(conv, self._scan(conv, parsed))
        return cand, np.asarray([(1.0, *r) for r in rows]).reshape(len(rows), len(_FEATURES))

    def _introducing_unit(self, sc: _Scan, i: int) -> int:
        """The unit of turn ``i`` that brings in the new topic: the one with a boundary marker, else
        with a topic-proffering frame, else the last question with a new content word, else the unit
        with the most content words new to the context (the parse detector takes the one least like
        the previous turn)."""
        a, b = sc.tfirst[i], sc.tfirst[i + 1]
        if b - a == 1:
            return a
        hs = sc.hits.get(i, ())
        for u, m, ini, fin in hs:
            if m.entry.label == SHIFT and self._positioned(m, ini, fin):
                return u
        for u, m, ini, _ in hs:
            if m.entry.label == _PROFFER and ini and not self._anaphoric(sc, u):
                return u
        ctx = self._content(sc, max(0, i - self.context_turns), i)
        fresh: dict[int, int] = {}  # unit -> how many of its content words are new
        for u in range(b - 1, a - 1, -1):
            new = fresh[u] = len(set(self._unit_content(sc, u)).difference(*ctx))
            if new and self._asks(sc, u) and not self._anaphoric(sc, u):
                return u
        return max(range(a, b), key=lambda u: (fresh[u], u))

    # -------------------------------------------------------------------------- unit path

    def _unit_path(self, conv: Conversation, sc: _Scan) -> list[tuple[int, float]]:
        """``(unit, probability)`` of the units with a boundary marker or a unit-initial opener.

        The parse detector's unit model; a unit is dropped as soon as the features computed so far
        cannot reach ``marker_threshold`` whatever the others are (the cheapest come first).
        """
        cued: dict[int, tuple[bool, bool, bool]] = {}  # unit -> (strong, weak, opener)
        for hs in sc.hits.values():
            for u, m, ini, fin in hs:
                if m.entry.label == SHIFT and u > 0 and self._positioned(m, ini, fin):
                    strong, weak, _ = cued.get(u, (False, False, False))
                    if m.entry.attributes.get("strength") == "weak":
                        weak = True
                    else:
                        strong = True
                    cued[u] = (strong, weak, False)
        if self._opener_rx is not None:
            for u in sc.openers:
                cued.setdefault(u, (False, False, True))
        if not cued:
            return []
        W = _UNIT_WEIGHTS
        turn_speakers = sc.speakers
        uturn, texts, span = sc.uturn, sc.texts, self._span
        n_units = len(uturn)
        quiet_memo: dict[int, bool] = {}
        ack_rx, word_char = self._ack_rx.fullmatch, _WORD_CHAR.search

        def speaker(j: int) -> str:
            return turn_speakers[uturn[j]]

        def ack(j: int) -> bool:  # only acknowledgements, particles and fillers
            s, e = span(sc, j)
            text = texts[uturn[j]]
            return ack_rx(text, s, e) is not None and word_char(text, s, e) is not None

        def quiet(j: int) -> bool:  # an acknowledgement, or a near-empty unit
            q = quiet_memo.get(j)
            if q is None:
                s, e = span(sc, j)
                text = texts[uturn[j]]
                q = quiet_memo[j] = (len(text[s:e].split()) <= 1
                                     or (ack_rx(text, s, e) is not None and word_char(text, s, e) is not None))
            return q

        cids: list[int] | None = None  # the content words of all tokens, in order
        cpos: list[int] = []  # per token: how many content words come before it
        out = []
        t = self.marker_threshold
        floor = math.log(t / (1.0 - t)) if 0 < t < 1 else -math.inf
        # What new_speaker and run add at most; cohesion only lowers the score (negative weight).
        most = max(0.0, W["new_speaker"]) + max(0.0, W["run"]) + max(0.0, W["cohesion"])
        w = self.cohesion_window
        opener_rx, lead = self._opener_rx, self._skip_rx.match
        for pos, (strong, weak, opener) in sorted(cued.items()):
            s, e = span(sc, pos)
            text = texts[uturn[pos]]
            if opener and (opener_rx.search(text, s, lead(text, s, e).end()) is None  # type: ignore[union-attr]
                           or not self._unit_content(sc, pos) or ack(pos)):
                continue  # no opener among the unit's leading particles, or nothing after it but acknowledgements
            z = (W["bias"] + W["strong"] * strong + W["weak"] * weak + W["opener"] * opener
                 + W["length"] * min(len(text[s:e].split()), 20) / 20)
            if z + max(0.0, W["lull"]) + most < floor:
                continue
            z += W["lull"] * sum(map(quiet, range(max(0, pos - 3), pos))) / 3
            if z + most < floor:
                continue
            j = pos - 1
            while j >= 0 and quiet(j):
                j -= 1
            me = speaker(pos)
            z += W["new_speaker"] * (j >= 0 and speaker(j) != me)
            run = 0
            j = pos + 1
            while j < n_units and j <= pos + 5 and (speaker(j) == me or ack(j)):
                run += speaker(j) == me
                j += 1
            z += W["run"] * min(run, 5) / 5
            if z + max(0.0, W["cohesion"]) < floor:
                continue
            # The content words from the unit on and before it, w of each.
            if cids is None:
                cids, cpos = self._cwords(sc)
            c = cpos[sc.off[uturn[pos]] + self._toks(sc, pos)[0]]
            z += W["cohesion"] * _cos(Counter(cids[c:c + w]), Counter(cids[max(0, c - w):c]))
            out.append((pos, 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))))
        return out

    # -------------------------------------------------------------------------- detect

    def detect(self, conv: Conversation, parsed: Sequence[ParsedTurn], prior: Sequence[Move] = ()) -> list[Move]:
        if not conv.turns:
            return []
        sc = self._scan(conv, parsed)
        texts = sc.texts
        shifts: dict[int, float] = {}  # unit -> probability
        t = self.shift_threshold
        cutoff = math.log(t / (1.0 - t)) if 0 < t < 1 else (math.inf if t >= 1 else -math.inf)
        for i, z in zip(*self._turn_path(conv, sc, cutoff)):
            shifts[self._introducing_unit(sc, i)] = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
        for u, pr in self._unit_path(conv, sc):
            if pr >= self.marker_threshold:
                shifts[u] = max(pr, shifts.get(u, 0.0))
        cues: dict[int, list[tuple[Match, bool, bool]]] = {}
        for hs in sc.hits.values():
            for u, m, ini, fin in hs:
                cues.setdefault(u, []).append((m, ini, fin))
        # The units with something to emit: a shift, a cue, or a mirrored question.
        mirror = set(sc.mirror)
        todo = sorted(mirror.union(shifts, cues))
        if not todo:
            return []
        busy: dict[int, list[tuple[int, int]]] = {}
        for m in prior:
            if m.label in _NOT_A_SHIFT:
                busy.setdefault(m.turn, []).append((m.start, m.end))
        speakers = sc.speakers
        tfirst, uturn = sc.tfirst, sc.uturn
        moves: list[Move] = []
        for u in todo:
            i = uturn[u]
            text = texts[i]
            s, e = self._span(sc, u)
            mine = cues.get(u, [])
            resumes: list[Match] = []
            closes: list[Match] = []
            if mine:
                wrap_up = u == tfirst[i + 1] - 1 and self._n_words(sc, u) <= self.close_max_words
                resumes = [m for m, ini, fin in mine if m.entry.label == RESUME and self._positioned(m, ini, fin, wrap_up)]
                closes = [m for m, ini, fin in mine if m.entry.label == CLOSE and self._positioned(m, ini, fin, wrap_up)]
            prob = shifts.get(u)
            # A return to an earlier topic, or a wind-down ("anyway, that's that"), is no new topic;
            # nor is a unit that an earlier detector found to be repair or clarification work.
            if (prob is not None and not resumes and not closes
                    and not any(bs < e and s < be for bs, be in busy.get(i, ()))):
                moves.append(self._shift_move(sc, i, u, mine, prob, text))
            hand = None
            if mine or u in mirror:
                partner = self._partner(speakers, i)
                hand = self._handoff(sc, i, u, mine, partner)
            if hand is not None:
                (hs_, he_, cue), reciprocal, kind = hand
                attrs = (frozen_attributes(reciprocal=reciprocal, kind=kind) if partner is None
                         else frozen_attributes(reciprocal=reciprocal, kind=kind, to=speakers[partner]))
                moves.append(self.move(HANDOFF, i, hs_, he_, cue=text[hs_:he_] if cue is None else cue,
                                       target=partner, attributes=attrs, score=0.9))
            if resumes and i > 0:
                moves.append(self.move(RESUME, i, s, e, cue=_cue(resumes[0], text),
                                       target=self._resume_target(sc, i), score=0.9))
            elif closes:
                moves.append(self.move(CLOSE, i, s, e, cue=_cue(closes[0], text), score=0.9))
        return moves

    @staticmethod
    def _partner(speakers: list[str], i: int) -> int | None:
        """The turn that turn ``i`` answers: the last turn before the latest change of speaker up
        to turn ``i`` (None before the first change)."""
        j = i
        while j > 0 and speakers[j - 1] == speakers[j]:
            j -= 1
        return j - 1 if j > 0 else None

    def _shift_move(self, sc: _Scan, i: int, u: int, mine: list[tuple[Match, bool, bool]], prob: float,
                    text: str) -> Move:
        marks = [m for m, ini, fin in mine if m.entry.label == SHIFT and self._positioned(m, ini, fin)]
        cue: str | None = None
        if marks:
            kind = str(marks[0].entry.attributes.get("kind", "disjunctive"))
            cue = _cue(marks[0], text)
        else:
            words = self._content(sc, i, i + 1)[0] if sc.tfirst[i + 1] - sc.tfirst[i] == 1 else set(self._unit_content(sc, u))
            shared = len(words) - len(words.difference(*self._content(sc, max(0, i - self.context_turns), i)))
            kind = "stepwise" if shared >= self.stepwise_overlap else "disjunctive"
            proffers = [m for m, ini, _ in mine if m.entry.label == _PROFFER and ini]
            if proffers:
                cue = _cue(proffers[0], text)
        s, e = self._span(sc, u)
        return self.move(SHIFT, i, s, e, cue=cue, attributes=frozen_attributes(marked=bool(marks), kind=kind), score=round(prob, 4))

    def _handoff(self, sc: _Scan, i: int, u: int, mine: list[tuple[Match, bool, bool]],
                 partner: int | None) -> tuple[tuple[int, int, str | None], bool, str] | None:
        """A hand-off in unit ``u`` of turn ``i``: ((start, end, cue), reciprocal, kind), or None."""
        first = u == sc.tfirst[i]
        for m, ini, fin in mine:
            if m.entry.label != HANDOFF or not self._positioned(m, ini, fin):
                continue
            reciprocal = bool(m.entry.attributes.get("reciprocal", False))
            # A conversation-opening question hands nothing back; "mine is autumn. what's yours?" does.
            if partner is None and (not reciprocal or first):
                continue
            cue = m.entry.cue if m.entry.match == "phrase" else None
            return (m.start, m.end, cue), reciprocal, str(m.entry.attributes.get("kind", "invitation"))
        # A mirrored question: the partner asked "how are your knees?", the speaker answers and asks
        # back in the same frame ("how's your running going?").
        if partner is None or first or not self._asks(sc, u):
            return None
        lead = self._lead(sc.lower[i], *self._toks(sc, u))
        if not lead or lead[0] not in _QSTART or _SECOND.isdisjoint(lead) or self._anaphoric(sc, u):
            return None
        plw = sc.lower[partner]
        _, ptoks, pqs = self._units(sc, partner)
        for v, (t0, t1), q in zip(count(sc.tfirst[partner]), ptoks, pqs):
            if q or v in sc.qforce:
                theirs = self._lead(plw, t0, t1)
                if theirs and theirs[0] == lead[0] and not _SECOND.isdisjoint(theirs):
                    s, e = self._span(sc, u)
                    return (s, e, None), True, "reciprocal"
        return None

    def _resume_target(self, sc: _Scan, i: int) -> int | None:
        """Of the ``resume_window`` turns before turn ``i``, beyond the ``resume_gap`` just before
        it, the one most like it (cosine of summed word vectors)."""
        import numpy as np

        first = max(0, i - self.resume_window)
        content = self._content(sc, first, i)
        cands = ([j for j in range(first, i - self.resume_gap) if content[j - first]]
                 or [j for j in range(first, i) if content[j - first]])
        if not cands:
            return None
        idl, off = sc.idl, sc.off
        turns = [i, *cands]
        if self._table.pending:
            self._table.fill(chain.from_iterable(sc.lower[j] for j in turns))
        rows = self._table.rows[list(chain.from_iterable(idl[off[j]:off[j + 1]] for j in turns))]
        starts = list(accumulate((off[j + 1] - off[j] for j in turns[:-1]), initial=0))
        sums = np.add.reduceat(rows, starts, axis=0)  # (turns with content have rows)
        sims = (sums[1:] @ sums[0]) / np.maximum(np.sqrt(np.einsum("ij,ij->i", sums[1:], sums[1:])), 1e-30)
        return max(zip(sims.tolist(), cands))[1]

#: Turn-path talk longer than this many turns takes the dot products of ``_cohesion`` row-wise (a
#: Gram matrix grows with the square of the turns).
_GRAM_TURNS = 32
_GRAM_INDEX: dict[int, Any] = {}


def _gram_index(n: int) -> tuple[Any, tuple[tuple[int, int], ...]]:
    """For ``n`` turns, indexes into the flat Gram matrix of ``_cohesion``'s runs (turn t's run
    before its last unit is row 2t, its last unit 2t + 1, and row 2n is zero), four per product,
    whose sums are: the turns' squared norms; the products of turn t with t + 1, t + 2 and t + 3;
    the last units' squared norms; and the product of the last unit of turn t + 1 with turn t.
    One (4, k) array, and where each of the six parts starts and ends in its columns."""
    import numpy as np

    got = _GRAM_INDEX.get(n)
    if got is None:
        w = 2 * n + 1
        zero = 2 * n * w + 2 * n
        t = np.arange(n)

        def turns(a: Any, b: Any) -> Any:  # T_a . T_b = (A_a + L_a) . (A_b + L_b)
            return np.stack([(2 * a) * w + 2 * b, (2 * a) * w + 2 * b + 1, (2 * a + 1) * w + 2 * b, (2 * a + 1) * w + 2 * b + 1])

        z = np.full(n, zero)
        parts = [turns(t, t), turns(t[:-1], t[:-1] + 1), turns(t[:-2], t[:-2] + 2), turns(t[:-3], t[:-3] + 3),
                 np.stack([(2 * t + 1) * w + 2 * t + 1, z, z, z]),
                 np.stack([(2 * t[:-1] + 3) * w + 2 * t[:-1], (2 * t[:-1] + 3) * w + 2 * t[:-1] + 1, z[:-1], z[:-1]])]
        ends = [0, *accumulate(p.shape[1] for p in parts)]
        got = (np.concatenate(parts, axis=1), tuple(pairwise(ends)))
        if len(_GRAM_INDEX) > 256:
            _GRAM_INDEX.clear()
        _GRAM_INDEX[n] = got
    return got


def _cue(m: Match, text: str) -> str:
    """The cue to report: the lexicon phrase, or the matched words for a token pattern."""
    return m.entry.cue if m.entry.match == "phrase" else text[m.start:m.end]
