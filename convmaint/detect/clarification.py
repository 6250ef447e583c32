"""Clarification requests: other-initiated repair (open, restricted) and clarifying questions.

A clarification request is a question or fragment that points back at the partner's previous
turn and asks to resolve trouble with it, or a missing detail of it, before the talk goes on
(docs/MOVES.md §2). The Shaikh et al. (2024) test: prefacing it with "OK," sounds contradictory.

The detector reads each sub-turn unit (an SwDA utterance, an MRDA segment, a sentence) against
the partner's previous turn (the *target*) and, as corroboration, the partner's next turn:

* **open** — the whole unit, fillers and apologies aside, is an open form ("huh?", "what?",
  "sorry?", "pardon?", "come again?", "I didn't catch that");
* **restricted_request** — a question word that locates the trouble: lexicon frames ("what do you
  mean", "which one?", "who?"), a question word closing a short fragment ("the what?", "you must
  be what?"), a verbless wh-fragment ("what, hockey?"), or "what's X?" about words the partner
  just used;
* **restricted_offer** — a candidate understanding: frames ("you mean…", "are you saying…", "are
  you talking about…") or a short echo of the partner's words as a question ("Tuesday?", "the
  red one?"); optionally (``declarative_checks``) longer declarative questions that check the
  partner's talk ("so you have constraints that depend on…?", MRDA ``bu``);
* **alternative** — "X or Y?" about the partner's request or words;
* **specification** — a question for a missing detail of the partner's *request* ("Which
  version of Python are you using?", "What kind of trip are you planning?", "Are you looking
  for…", ClariQ-style): a reply to a request (an imperative, "can you…", "I'm looking for…", a
  user's question or problem report to an assistant) in a turn that does not go on to answer,
  or, for the frames that ask for a parameter ("what kind of…", "which version…", "how
  many…"), after a partial answer too. Offers ("would you like me to…?") are not requests.

Punctuation is one signal among several. In text that marks questions, a short form counts only
with ``?``; in text that never does (ASR output, lower-cased query logs like ClariQ) the
partner's repeat of the trouble source stands in for it, and frames and word order do the rest.
A "what?" that answers a pre-announcement ("guess what?") is a go-ahead, not a repair initiation.
Cue words live in ``lexicons/en/clarification.toml``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from itertools import product
from typing import Any, Literal

from convmaint import _regex
from convmaint.detect.base import Detector, Mode, register_detector, units
from convmaint.lexicon import Entry, LexiconSet, Match, trie_pattern
from convmaint.model import Conversation, Move, Role, Turn
from convmaint.nlp.base import ParsedTurn

__all__ = ["ClarificationDetector"]

LABEL = "clarification.request"

# Closed-class word lists (grammar, not cue vocabulary; the cues are in the lexicon).
_LEAD_STRIP: tuple[tuple[str, ...], ...] = (
    ("i", "'m", "sorry"), ("i'm", "sorry"), ("i", "am", "sorry"), ("excuse", "me"), ("i", "'m", "confused"),
    ("you", "know"), ("i", "mean"), ("uh",), ("um",), ("oh",), ("ah",), ("er",), ("erm",), ("well",), ("and",),
    ("but",), ("now",), ("hm",), ("hmm",), ("mm",), ("wait",), ("okay",), ("ok",), ("sorry",), ("yeah",), ("hey",),
    ("huh",),
)
_TRAIL_STRIP = frozenset({"uh", "um", "er", "erm", "then", "again", "now", "exactly", "please"})
_AUX = frozenset({"is", "are", "was", "were", "am", "be", "do", "does", "did", "can", "could", "would", "will",
                  "should", "shall", "may", "might", "must", "have", "has", "had", "'m", "'re", "'s", "'ve", "'d",
                  "'ll", "isn't", "aren't", "wasn't", "weren't", "don't", "doesn't", "didn't", "can't", "couldn't",
                  "won't", "wouldn't", "shouldn't", "haven't", "hasn't", "ca", "wo", "n't"})
_WH = frozenset({"what", "who", "which", "where", "when", "whom", "whose", "how", "why"})
_SUBJ = frozenset({"you", "i", "we", "they", "he", "she", "it", "this", "that", "there", "these", "those", "your", "my",
                   "our", "their", "his", "her", "its", "the", "a", "an", "someone", "anyone", "everyone", "something",
                   "anything", "people"})
_PRONOUNS = frozenset({"you", "i", "we", "they", "he", "she", "it"})
_PERSONAL = frozenset({"i", "my", "mine", "we", "our", "us", "you", "your", "'m"})
_DEICTIC = frozenset({"this", "it", "that", "these", "those", "they"})
_SECOND_PERSON = frozenset({"you", "your", "yours", "yourself", "yourselves", "y'all", "ya"})
_DETERMINERS = frozenset({"the", "a", "an", "this", "that", "these", "those", "your", "my", "his", "her", "their",
                          "our", "its", "some", "any"})
_EMBEDDING = frozenset({"know", "sure", "wonder", "wondering", "idea", "ask", "asked", "tell", "told", "remember",
                        "understand", "see", "mean", "guess", "matter", "decide", "figure", "care", "about", "of",
                        "so", "or", "and", "no", "is", "'s", "was", "what", "that", "show", "explain", "learn"})
_ALT_END = frozenset({"something", "not", "anything", "whatever", "so", "else", "two", "three", "less", "more",
                      "other", "otherwise", "what", "whatnot", "somewhere", "someone", "somebody", "nothing"})
_ACKS = frozenset({"uh-huh", "uhhuh", "mm-hmm", "mhm", "mmhmm", "um-hum", "uh-hum", "yeah", "yes", "yep", "right",
                   "okay", "ok", "oh", "sure", "huh", "hm", "hmm", "mm", "i", "see", "really", "wow", "exactly", "true",
                   "good", "great", "nice"})
_FUNCTION = frozenset({"a", "an", "the", "and", "or", "but", "if", "so", "of", "to", "in", "on", "at", "for", "with",
                       "by", "from", "as", "is", "are", "was", "were", "be", "been", "being", "am", "i", "you", "he",
                       "she", "it", "we", "they", "me", "him", "her", "us", "them", "my", "your", "his", "its", "our",
                       "their", "this", "that", "these", "those", "there", "here", "what", "which", "who", "whom",
                       "whose", "when", "where", "why", "how", "do", "does", "did", "done", "have", "has", "had", "not",
                       "no", "yes", "yeah", "uh", "um", "oh", "well", "just", "like", "really", "very", "can", "could",
                       "would", "should", "will", "shall", "may", "might", "must", "than", "then", "too", "also",
                       "about", "up", "out", "into", "all", "any", "some", "one", "ok", "okay", "know", "think", "mean",
                       "get", "got", "go", "going", "'s", "'t", "'m", "'re", "'ve", "'ll", "'d", "n't", "say", "said",
                       "right", "huh", "hm", "mm"})
_VERB_POS = frozenset({"VERB", "AUX"})


def _norm(word: str) -> str:
    return word.lower().replace("\u2019", "'")


# The lead-strip sequences by first word, in their original order (the first that fits wins).
_LEAD_BY_FIRST: dict[str, tuple[tuple[str, ...], ...]] = {}
for _seq in _LEAD_STRIP:
    _LEAD_BY_FIRST[_seq[0]] = (*_LEAD_BY_FIRST.get(_seq[0], ()), _seq)
_WH_AUX = _WH | _AUX
_WH_FINAL = frozenset({"what", "who", "where", "which", "when"})  # "the what?", "you must be what?"
_DET_NOT_EMBEDDING = _DETERMINERS - _EMBEDDING  # what may stand before a closing question word without "?"
_LONG_TURN = 80  # tokens: a turn this long is searched for cues without a gate first (one would pass)


class _Toks:
    """A turn's normalised lower-case words, punctuation flags and gate text, each computed on first
    use and once per detect() call (the gates pass most turns over with few of them)."""

    __slots__ = ("_norm", "_p", "_punct", "_spaced")

    def __init__(self, p: ParsedTurn) -> None:
        self._p = p
        self._norm: Sequence[str] | None = None
        self._punct: Sequence[bool] | None = None
        self._spaced: bytes | None | bool = False

    @property
    def norm(self) -> Sequence[str]:
        """``_norm()`` of each word."""
        if self._norm is None:
            lower = self._p.lower
            joined = "".join(lower)
            # _norm() leaves every word as it is when the whole turn has no upper case and no ’
            # (lower-casing is per character but for a final sigma, itself upper case)
            if "\u2019" not in joined and joined.lower() == joined:
                self._norm = lower
            else:
                self._norm = [w.lower().replace("\u2019", "'") for w in lower]
        return self._norm

    @property
    def punct(self) -> Sequence[bool]:
        """Whether each token is punctuation."""
        if self._punct is None:
            p = self._p
            punct = getattr(p, "punct", None)  # the parse's cached column, where it has one
            self._punct = punct if punct is not None else [p.is_punct(k) for k in range(len(p.lower))]
        return self._punct

    @property
    def spaced(self) -> bytes | None:
        """The text as the frame gates read it (see _spaced)."""
        if self._spaced is False:
            self._spaced = _spaced(self._p.text)
        return self._spaced  # type: ignore[return-value]


# The frame gates read ASCII text as bytes with every character but a word character or an
# apostrophe turned into a space and upper case into lower case (_SPACED), padded with a space at
# each end. A lexicon phrase matches case-insensitively, with any white space between its words,
# where no word character or apostrophe is on either side of it; so wherever it matches in ASCII
# text, its own form under _SPACED (with each run of spaces read as " +") matches the text's,
# with a space on either side.
_SPACED = bytes(ord(chr(c).lower()) if chr(c).isalnum() or chr(c) in "_'" else 32 for c in range(128)) + bytes(128)
_WS_RE = re.compile(r"\s+")


def _spaced(text: str) -> bytes | None:
    """``text`` as the frame gates read it (None for text that is not ASCII)."""
    return b" " + text.encode().translate(_SPACED) + b" " if text.isascii() else None


def _case_forms(words: Iterable[str]) -> frozenset[str]:
    """Every spelling of ASCII ``words`` in upper and lower case."""
    return frozenset("".join(cs) for w in words for cs in product(*({ch, ch.upper()} for ch in w)))


_OR_WH_FORMS = _case_forms(_WH_FINAL | {"or"})  # what _norm() turns into "or" or a closing question word


def _phrase_key(text: str) -> str:
    """A phrase as the lexicon matcher normalises it (case, apostrophes, white space)."""
    return _WS_RE.sub(" ", text.strip().lower().replace("\u2019", "'"))


def _trie(phrases: Iterable[tuple[bytes, ...]]) -> bytes:
    """A regex for any of ``phrases`` (words separated by spaces), as a trie: at each point the
    branches start with different characters, so the search tries at most one of them."""
    return trie_pattern(([unit for n, w in enumerate(words) for unit in ([b" +"] if n else []) + [re.escape(bytes([c])) for c in w]]
                         for words in phrases), b"")


def _lower_words(spec: Mapping[str, Any]) -> frozenset[str] | None:
    """The lower-case forms a token spec accepts (None: any)."""
    want = spec.get("LOWER")
    if isinstance(want, str):
        return frozenset({want})
    if isinstance(want, Mapping) and "IN" in want:
        return frozenset(want["IN"])
    return None


class _FrameGate:
    """A cheap necessary condition for some of a matcher's entries to match in a turn.

    Phrases: one regular expression over the text as :func:`_spaced` gives it; token patterns:
    the lower-case forms their first tokens need stand side by side. Text that is not ASCII always
    passes (regex case folding matches more than ``str.lower`` there).
    """

    __slots__ = ("_always", "_firsts", "_pairs", "_regex")

    def __init__(self, entries: Iterable[Entry]) -> None:
        self._always = False
        self._pairs: dict[str, list[tuple[frozenset[str], ...]]] = {}  # first word -> the next words' sets
        forms = set()
        for e in entries:
            if isinstance(e.pattern, str):
                phrase = _phrase_key(e.pattern)
                if not phrase.isascii():
                    self._always = True
                    continue
                words = phrase.encode().translate(_SPACED).split()
                if words:
                    forms.add(tuple(words))
                else:  # (a phrase of punctuation only matches spaces: no condition on the text)
                    self._always = True
            else:
                # the words of the pattern's first tokens, up to one that may repeat or be left out
                # or that allows any word ("+" repeats: only its first token counts)
                sets: list[frozenset[str]] = []
                for spec in e.pattern:
                    words = _lower_words(spec)
                    if words is None or spec.get("OP") in ("?", "*", "!"):
                        break
                    sets.append(words)
                    if "OP" in spec:
                        break
                if not sets:
                    self._always = True
                    continue
                for w in sets[0]:
                    self._pairs.setdefault(w, []).append(tuple(sets[1:]))
        self._firsts = frozenset(self._pairs)
        self._regex = _regex.compile(b" " + _trie(forms) + b" ") if forms else None  # (cached per user)

    @property
    def always(self) -> bool:
        """Whether some entry escapes the gate (then it always passes)."""
        return self._always

    @property
    def firsts(self) -> frozenset[str]:
        """The lower-case words the token patterns start with."""
        return self._firsts

    def possible(self, tok: _Toks, lower: Sequence[str]) -> bool:
        """False only if no entry can match in the turn of ``tok`` (tokens ``lower``)."""
        return self._always or self.tokens_possible(lower) or self.phrases_possible(tok)

    def tokens_possible(self, lower: Sequence[str]) -> bool:
        """False only if no token pattern can match in a turn with tokens ``lower``."""
        if not self._firsts or self._firsts.isdisjoint(lower):
            return False
        n = len(lower)
        for w in self._firsts.intersection(lower):
            rests = self._pairs[w]
            k = -1
            while True:
                try:
                    k = lower.index(w, k + 1)
                except ValueError:
                    break
                for rest in rests:
                    if k + len(rest) < n:
                        for j, words in enumerate(rest, k + 1):
                            if lower[j] not in words:
                                break
                        else:
                            return True
        return False

    def phrases_possible(self, tok: _Toks) -> bool:
        """False only if no phrase can match in the turn of ``tok``."""
        if self._regex is None:
            return False
        spaced = tok.spaced
        return spaced is None or self._regex.search(spaced) is not None


class _Ctx:
    """Per-turn context: the target turn, the partner's vocabulary and next turn.

    Everything is computed on first use, the target too, since most units are not clarification
    requests and never look at the target, the partner's vocabulary, requests or next turn.
    """

    __slots__ = ("_asked", "_conv", "_det", "_i", "_next_overlap", "_parsed", "_pre_announcement", "_prev", "_recent",
                 "_request", "_target", "_to_model", "_vocab", "punctuated", "turn_role")

    def __init__(self, det: ClarificationDetector, conv: Conversation, parsed: Sequence[ParsedTurn], i: int,
                 punctuated: bool) -> None:
        self.turn_role = conv.turns[i].role
        self.punctuated = punctuated
        self._det, self._conv, self._parsed, self._i = det, conv, parsed, i
        self._prev: list[int] | None = None
        self._target: int | None = None
        self._vocab: frozenset[str] | None = None
        self._recent: frozenset[str] | None = None
        self._asked: bool | None = None
        self._to_model: bool | None = None
        self._request: bool | None = None
        self._next_overlap: bool | None = None
        self._pre_announcement: bool | None = None

    @property
    def prev(self) -> list[int]:
        """The partner's turns among the five before, the latest first."""
        if self._prev is None:
            self._target, self._prev = self._det._target(self._conv, self._parsed, self._i)
        return self._prev

    @property
    def target(self) -> int | None:
        """The turn the request is about: the partner's last, unless that was only an acknowledgement."""
        if self._prev is None:
            self._target, self._prev = self._det._target(self._conv, self._parsed, self._i)
        return self._target

    @property
    def vocab(self) -> frozenset[str]:
        """Content words of the target (and of the partner's last turn, when that was only an ack)."""
        if self._vocab is None:
            if self.target is None:
                self._vocab = frozenset()
            else:
                vocab = set(self._det._turn_content(self._parsed, self.target))
                if self.prev[0] != self.target:
                    vocab |= self._det._turn_content(self._parsed, self.prev[0])
                self._vocab = frozenset(vocab)
        return self._vocab

    @property
    def recent(self) -> frozenset[str]:
        """``vocab`` and the content words of the partner's last three turns."""
        if self._recent is None:
            recent = set(self.vocab)
            for k in self.prev[:3]:
                recent |= self._det._turn_content(self._parsed, k)
            self._recent = frozenset(recent)
        return self._recent

    @property
    def pre_announcement(self) -> bool:
        """The target's last sentence is a pre-announcement ("guess what?")."""
        if self._pre_announcement is None:
            self._pre_announcement = False
            if self.target is not None:
                tp = self._parsed[self.target]
                if len(tp.words):
                    last = tp.sentences()[-1][0]
                    self._pre_announcement = bool(self._det._pre.find(tp, tp.starts[last]))
        return self._pre_announcement

    @property
    def asked(self) -> bool:
        """The target is a question."""
        if self._asked is None:
            self._asked = False
            if self.target is not None:
                tp = self._parsed[self.target]
                self._asked = "?" in self._conv.turns[self.target].text or (
                    len(tp.words) > 1 and _norm(tp.lower[0]) in _WH_AUX)
        return self._asked

    @property
    def to_model(self) -> bool:
        """A model's turn replying to a human's."""
        if self._to_model is None:
            self._to_model = (self.target is not None and self.turn_role == Role.MODEL
                              and self._conv.turns[self.target].role == Role.HUMAN)
        return self._to_model

    @property
    def request(self) -> bool:
        """The target asks the speaker for something."""
        if self._request is None:
            self._request = False
            if self.target is not None:
                # A request to the speaker: a turn with a request frame ("can you…", "tell me…", "I'm
                # looking for…", an imperative), or a user's question to an assistant. A bare question
                # between people is not enough: they ask each other questions all the time.
                tp = self._parsed[self.target]
                to_model = self.to_model
                # a short search-like query ("beef stroganoff recipe", "all men are created equal") is
                # a request too; "I liked the Martian" is not
                query = 0 < len(tp.words) <= 8 and not any(_norm(w) in _PERSONAL for w in tp.lower)
                self._request = self._det._is_request(self._conv.turns[self.target], tp, to_model,
                                                      self._det._tokens(self._parsed, self.target)) or (
                    to_model and (self.asked or query))
        return self._request

    @property
    def next_overlap(self) -> bool:
        """The partner's next turn repeats the trouble source ("I said …", or mostly the target's words)."""
        if self._next_overlap is None:
            self._next_overlap = False
            det, conv, parsed, i = self._det, self._conv, self._parsed, self._i
            vocab = self.vocab
            if det.use_next_turn and vocab and self.target is not None:
                speaker = conv.turns[self.target].speaker
                for k in range(i + 1, min(len(conv.turns), i + 3)):
                    if conv.turns[k].speaker == speaker:
                        nxt = parsed[k]
                        words = [_norm(w) for w in nxt.words[:2]]
                        if words == ["i", "said"]:
                            self._next_overlap = True
                        else:
                            c = det._turn_content(parsed, k)
                            shared = {w for w in c if w in vocab}
                            if shared and len(shared) >= 0.5 * len({_norm(w) for w in nxt.lower if _norm(w) in c}):
                                self._next_overlap = True
                        break
        return self._next_overlap


@register_detector
class ClarificationDetector(Detector):
    """Detect ``clarification.request`` moves with ``format``, ``about`` and ``target``.

    Args:
        lexicons: The loaded lexicons (uses ``clarification``).
        mode: ``full`` (tokens, sentences, POS, lemmas) or ``lite`` (tokens and sentences).
        max_lead_words: Open and fragment requests must open the turn: at most this many words
            may come before the unit in the same turn. Default 3.
        max_fragment_tokens: Longest wh-fragment or echo question, in words. Default 5.
        max_check_tokens: Longest declarative understanding check, in words. Default 30.
        echo_min_overlap: Share of a short question's content words that must come from the
            partner's last turns for it to count as an echo (a verbless fragment needs only
            one: "the goats and the helicopters?"); declarative checks use it too. Default 0.5.
        max_answer_words: A specification or alternative question counts only in a turn with
            at most this many words outside its questions (a turn that answers is not asking
            before going on). Default 25.
        echo_questions: Report echo questions ("Tuesday?") as restricted offers. Default True.
        declarative_checks: Longer declarative questions (over ``max_fragment_tokens`` words)
            reported as restricted offers: ``off`` (default; short echoes and fragments only,
            since a longer "so X?" that sums up the partner's point is a
            ``grounding.reformulation``), ``overlap`` when most of their content words come from
            the partner's recent turns, ``broad`` also any "so …?" or second-person declarative
            question ("so you work for Bell?"): more of the MRDA ``bu`` understanding checks, and
            many plain yes/no questions.
        use_next_turn: Accept a partner's next turn that repeats the trouble source as the
            question signal for unpunctuated text. Default True.

    Example:
        >>> from convmaint.pipeline import Annotator  # doctest: +SKIP
        >>> ann = Annotator.create(["clarification"])  # doctest: +SKIP
    """

    name = "clarification"
    version = 1
    labels = (LABEL,)
    requires = frozenset({"tokens", "sents", "pos", "lemma"})
    requires_lite = frozenset({"tokens", "sents"})
    order = 10

    def __init__(
        self,
        *,
        lexicons: LexiconSet,
        mode: Mode = "full",
        max_lead_words: int = 3,
        max_fragment_tokens: int = 5,
        max_check_tokens: int = 30,
        echo_min_overlap: float = 0.5,
        max_answer_words: int = 25,
        echo_questions: bool = True,
        declarative_checks: Literal["off", "overlap", "broad"] = "off",
        use_next_turn: bool = True,
    ) -> None:
        super().__init__(lexicons=lexicons, mode=mode)
        self.max_lead_words = max_lead_words
        self.max_fragment_tokens = max_fragment_tokens
        self.max_check_tokens = max_check_tokens
        self.echo_min_overlap = echo_min_overlap
        self.max_answer_words = max_answer_words
        self.echo_questions = echo_questions
        self.declarative_checks = declarative_checks
        self.use_next_turn = use_next_turn
        self._cues = lexicons.matcher(lexicons=["clarification"], labels=[LABEL, "clarification.exclude"])
        self._debug = False  # error analysis: record which rule fired as attributes["rule"]
        self._memo: dict[int, frozenset[str]] = {}
        self._toks: dict[int, _Toks] = {}
        self._context = lexicons.matcher(lexicons=["clarification"], labels=["clarification.request_context"])
        self._pre = lexicons.matcher(lexicons=["clarification"], labels=["clarification.pre_announcement"])
        # Gates (necessary conditions, see _FrameGate) for the frames a unit without "?" can fire
        # through in text that marks questions: those that need nothing and those that need a request
        frames = [e for e in self._cues.entries if e.label == LABEL and e.attributes.get("needs") != "question"]
        self._plain_gate = _FrameGate([e for e in frames if e.attributes.get("needs") != "request"])
        self._request_gate = _FrameGate([e for e in frames if e.attributes.get("needs") == "request"])
        self._unmarked_gate = _FrameGate(frames)  # both of the above, for a first glance
        self._glance = None if self._unmarked_gate.always else _OR_WH_FORMS | self._unmarked_gate.firsts
        # For skipping the cue search: the phrases that count only as a whole unit, and a gate for the rest
        scopes: dict[str, set[str]] = {}
        for e in self._cues.entries:
            if isinstance(e.pattern, str):
                scopes.setdefault(_phrase_key(e.pattern), set()).add(str(e.attributes.get("scope", "any")))
        self._unit_phrases = frozenset(k for k, v in scopes.items() if v == {"unit"})
        self._unit_ends = frozenset((k[0], k[-1]) for k in self._unit_phrases)
        self._scoped_gate = _FrameGate([e for e in self._cues.entries if not isinstance(e.pattern, str)
                                        or _phrase_key(e.pattern) not in self._unit_phrases])
        # (a whole-unit frame that needs a request would count answer words: then no narrow reading)
        self._narrow_ok = not any(e.attributes.get("needs") == "request" for e in self._cues.entries
                                  if isinstance(e.pattern, str) and _phrase_key(e.pattern) in self._unit_phrases)
        # and for _is_request: the context frames that count between people, and all of them
        self._context_gates = {
            False: _FrameGate([e for e in self._context.entries if not e.attributes.get("to_model")]),
            True: _FrameGate(self._context.entries),
        }

    # ------------------------------------------------------------------------------ helpers

    def _content(self, p: ParsedTurn, i: int = 0, j: int | None = None, tok: _Toks | None = None) -> set[str]:
        j = len(p.words) if j is None else j
        fast = self.mode != "full"
        out = set()
        if tok is None:
            norm = [_norm(w) for w in p.lower[i:j]]
            punct = [p.is_punct(k) for k in range(i, j)]
            off = i
        else:
            norm, punct, off = tok.norm, tok.punct, 0
        lemmas = p.lemmas
        for k in range(i, j):
            if punct[k - off]:
                continue
            n = norm[k - off]
            w = n.strip("-")
            if not w or w in _FUNCTION or (len(w) < 2 and not w.isdigit()):
                continue
            out.add(w)
            out.add(n if fast else _norm(lemmas[k]))
        return out

    def _ack_only(self, p: ParsedTurn) -> bool:
        # at most three words, all acknowledgements (stops at the first word that says otherwise)
        n = 0
        flags = getattr(p, "punct", None)  # the parse's cached column, where it has one
        is_punct = flags.__getitem__ if flags is not None else p.is_punct
        for k, w in enumerate(p.words):
            if is_punct(k):
                continue
            n += 1
            if n > 3 or _norm(w) not in _ACKS:
                return False
        return True

    def _is_request(self, turn: Turn, p: ParsedTurn, to_model: bool, tok: _Toks | None = None) -> bool:
        if not self._context_gates[to_model].possible(_Toks(p) if tok is None else tok, p.lower):
            return False  # no context frame that counts here can match
        sent_starts = {p.starts[s] for s, _ in p.sentences()} if len(p.words) else set()
        for m in self._context.find(p):
            if m.entry.attributes.get("to_model") and not to_model:
                continue
            if m.entry.attributes.get("scope") == "start":
                if m.start in sent_starts:
                    return True
            else:
                return True
        return False

    def _tokens(self, parsed: Sequence[ParsedTurn], k: int) -> _Toks:
        # memoised per detect() call: a turn's own units and its use as partner context share them
        got = self._toks.get(k)
        if got is None:
            got = self._toks[k] = _Toks(parsed[k])
        return got

    def _turn_content(self, parsed: Sequence[ParsedTurn], k: int) -> frozenset[str]:
        # memoised per detect() call: each turn is the partner context of the next few turns
        got = self._memo.get(k)
        if got is None:
            got = self._memo[k] = frozenset(self._content(parsed[k], tok=self._tokens(parsed, k)))
        return got

    def _context_for(self, conv: Conversation, parsed: Sequence[ParsedTurn], i: int, punctuated: bool) -> _Ctx:
        return _Ctx(self, conv, parsed, i, punctuated)

    def _target(self, conv: Conversation, parsed: Sequence[ParsedTurn], i: int) -> tuple[int | None, list[int]]:
        """Turn ``i``'s target (None: no partner turn before) and the partner's turns before it."""
        speaker = conv.turns[i].speaker
        prev = [k for k in range(i - 1, max(-1, i - 6), -1) if conv.turns[k].speaker != speaker]
        if not prev:
            return None, prev
        target = prev[0]
        if self._ack_only(parsed[target]):
            # "Yeah." then "what was the X you said?": the clarified talk is the partner's turn before
            earlier = [k for k in prev[1:] if conv.turns[k].speaker == conv.turns[target].speaker]
            if earlier and not self._ack_only(parsed[earlier[0]]):
                target = earlier[0]
        return target, prev

    @staticmethod
    def _core(toks: list[int], low: list[str]) -> list[int]:
        """The words ``toks`` (``low``: their normalised forms) without leading fillers, apologies and
        cut-offs and trailing fillers."""
        a = 0
        last = len(toks) - 1
        changed = True
        while changed and a < last:
            changed = False
            if low[a].endswith("-") and a + 1 < len(toks):  # a cut-off word: "wh-, why do you…"
                a += 1
                changed = True
                continue
            for seq in _LEAD_BY_FIRST.get(low[a], ()):
                n = len(seq)
                if a + n < len(toks) and tuple(low[a:a + n]) == seq:
                    a += n
                    changed = True
                    break
        b = len(toks)
        while b - 1 > a and low[b - 1] in _TRAIL_STRIP:
            b -= 1
        return toks[a:b]

    def _has_verb(self, p: ParsedTurn, toks: Sequence[int]) -> bool:
        if self.mode == "full" and p.pos:
            return any(p.pos[k] in _VERB_POS for k in toks)
        return any(_norm(p.lower[k]) in _AUX for k in toks)

    # ------------------------------------------------------------------------------ detection

    def detect(self, conv: Conversation, parsed: Sequence[ParsedTurn], prior: Sequence[Move] = ()) -> list[Move]:
        moves: list[Move] = []
        self._memo = {}
        self._toks = {}
        punctuated = any("?" in t.text for t in conv.turns)
        max_lead = self.max_lead_words
        for i, turn in enumerate(conv.turns):
            p = parsed[i]
            if not len(p.words):
                continue
            text = turn.text
            tok = self._tokens(parsed, i)
            ctx = None
            if punctuated and "?" not in text and turn.role != Role.MODEL:
                # In text that marks questions, a person's turn without "?" can hold a request only
                # through a frame, "the what" or an alternative (_classify's rules without "?")
                unmarked = self._unmarked(p, tok)
                if unmarked == 0:
                    continue
                # only in reply to a request: asked here where that is cheap to tell (an assistant's
                # long answer as the target is not; then the rules below ask where they need it)
                if unmarked == 2 and (i == 0 or conv.turns[i - 1].role != Role.MODEL):
                    ctx = self._context_for(conv, parsed, i, punctuated)
                    if ctx.target is None or not ctx.request:
                        continue
            norm = tok.norm
            # Beyond the lexicon frames, every rule of _classify needs a "?", unpunctuated text, an
            # "or" (alternatives), an assistant's turn (specifications) or a closing question word.
            open_turn = not punctuated or "or" in norm or turn.role == Role.MODEL
            # Narrow: no frame can match but as a whole unit, and neither alternatives nor
            # specifications can be (no "or", no assistant): then only units opening the turn
            # (at_start) can be requests, and none of their rules counts answer words.
            # (an open or a long turn is searched for cues as it stands: it nearly always holds some)
            scoped = (open_turn or not self._narrow_ok or len(p.words) > _LONG_TURN
                      or self._scoped_gate.possible(tok, p.lower))
            narrow = not scoped
            punct = tok.punct
            info = []
            all_words = question_words = lead = 0
            for s, e in units(turn, p):
                if narrow and lead > max_lead:
                    break
                ti, tj = p.tokens_in(s, e)
                toks = [k for k in range(ti, tj) if not punct[k]]
                core = self._core(toks, [norm[k] for k in toks])
                n_words = len(toks)
                qmark = text.find("?", s, e) >= 0
                info.append((s, e, core, n_words, qmark))
                lead += n_words
                if not narrow:
                    all_words += n_words
                    if qmark or self._interrogative(p, core, norm):
                        question_words += n_words
            if not any(x[2] for x in info):
                continue
            answer_words = all_words - question_words
            # Only a cue match in scope of a unit counts (_classify's in_scope; a unit whose only
            # claim is a match out of scope has no rule to fire). One can be found only through a
            # frame allowed beyond a whole unit (the scoped gate) or a whole-unit phrase that some
            # unit's core reads as: otherwise the search is skipped.
            if scoped or self._unit_frame_possible(p, norm, info):
                matches = self._cues.find(p)
            else:
                matches = []
            lead = 0
            for s, e, core, n_words, qmark in info:
                in_unit = [m for m in matches if m.start >= s and m.end <= e] if core and matches else []
                if core and (in_unit or qmark or open_turn
                             or (lead <= max_lead and norm[core[-1]] in _WH_FINAL)):
                    if ctx is None:
                        ctx = self._context_for(conv, parsed, i, punctuated)
                    found = self._classify(p, s, e, core, qmark, lead, answer_words, ctx, in_unit, norm, tok)
                    if found is not None:
                        # a request points back at the partner's turn: with none before, the turn
                        # holds none, whatever the rules found
                        if ctx.target is None:
                            break
                        fmt, about, cue, score, rule = found
                        attrs = {"format": fmt, "about": about}
                        if self._debug:
                            attrs["rule"] = rule
                        moves.append(self.move(LABEL, i, s, e, cue=cue, target=ctx.target,
                                               attributes=attrs, score=score))
                lead += n_words
        return moves

    def _unit_frame_possible(self, p: ParsedTurn, norm: Sequence[str],
                             info: list[tuple[int, int, list[int], int, bool]]) -> bool:
        """Whether some unit's core (with or without a leading "so", as _classify reads it) may
        match a phrase that counts only as a whole unit."""
        text, starts = p.text, p.starts
        unit_phrases = self._unit_phrases
        for _, _, core, _, _ in info:
            if not core:
                continue
            ce = p.end(core[-1])
            last = text[ce - 1]
            for k in (0, 1) if norm[core[0]] == "so" and len(core) > 1 else (0,):
                cs = starts[core[k]]
                # a phrase matches ASCII ends only where they are its own first and last characters
                if (text[cs].isascii() and last.isascii()
                        and (text[cs].lower(), last.lower()) not in self._unit_ends):
                    continue
                span = text[cs:ce].replace("\u2019", "'")
                # (case folding of other text is the regex's, not str.lower's: leave it to the search)
                if not span.isascii() or _WS_RE.sub(" ", span.lower()) in unit_phrases:
                    return True
        return False

    def _unmarked(self, p: ParsedTurn, tok: _Toks) -> int:
        """Which rules of _classify a turn without "?" in text that marks questions may fire through:
        0 none, 1 some, 2 only those that need a request (the frames that ask for one, alternatives)."""
        lower = p.lower
        gate = self._unmarked_gate
        # At a glance (most turns): no "or" or closing question word in any case (only A-Z
        # lower-case to a-z, so _norm() gives none), no word a frame's token pattern starts with
        if self._glance is not None and self._glance.isdisjoint(lower):
            if not gate.phrases_possible(tok):
                return 0  # and no phrase either
            frames = True
        else:
            frames = gate.possible(tok, lower)
        norm = tok.norm
        # 1. a frame that needs no "?" and no request ("what do you mean", "I didn't catch that")
        if frames and self._plain_gate.possible(tok, lower):
            return 1
        # 2. "the what": a closing question word right after a determiner (the word before it)
        if not _WH_FINAL.isdisjoint(norm):
            punct = None
            for k, w in enumerate(norm):
                if w in _WH_FINAL and not _DET_NOT_EMBEDDING.isdisjoint(norm[:k]):
                    punct = tok.punct if punct is None else punct
                    j = k - 1
                    while j >= 0 and punct[j]:
                        j -= 1
                    if j >= 0 and norm[j] in _DET_NOT_EMBEDDING:
                        return 1
        # 6. an alternative ("X or Y"), or a frame that needs a request: both only after a request
        if "or" in norm or (frames and self._request_gate.possible(tok, lower)):
            return 2
        return 0

    def _interrogative(self, p: ParsedTurn, core: Sequence[int], norm: Sequence[str] | None = None) -> bool:
        """Question word order: auxiliary then subject ("are you…", "is this…")."""
        if len(core) < 2:
            return False
        if norm is None:
            norm = [_norm(w) for w in p.lower]
        first, second = norm[core[0]], norm[core[1]]
        if second == "n't" and len(core) > 2:  # "don't you think…"
            second = norm[core[2]]
        if first in _AUX and not first.startswith("'"):
            # "are you…", "is this…"; in full mode also "is Carnage evil?" (aux before a noun)
            if second in _SUBJ or second in _DETERMINERS:
                return True
            if self.mode == "full" and p.pos and p.pos[core[1]] in ("PROPN", "NOUN", "PRON", "NUM"):
                return True
        return False

    def _classify(self, p: ParsedTurn, s: int, e: int, core: list[int], qmark: bool, lead: int,
                  answer_words: int, ctx: _Ctx, matches: list[Match],
                  norm: Sequence[str] | None = None, tok: _Toks | None = None) -> tuple[str, str, str, float, str] | None:
        text = p.text
        cs, ce = p.starts[core[0]], p.end(core[-1])
        low = [norm[k] for k in core] if norm is not None else [_norm(p.lower[k]) for k in core]
        so_initial = low[0] == "so" and len(core) > 1
        if so_initial:  # "so, are you…" is still a question; "so X?" a candidate understanding
            core, low = core[1:], low[1:]
            cs = p.starts[core[0]]
        at_start = lead <= self.max_lead_words
        # Without "?" a unit asks only in text that never marks questions (ASR output, lower-cased
        # query logs): there the partner's repeat of the trouble source is the evidence.
        asks = qmark or (self.use_next_turn and not ctx.punctuated and ctx.next_overlap)
        interrogative = self._interrogative(p, core, norm)
        # also unpunctuated questions: "in what setting do you need…", "for which year would you…"
        question = qmark or interrogative or low[0] in _WH or (
            not ctx.punctuated and (any(w in _WH for w in low[:3]) or self._inverted(low)))

        def in_scope(m: Match) -> bool:
            scope = m.entry.attributes.get("scope", "any")
            if scope == "unit":
                return m.start == cs and m.end == ce
            if scope == "start":
                return m.start == cs
            if scope == "end":
                return m.end == ce
            return True

        scoped = [m for m in matches if in_scope(m)] if matches else []
        excluded = [m for m in scoped if m.label == "clarification.exclude"] if scoped else []
        if any(m.entry.attributes.get("scope") == "unit" for m in excluded):
            return None

        # 1. lexicon frames, most specific first: whole-unit forms, then start/end, then anywhere
        best: tuple[int, Match] | None = None
        for m in scoped:
            if m.label != LABEL:
                continue
            a = m.entry.attributes
            scope, needs, fmt = a.get("scope", "any"), a.get("needs", "none"), a.get("format")
            if needs == "question" and not asks:
                continue
            if needs == "request":
                # a reply to a request; or a question-first reply to a question that does not answer
                # it ("What is X?" – "Do you want to know how X is treated?")
                # (an assistant's question for a parameter of the task, not about a story, may take
                # any user turn as the request: "my code gives a different answer on his laptop" –
                # "Could you share what the code does?"; "would you like…" there is an offer)
                requested = ctx.request or (ctx.to_model and bool(a.get("after_answer")) and not self._past(p, core))
                fits = requested and question and (answer_words <= self.max_answer_words or a.get("after_answer"))
                fits = fits or (ctx.asked and at_start and (qmark or not ctx.punctuated)
                                and (interrogative or low[0] in _WH) and answer_words <= self.max_answer_words)
                if not fits:
                    continue
            if scope == "unit" and not at_start:
                continue
            if fmt == "specification" and excluded:
                continue
            rank = {"unit": 0, "start": 1, "end": 1, "any": 2}[scope] * 10 + (
                {"open": 0, "restricted_request": 1, "restricted_offer": 2, "alternative": 3, "specification": 4}[fmt])
            if best is None or rank < best[0]:
                best = (rank, m)
        if best is not None:
            m = best[1]
            a = m.entry.attributes
            fmt, about = str(a["format"]), str(a["about"])
            if fmt == "open" and a.get("scope") == "unit" and ctx.pre_announcement:
                return None  # "What?" as the go-ahead to "guess what", not a repair initiation
            if fmt == "restricted_request" and a.get("scope") == "end" and low[0] not in _WH:
                fmt = "restricted_offer"  # "Eighty-eight is what you said?"
            if fmt == "specification" and self._alternative(low):
                fmt = "alternative"
            score = 0.9 if a.get("needs") == "none" else (0.8 if qmark or fmt == "specification" else 0.6)
            return fmt, about, text[m.start:m.end], score, "lex:" + str(a.get("format")) + ":" + str(a.get("scope"))
        if excluded:
            return None

        n = len(core)
        # 2. a question word closing a short fragment: "the what?", "you must be what?"
        if at_start and 2 <= n <= self.max_fragment_tokens + 3 and low[-1] in _WH_FINAL:
            before = low[-2]
            if before not in _EMBEDDING and (asks or before in _DETERMINERS):
                about = "reference" if low[-1] in ("who", "which") else "hearing"
                return "restricted_request", about, text[cs:ce], 0.8, "insitu_final"
        # 3. a verbless wh-fragment about the partner's words: "who?", "which basketball?", "what,
        # hockey?" ("what colour?" asks for more, having understood: a follow-up)
        if at_start and asks and low[0] in ("what", "who", "which") and n <= 3 and not self._has_verb(p, core):
            rest = self._content(p, core[1], core[-1] + 1, tok) if n > 1 else set()
            if n == 1 or (rest and rest <= ctx.recent) or low[1:] in (["one"], ["ones"]):
                about = "hearing" if low[0] == "what" else "reference"
                return "restricted_request", about, text[cs:ce], 0.7, "wh_fragment"
        # 4. "what's X?" / "who is X?" about words the partner just used
        if (at_start and qmark and 3 <= n <= 5 and low[0] in ("what", "who")
                and low[1] in ("'s", "is", "are", "was", "'re") and not self._has_verb(p, core[2:])):
            rest = set(self._content(p, core[2], core[-1] + 1, tok))
            if rest and rest <= ctx.vocab:
                return "restricted_request", "meaning" if low[0] == "what" else "reference", text[cs:ce], 0.7, "whats_x"
        # 5. in-situ wh inside a short declarative question: "so you went to what college?"
        if at_start and qmark and n <= self.max_fragment_tokens + 3 and low[0] not in _WH and not interrogative:
            for k in range(1, n - 1):
                if low[k] in ("what", "which") and low[k - 1] not in _EMBEDDING and n - k <= 3:
                    return "restricted_request", "hearing", text[cs:ce], 0.6, "insitu_mid"
        # 6. an alternative question: "Do you want it in Python or R?", "thirty or younger?"
        if question and self._alternative(low):
            if ctx.request and self._may_specify(ctx, answer_words, question):
                return "alternative", "intent", text[cs:ce], 0.7, "alt_request"
            if at_start and qmark and n <= self.max_fragment_tokens and not self._has_verb(p, core):
                return "alternative", "intent" if ctx.request else "meaning", text[cs:ce], 0.6, "alt_fragment"
        # 7. generic specification: an assistant's second-person question replying to its user's
        # request, not answering it (between people, only the lexicon's specification frames count)
        if (question and ctx.turn_role == Role.MODEL and ctx.request and self._may_specify(ctx, answer_words, question)
                and any(w in _SECOND_PERSON for w in low) | (interrogative and low[1] in _DEICTIC)
                and not self._past(p, core)):
            return "specification", "intent", text[cs:ce], 0.6, "spec_generic"
        # 8. a candidate understanding built from the partner's words, as a question: an echo
        # ("Tuesday?", "the red one?") or a declarative check ("so the far right corner as you
        # walk in?")
        if not (qmark and at_start and not interrogative and low[0] not in _WH and n <= self.max_check_tokens):
            return None
        if self._inverted(low) or low[-1] in _WH or low[-1] in ("you", "really") or low[:2] == ["i", "wonder"]:
            # "going back to the itinerary, can we swap…?", "…, why?", "…, you?", "I wonder how…"
            return None
        content = self._content(p, core[0], core[-1] + 1, tok)
        recent = {w for w in content if w in ctx.recent} if content else set()
        if content and recent:
            mostly = len(recent) >= self.echo_min_overlap * len(content)
            if n <= self.max_fragment_tokens and (mostly or not self._has_verb(p, core)):
                if self.echo_questions:
                    about = "hearing" if len(recent) == len(content) else "reference"
                    return "restricted_offer", about, text[cs:ce], 0.6, "echo"
            elif mostly and self.declarative_checks in ("overlap", "broad"):
                return "restricted_offer", "meaning", text[cs:ce], 0.5, "decl_overlap"
        # 9. any declarative question about the partner ("so you…?", "you've done this before?")
        if self.declarative_checks == "broad" and n >= 2 and (
                so_initial or any(w in _SECOND_PERSON for w in low)):
            return "restricted_offer", "meaning", text[cs:ce], 0.4, "decl_broad"
        return None

    @staticmethod
    def _inverted(low: Sequence[str]) -> bool:
        """An auxiliary before a subject pronoun after the first word: "…, can we swap…"."""
        return any((low[k] in _AUX and not low[k].startswith("'") and low[k + 1] in _PRONOUNS)
                   or (low[k] in _WH and low[k + 1] in _AUX) for k in range(1, len(low) - 1))

    def _alternative(self, low: Sequence[str]) -> bool:
        if "or" not in low:
            return False
        k = len(low) - 1 - low[::-1].index("or")
        return 0 < k < len(low) - 1 and low[-1] not in _ALT_END and low[k + 1] not in _ALT_END

    def _past(self, p: ParsedTurn, core: Sequence[int]) -> bool:
        """A past-tense question asks about a narrated event (a follow-up), not about a request."""
        low = [_norm(p.lower[k]) for k in core[:4]]
        if any(w in ("want", "mean", "meant", "wanting", "looking", "interested", "hoping") for w in low):
            return False  # "did you want…", "were you looking for…": about the request
        if any(w in ("did", "were", "was", "had") for w in low[:3]):
            return True
        if self.mode == "full" and p.tags:
            return any(p.tags[k] == "VBD" for k in core[:4])
        return False

    def _may_specify(self, ctx: _Ctx, answer_words: int, question: bool) -> bool:
        return ctx.request and question and answer_words <= self.max_answer_words
