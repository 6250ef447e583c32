"""Clarification requests in fast mode: the parse detector's rules, run only where a "?" or a frame is.

The scan counterpart of :mod:`convmaint.detect.clarification` (its docstring says what a
clarification request is and what the rules are). It reads the regex tokenizer's tokens and
sentences, the same lexicon (``lexicons/en/clarification.toml``) and the same word lists,
thresholds and options, and returns what the parse detector returns in lite mode on the same
tokens, but for the cases listed below. What makes it fast:

* **The gate.** A request either has a "?" or is a frame that needs none ("pardon me", "I didn't
  catch that", "what do you mean"). A turn without "?" costs two C-level set tests of its tokens
  against those frames' anchor words (for a whole-unit form, only near the turn's start); a turn
  with "?" is read only in its units with "?".
* **The unit filter.** A "?" unit goes on to the rules only if it is short and opens the turn
  (fragments, echoes: "the what?", "Tuesday?"), has "or" ("X or Y?"), is an assistant's
  question to its user, or may hold a frame. A plain question ("do you like it?", "where did
  you go?") is left out unless a frame may be in it.
* **Frames by scope.** A whole-unit form is one dictionary look-up of the unit's core (its
  words without fillers); a frame that must open or close the unit, a look-up at the core's
  start or end; only frames allowed anywhere are searched for, each through its rarest word.
* **Context on demand.** The target turn, the partner's vocabulary, whether the target was a
  request and whether the turn goes on to answer are computed only when a rule asks.

Differences from the parse detector: in text that marks questions with "?", a unit without one
counts only through a frame that needs none (the parse detector also tries question-word and
"X or Y" units without "?" in a turn with "or" or by an assistant, and "the what" without "?":
mostly false positives on SwDA and MRDA). A frame may open the core before or after a leading
"so" ("so you mean X?", "so what?": the parse detector's phrase regex lets "so you mean" hide
"you mean" after it strips the "so"). Content words are one set difference per turn (a rare
punctuation token not in the list may count as a word). Text that never marks questions (ASR
output, lower-cased query logs) is read unit by unit as the parse detector reads it, with the
partner's next turn as the question signal, skipping units no rule can take.
"""

from __future__ import annotations

import re
import string
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from itertools import product
from typing import Literal

from convmaint.detect.base import Detector, Mode, register_detector, units

# the parse detector's closed-class word lists (grammar, not cue vocabulary), so both modes read a unit alike
from convmaint.detect.clarification import (
    _ACKS,
    _ALT_END,
    _AUX,
    _DEICTIC,
    _DETERMINERS,
    _EMBEDDING,
    _FUNCTION,
    _LEAD_BY_FIRST,
    _PERSONAL,
    _PRONOUNS,
    _SECOND_PERSON,
    _SUBJ,
    _TRAIL_STRIP,
    _WH,
    _WH_AUX,
    _WH_FINAL,
)
from convmaint.lexicon import Entry, LexiconSet
from convmaint.model import Conversation, FrozenDict, Move, Role, Turn
from convmaint.nlp.base import ParsedTurn
from convmaint.nlp.regex_backend import tokenize

__all__ = ["FastClarificationDetector"]

LABEL = "clarification.request"
_EXCLUDE = "clarification.exclude"

_WORD_CHAR = re.compile(r"\w")
_WH_OPEN = frozenset({"what", "who", "which"})  # the question words of "who?", "which one?", "what's X?"
# Tokens that are never content words (the parse detector's rule: no function word, no single
# character but a digit, no punctuation): a set, so that a turn's content words are one set difference.
_NOT_CONTENT = _FUNCTION | frozenset(string.ascii_lowercase) | frozenset(string.punctuation) | frozenset(
    {"..", "...", "....", "--", "---", "\u2026", "\u2019", "\u2018", "\u201c", "\u201d", "\u2013", "\u2014", ":)", ":(",
     ";)", ":-)", ":-(", ";-)", ":/", ":-/", ":|", "=)", "=(", ":\\", ":-\\"})
# The tokens with a typographic apostrophe the regex tokenizer makes (clitics, "n’t", the mark alone),
# spelled with the ASCII one: a C-level map per token instead of a replace per token.
_APOSTROPHE = {w.replace("'", "\u2019"): w for w in ("'s", "'m", "'d", "'ll", "'re", "'ve", "n't", "'")}
_FMT_RANK = {"open": 0, "restricted_request": 1, "restricted_offer": 2, "alternative": 3, "specification": 4}
_SCOPE_RANK = {"unit": 0, "start": 1, "end": 1, "any": 2}


class _Cue:
    """One lexicon entry as the rules read it."""

    __slots__ = ("about", "after_answer", "fmt", "label", "needs", "rank", "scope", "to_model")

    def __init__(self, e: Entry) -> None:
        a = e.attributes
        self.label = e.label
        self.scope = str(a.get("scope", "any"))
        self.needs = str(a.get("needs", "none"))
        self.fmt = str(a.get("format", ""))
        self.about = str(a.get("about", ""))
        self.after_answer = bool(a.get("after_answer"))
        self.to_model = bool(a.get("to_model"))
        self.rank = _SCOPE_RANK.get(self.scope, 2) * 10 + _FMT_RANK.get(self.fmt, 0)


def _phrases(e: Entry) -> list[tuple[str, ...]]:
    """The token sequences an entry matches (phrases tokenized as the regex backend does; token
    patterns of plain LOWER words or IN lists expanded); [] for patterns beyond that."""
    if e.match == "phrase":
        return [tuple(w.lower().replace("\u2019", "'") for w in tokenize(str(e.pattern))[0])]
    choices: list[tuple[str, ...]] = []
    for spec in e.pattern:  # type: ignore[union-attr]
        want = spec.get("LOWER")
        if set(spec) != {"LOWER"}:
            return []
        if isinstance(want, str):
            choices.append((want,))
        elif isinstance(want, dict) and set(want) == {"IN"}:
            choices.append(tuple(want["IN"]))
        else:
            return []
    return [tuple(c) for c in product(*choices)]


# The anchor of a phrase is its least common word: a content word, else a function word that is no
# pronoun, question word or auxiliary ("mean", "say", "one"), else any.
_VERY_COMMON = _WH_AUX | _SUBJ | _DETERMINERS | frozenset({"and", "or", "but", "if", "so", "of", "to", "in", "on", "at",
                                                           "for", "with", "not", "no", "me", "like", "just", "well"})


def _rarity(w: str) -> int:
    return 0 if w in _VERY_COMMON else (1 if w in _FUNCTION else 2)


def _rarest(words: tuple[str, ...]) -> str:
    """The least common word of a phrase (by the rough classes of _rarity; content words first)."""
    return max(words, key=lambda w: (_rarity(w), w not in _WH_AUX, len(w)))


def _is_word(w: str) -> bool:
    """Not punctuation (the regex tokenizer's punctuation tokens have no word character)."""
    return w.isalnum() or _WORD_CHAR.search(w) is not None


def _words(lower: Sequence[str], i: int, j: int) -> list[int]:
    """The indexes of the word tokens among tokens ``[i, j)``."""
    return [k for k in range(i, j) if lower[k].isalnum() or _WORD_CHAR.search(lower[k]) is not None]


# One-word fillers a unit may open with before its core (the parse detector's lead strip), and "so".
_OPENERS = frozenset(seq[0] for seqs in _LEAD_BY_FIRST.values() for seq in seqs if len(seq) == 1) | {"so"}


def _plain_question(lower: tuple[str, ...], ti: int, tj: int, unit_last: frozenset[str]) -> bool:
    """A question that, without a lexicon frame allowed inside it, no rule takes (a cheap sufficient test
    on tokens ``[ti, tj)`` of a "?" unit that is no "X or Y?" and no assistant's): after one-word
    fillers and "so", an auxiliary and a subject ("do you like it?") or a question word other than
    what/who/which, or with more than five words; not ending in a question word ("you did what?",
    "he said what exactly?") or in the last word of a whole-unit form (``unit_last``: "which one?").
    Other openings ("I mean", "you know") are left to the rules."""
    i = ti
    while i < tj and (lower[i] in _OPENERS or not lower[i][:1].isalnum()):
        i += 1
    if i >= tj - 1 or lower[i] in _LEAD_BY_FIRST:
        return False
    w0 = lower[i]
    k = tj - 1
    while k > i and (not lower[k][:1].isalnum() or lower[k] in _TRAIL_STRIP):
        if lower[k][:1] in "'\u2019":
            return False  # a clitic ("who's?"): leave it to the rules
        k -= 1
    if lower[k] in _WH_FINAL or lower[k] in unit_last:
        return False
    if w0 in _AUX and not w0.startswith("'") and tj - i > 2:
        w1 = lower[i + 1]
        if w1 == "n't" and tj - i > 3:
            w1 = lower[i + 2]
        return w1 in _SUBJ or w1 in _DETERMINERS
    if w0 in _WH:
        # fewer words than tokens counted (clitics and punctuation left out): erring towards the rules
        return w0 not in _WH_OPEN or sum(1 for w in lower[i:tj] if w[:1].isalnum()) > 5
    return False


def _by_start_longest(m: tuple[int, int, tuple[_Cue, ...]]) -> tuple[int, int]:
    return m[0], -m[1]


class _Frames:
    """Lexicon phrases matched on a turn's lower-case tokens, through one anchor word each.

    Each phrase is indexed by its least common word; a turn whose tokens contain no anchor (one
    C-level set test) has no match. Matches follow the parse detector's phrase regex: no word
    character, apostrophe or hyphen glued on either side, leftmost-longest, not overlapping.
    """

    def __init__(self, entries: Iterable[Entry]) -> None:
        table: dict[tuple[str, ...], list[_Cue]] = {}
        for e in entries:
            cue = _Cue(e)
            for toks in _phrases(e):
                if toks:
                    table.setdefault(toks, []).append(cue)
        # anchor -> (words before it, words from it on, its offset, length, cues) per phrase
        self.by_anchor: dict[str, list[tuple[tuple[str, ...], tuple[str, ...], int, int, tuple[_Cue, ...]]]] = {}
        for toks, cues in table.items():
            k = max(range(len(toks)), key=lambda j: (_rarity(toks[j]), len(toks[j]), j))
            self.by_anchor.setdefault(toks[k], []).append((toks[:k], toks[k:], k, len(toks), tuple(cues)))
        self.anchors = frozenset(self.by_anchor)

    def anchors_of(self, keep: Callable[[_Cue], bool]) -> frozenset[str]:
        """The anchors of the phrases with a cue that ``keep`` accepts."""
        return frozenset(a for a, phrases in self.by_anchor.items() if any(keep(c) for *_, cs in phrases for c in cs))

    def find(self, text: str, p: ParsedTurn, lower: tuple[str, ...], present: Iterable[str] | None = None,
             start: int = 0, end: int | None = None) -> list[tuple[int, int, tuple[_Cue, ...]]]:
        """Matches ``(first_token, end_token, cues)`` within tokens ``[start, end)``, sorted; ``present``:
        the anchors to try (those in the span when None)."""
        n = len(lower) if end is None else end
        if present is None:
            present = self.anchors.intersection(lower[start:n])
            if not present:
                return []
        by_anchor = self.by_anchor
        found = []
        for k in range(start, n):
            a = lower[k]
            if a not in present:
                continue
            for before, after, off, length, cues in by_anchor[a]:
                if length == 1:
                    found.append((k, k + 1, cues))
                    continue
                s = k - off
                t = s + length
                if s >= start and t <= n and lower[k:t] == after and (not off or lower[s:k] == before):
                    found.append((s, t, cues))
        if not found:
            return found
        if len(found) > 1:
            found.sort(key=_by_start_longest)
        out = []
        last = -1
        for s, t, cues in found:
            if s < last or _glued(text, p, s, t):
                continue
            out.append((s, t, cues))
            last = t
        return out


class _UnitFrames:
    """The clarification frames by scope, matched against a unit's core (its words without fillers).

    A whole-unit form is one dictionary look-up of the core's words; a frame that opens or closes the
    unit, a look-up per frame length at the core's start or end; only frames allowed anywhere are
    searched for (through their anchor words, :class:`_Frames`).
    """

    def __init__(self, entries: Iterable[Entry]) -> None:
        self.unit: dict[tuple[str, ...], list[_Cue]] = {}
        self.start: dict[tuple[str, ...], list[_Cue]] = {}
        self.end: dict[tuple[str, ...], list[_Cue]] = {}
        anywhere = []
        for e in entries:
            scope = str(e.attributes.get("scope", "any"))
            if scope == "any":
                anywhere.append(e)
                continue
            table = {"unit": self.unit, "start": self.start, "end": self.end}[scope]
            cue = _Cue(e)
            for toks in _phrases(e):
                if toks:
                    table.setdefault(toks, []).append(cue)
        self.anywhere = _Frames(anywhere)
        self.unit_max = max(map(len, self.unit), default=0)
        self.start_lens = sorted({len(t) for t in self.start})
        self.end_lens = sorted({len(t) for t in self.end})
        # For may(): the request frames that open (close) a unit by their first (last) two words, and
        # the rarest word of each (a C-level test before the look-ups); for find(), the pairs of all.
        self.start_first: dict[tuple[str, ...], list[int]] = {}
        self.end_last: dict[tuple[str, ...], list[int]] = {}
        self.start_anchors = frozenset(_rarest(t) for t, cs in self.start.items() if any(c.label == LABEL for c in cs))
        self.end_anchors = frozenset(_rarest(t) for t, cs in self.end.items() if any(c.label == LABEL for c in cs))
        self.short_frames = any(len(t) < 2 for t in (*self.start, *self.end))
        self.start_pairs = frozenset(t[:2] for t in self.start)
        self.end_pairs = frozenset(t[-2:] for t in self.end)
        for t, cs in self.start.items():
            if any(c.label == LABEL for c in cs):
                self.start_first.setdefault(t[:2], []).append(len(t))
        for t, cs in self.end.items():
            if any(c.label == LABEL for c in cs):
                self.end_last.setdefault(t[-2:], []).append(len(t))
        self.any_anchors = self.anywhere.anchors_of(lambda c: c.label == LABEL)
        self.unit_words = frozenset(_rarest(t) for t, cs in self.unit.items() if any(c.label == LABEL for c in cs))
        self.unit_last = frozenset(t[-1] for t, cs in self.unit.items() if any(c.label == LABEL for c in cs))

    def may(self, text: str, p: ParsedTurn, lower: tuple[str, ...], ti: int, tj: int) -> bool:
        """Whether tokens ``[ti, tj)`` may hold a request frame that is not a whole-unit form (a cheap
        necessary condition): one allowed anywhere, or the first (last) two words of one that opens
        (closes) a unit within its first (last) few tokens."""
        if self.short_frames:
            return True
        start, end = self.start, self.end
        if not self.start_anchors.isdisjoint(lower[ti:ti + 8]):
            sf = self.start_first
            for k in range(ti, min(tj - 1, ti + 6)):
                for length in sf.get(lower[k:k + 2], ()):
                    if lower[k:k + length] in start:
                        return True
        if not self.end_anchors.isdisjoint(lower[max(ti, tj - 6):tj]):
            el = self.end_last
            for k in range(tj, max(ti + 1, tj - 4), -1):
                for length in el.get(lower[k - 2:k], ()):
                    if lower[k - length:k] in end:
                        return True
        present = self.any_anchors.intersection(lower[ti:tj])
        return bool(present) and any(c.label == LABEL for m in self.anywhere.find(text, p, lower, present, ti, tj)
                                     for c in m[2])

    def find(self, text: str, p: ParsedTurn, lower: tuple[str, ...], firsts: Sequence[int], c1: int, n: int, ti: int,
             tj: int) -> list[tuple[int, int, tuple[_Cue, ...]]]:
        """The frames in a unit (tokens ``[ti, tj)``) that can be in scope: allowed anywhere, or opening at a
        core start in ``firsts`` (the core of ``n`` words, and without an opening "so"), closing at token
        ``c1`` or spanning from a core start to there. Leftmost-longest and not overlapping, like the
        parse detector's phrase matches."""
        out = self.anywhere.find(text, p, lower, None, ti, tj)
        for c0 in firsts:
            if c1 - c0 <= self.unit_max:
                cues = self.unit.get(lower[c0:c1])
                if cues and not _glued(text, p, c0, c1):
                    out.append((c0, c1, tuple(cues)))
            if self.short_frames or lower[c0:c0 + 2] in self.start_pairs:
                for length in self.start_lens:
                    if length > n:
                        break
                    cues = self.start.get(lower[c0:c0 + length])
                    if cues and not _glued(text, p, c0, c0 + length):
                        out.append((c0, c0 + length, tuple(cues)))
        if self.short_frames or lower[c1 - 2:c1] in self.end_pairs:
            for length in self.end_lens:
                if length > n:
                    break
                cues = self.end.get(lower[c1 - length:c1])
                if cues and not _glued(text, p, c1 - length, c1):
                    out.append((c1 - length, c1, tuple(cues)))
        if len(out) > 1:
            out.sort(key=_by_start_longest)
            kept = [out[0]]
            for m in out[1:]:
                k = kept[-1]
                if m[0] >= k[1]:
                    kept.append(m)
                elif m[0] == k[0] and m[1] == k[1]:  # one phrase, several entries ("which one": two scopes)
                    kept[-1] = (k[0], k[1], k[2] + m[2])
            out = kept
        return out


def _glued(text: str, p: ParsedTurn, s: int, t: int) -> bool:
    """Tokens ``[s, t)`` are glued to a word: "huh" in "uh-huh", "what" in "what'd" (phrases match whole words)."""
    c0 = p.starts[s]
    c1 = p.starts[t - 1] + len(p.words[t - 1])
    return bool((c0 and (text[c0 - 1].isalnum() or text[c0 - 1] in "_'\u2019-")) or (
        c1 < len(text) and (text[c1].isalnum() or text[c1] in "_'\u2019")))


class _Turn:
    """A turn's normalised lower-case tokens (and content words), built on first use in one detect() call."""

    __slots__ = ("content", "lower", "p")

    def __init__(self, p: ParsedTurn, text: str) -> None:
        self.p = p
        lower = p.lower
        if "\u2019" in text:  # typographic apostrophes match the lexicon's ASCII ones
            lower = tuple(map(_APOSTROPHE.get, lower, lower))
        self.lower: tuple[str, ...] = lower
        self.content: frozenset[str] | None = None


# "uh-huh", "mm-hmm", "um-hum" reach fast mode as two words (the tokenizer splits at the hyphen)
_ACK_WORDS = _ACKS | {"uh", "um", "hum", "hmm", "mhm"}


def _ack_only(tk: _Turn) -> bool:
    """At most three words, all acknowledgements."""
    n = 0
    for w in tk.lower:
        if not _is_word(w):
            continue
        n += 1
        if n > 3 or w not in _ACK_WORDS:
            return False
    return True


class _Answer:
    """Whether a turn has at most ``max_answer_words`` words outside its questions (computed on first use)."""

    __slots__ = ("_brief", "_det", "_p", "_q", "_tk", "_turn")

    def __init__(self, det: FastClarificationDetector, turn: Turn, p: ParsedTurn, tk: _Turn, q: bool) -> None:
        self._det, self._turn, self._p, self._tk, self._q = det, turn, p, tk, q
        self._brief: bool | None = None

    @property
    def brief(self) -> bool:
        """The turn does not go on to answer: few words outside its questions."""
        if self._brief is None:
            det, text, p, lower = self._det, self._turn.text, self._p, self._tk.lower
            limit = det.max_answer_words
            n = 0
            for s, e, ti, tj in det._all_units(self._turn, p):
                if self._q and text.find("?", s, e) >= 0:
                    continue
                toks = _words(lower, ti, tj)
                if not toks:
                    continue
                head = [lower[k] for k in toks[:12]]
                a, _ = det._core(head)
                if not det._interrogative(head[a:a + 3]):
                    n += len(toks)
                    if n > limit:
                        break
            self._brief = n <= limit
        return self._brief


class _Ctx:
    """Per-turn context: the target turn, the partner's vocabulary and next turn, each on first use."""

    __slots__ = ("_asked", "_conv", "_det", "_i", "_memo", "_next_overlap", "_parsed", "_pre_announcement", "_prev",
                 "_recent", "_request", "_target", "_to_model", "_vocab", "punctuated", "turn_role")

    def __init__(self, det: FastClarificationDetector, conv: Conversation, parsed: Sequence[ParsedTurn],
                 memo: dict[int, _Turn], i: int, punctuated: bool) -> None:
        self._det, self._conv, self._parsed, self._memo, self._i = det, conv, parsed, memo, i
        self._prev: list[int] | None = None
        self.punctuated = punctuated
        self.turn_role = conv.turns[i].role
        self._target: int | None = None
        self._to_model: bool | None = None
        self._vocab: frozenset[str] | None = None
        self._recent: frozenset[str] | None = None
        self._asked: bool | None = None
        self._request: bool | None = None
        self._next_overlap: bool | None = None
        self._pre_announcement: bool | None = None

    @property
    def prev(self) -> list[int]:
        """The partner's turns among the last five, latest first."""
        if self._prev is None:
            i, turns = self._i, self._conv.turns
            speaker = turns[i].speaker
            self._prev = [k for k in range(i - 1, max(-1, i - 6), -1) if turns[k].speaker != speaker]
        return self._prev

    @property
    def target(self) -> int:
        """The partner's turn being clarified: the last one, or the one before a bare acknowledgement."""
        if self._target is None:
            turns, prev = self._conv.turns, self.prev
            target = prev[0]
            if _ack_only(self.turn(target)):
                # "Yeah." then "what was the X you said?": the clarified talk is the partner's turn before
                earlier = [k for k in prev[1:] if turns[k].speaker == turns[target].speaker]
                if earlier and not _ack_only(self.turn(earlier[0])):
                    target = earlier[0]
            self._target = target
        return self._target

    @property
    def to_model(self) -> bool:
        """A model's turn replying to a human's."""
        if self._to_model is None:
            self._to_model = self.turn_role == Role.MODEL and self._conv.turns[self.target].role == Role.HUMAN
        return self._to_model

    def turn(self, k: int) -> _Turn:
        tk = self._memo.get(k)
        if tk is None:
            tk = self._memo[k] = _Turn(self._parsed[k], self._conv.turns[k].text)
        return tk

    def content(self, k: int) -> frozenset[str]:
        tk = self.turn(k)
        if tk.content is None:
            # function words, single letters and punctuation out, at C speed (what is left is a content
            # word but for rare tokens the set does not list: "......", a single non-ASCII letter)
            tk.content = frozenset(tk.lower).difference(_NOT_CONTENT)
        return tk.content

    @property
    def vocab(self) -> frozenset[str]:
        """Content words of the target (and of the partner's last turn, when that was only an ack)."""
        if self._vocab is None:
            vocab = self.content(self.target)
            if self.prev[0] != self.target:
                vocab = vocab | self.content(self.prev[0])
            self._vocab = vocab
        return self._vocab

    @property
    def recent(self) -> frozenset[str]:
        """``vocab`` and the content words of the partner's last three turns."""
        if self._recent is None:
            recent = set(self.vocab)
            for k in self.prev[:3]:
                recent |= self.content(k)
            self._recent = frozenset(recent)
        return self._recent

    @property
    def pre_announcement(self) -> bool:
        """The target's last sentence is a pre-announcement ("guess what?")."""
        if self._pre_announcement is None:
            tk = self.turn(self.target)
            p = tk.p
            self._pre_announcement = bool(p.words) and bool(
                self._det._pre.find(self._conv.turns[self.target].text, p, tk.lower, start=max(p.sent_starts)))
        return self._pre_announcement

    @property
    def asked(self) -> bool:
        """The target is a question."""
        if self._asked is None:
            tk = self.turn(self.target)
            self._asked = "?" in self._conv.turns[self.target].text or (len(tk.lower) > 1 and tk.lower[0] in _WH_AUX)
        return self._asked

    @property
    def request(self) -> bool:
        """The target asks the speaker for something."""
        if self._request is None:
            tk = self.turn(self.target)
            n = len(tk.lower)
            query = 0 < n <= 8 and _PERSONAL.isdisjoint(tk.lower)
            self._request = (self.to_model and (query or self.asked)) or self._det._is_request(
                tk, self._conv.turns[self.target].text, self.to_model)
        return self._request

    @property
    def next_overlap(self) -> bool:
        """The partner's next turn repeats the trouble source ("I said …", or mostly the target's words)."""
        if self._next_overlap is None:
            self._next_overlap = False
            turns = self._conv.turns
            vocab = self.vocab
            if self._det.use_next_turn and vocab:
                speaker = turns[self.target].speaker
                for k in range(self._i + 1, min(len(turns), self._i + 3)):
                    if turns[k].speaker == speaker:
                        if list(self.turn(k).lower[:2]) == ["i", "said"]:
                            self._next_overlap = True
                        else:
                            c = self.content(k)
                            shared = c & vocab
                            self._next_overlap = bool(shared) and len(shared) >= 0.5 * len(c)
                        break
        return self._next_overlap


@register_detector
class FastClarificationDetector(Detector):
    """Detect ``clarification.request`` moves (``format``, ``about``, ``target``) in fast mode.

    Same rules, options and defaults as :class:`convmaint.detect.clarification.ClarificationDetector`
    in lite mode, applied only where a "?" or a no-question-needed lexicon frame shows a candidate.

    Args:
        lexicons: The loaded lexicons (uses ``clarification``).
        mode: ``fast`` only.
        max_lead_words: Open and fragment requests must open the turn: at most this many words
            may come before the unit in the same turn. Default 3.
        max_fragment_tokens: Longest wh-fragment or echo question, in words. Default 5.
        max_check_tokens: Longest declarative understanding check, in words. Default 30.
        echo_min_overlap: Share of a short question's content words that must come from the
            partner's last turns for it to count as an echo. Default 0.5.
        max_answer_words: A specification or alternative question counts only in a turn with at
            most this many words outside its questions. Default 25.
        echo_questions: Report echo questions ("Tuesday?") as restricted offers. Default True.
        declarative_checks: Longer declarative questions reported as restricted offers: ``off``
            (default), ``overlap`` (most content words from the partner's recent turns) or
            ``broad`` (also any "so …?" or second-person declarative question).
        use_next_turn: In text that never uses "?", accept a partner's next turn that repeats the
            trouble source as the question signal. Default True.

    Example:
        >>> from convmaint.pipeline import Annotator  # doctest: +SKIP
        >>> ann = Annotator.create(["clarification"], mode="fast")  # doctest: +SKIP
    """

    name = "clarification"
    version = 1
    engine = "scan"
    labels = (LABEL,)
    requires = frozenset({"tokens", "sents"})
    order = 10

    def __init__(
        self,
        *,
        lexicons: LexiconSet,
        mode: Mode = "fast",
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
        entries = lexicons["clarification"].entries
        self._cues = _Frames(e for e in entries if e.label in (LABEL, _EXCLUDE))
        # In text that uses "?", a turn without one can hold only a frame that needs none; a whole-unit
        # frame must open the turn (within max_lead_words), so its anchor is looked for near the start.
        self._none_unit = self._cues.anchors_of(lambda c: c.label == LABEL and c.needs == "none" and c.scope == "unit")
        self._none_other = self._cues.anchors_of(lambda c: c.label == LABEL and c.needs == "none" and c.scope != "unit")
        self._head = max_lead_words + 9  # tokens: leading words, fillers and punctuation, the frame
        self._scoped = _UnitFrames(e for e in entries if e.label in (LABEL, _EXCLUDE))
        # A "?" unit longer than this (in tokens) is no fragment or echo (at most max_fragment_tokens + 3
        # words, after fillers; punctuation and fillers allowed for)
        self._long = (max_fragment_tokens + 3 if declarative_checks == "off" else max_check_tokens) + 8
        self._context = _Frames(e for e in entries if e.label == "clarification.request_context")
        self._pre = _Frames(e for e in entries if e.label == "clarification.pre_announcement")
        self._attrs: dict[tuple[str, str], FrozenDict] = {}
        self._debug = False  # error analysis: record which rule fired as attributes["rule"]

    # ------------------------------------------------------------------------------ detection

    def detect(self, conv: Conversation, parsed: Sequence[ParsedTurn], prior: Sequence[Move] = ()) -> list[Move]:
        moves: list[Move] = []
        turns = conv.turns
        # Text that never marks questions (ASR output, lower-cased query logs) is read unit by unit.
        punctuated = any("?" in t.text for t in turns)
        none_unit, none_other, head = self._none_unit, self._none_other, self._head
        memo: dict[int, _Turn] = {}
        for i, turn in enumerate(turns):
            text = turn.text
            p = parsed[i]
            q = "?" in text
            if punctuated and not q:
                lower = p.lower
                if none_other.isdisjoint(lower) and none_unit.isdisjoint(lower[:head]):
                    continue  # the common case: two C-level set tests
            if not p.words:
                continue
            speaker = turn.speaker
            k = i - 1  # a request points back at the partner's turn: with none before, nothing to clarify
            while k >= 0 and k > i - 6 and turns[k].speaker == speaker:
                k -= 1
            if k < 0 or k <= i - 6:
                continue
            tk = memo.get(i)
            if tk is None:
                tk = memo[i] = _Turn(p, text)
            if punctuated:
                spans = self._spans(turn, p, tk, q)
            else:
                spans = self._open_spans(turn, p, tk)
            if not spans:
                continue
            ctx = _Ctx(self, conv, parsed, memo, i, punctuated)
            info = _Answer(self, turn, p, tk, q)
            lower = tk.lower
            for s, e, ti, tj, qmark, lead in spans:
                toks = _words(lower, ti, tj)
                if not toks:
                    continue
                low = [lower[k] for k in toks]
                a, b = self._core(low)
                if lead < 0:
                    lead = self._lead(lower, ti)
                found = self._classify(p, tk, toks[a:b], low[a:b], qmark, lead, info, ctx, ti, tj)
                if found is not None:
                    fmt, about, cue, score, rule = found
                    if self._debug:
                        attrs = FrozenDict(format=fmt, about=about, rule=rule)
                    else:  # one read-only mapping per (format, about), shared by the moves (Move would copy a dict)
                        attrs = self._attrs.get((fmt, about)) or self._attrs.setdefault(
                            (fmt, about), FrozenDict(format=fmt, about=about))
                    moves.append(self.move(LABEL, i, s, e, cue=cue, target=ctx.target, attributes=attrs, score=score))
        return moves

    def _unit_spans(self, turn: Turn, p: ParsedTurn, chars: Iterable[int]) -> list[tuple[int, int, int, int]]:
        """The units ``(start, end, first_token, end_token)`` holding the characters ``chars`` (ascending), once each."""
        out: list[tuple[int, int, int, int]] = []
        starts = p.starts
        if turn.segments or "sents" not in p.annotations:
            us = units(turn, p)
            for c in chars:
                for s, e in us:
                    if s <= c < e:
                        if not out or out[-1][0] != s:
                            out.append((s, e, bisect_left(starts, s), bisect_left(starts, e)))
                        break
            return out
        # unsegmented text: the sentence around the character, from the parse's sentence starts
        ss = p.sent_starts
        n = len(starts)
        for c in chars:
            k = bisect_right(starts, c) - 1
            if k < 0:
                continue
            x = bisect_right(ss, k) - 1
            a = ss[x] if x >= 0 else 0
            if out and out[-1][2] == a:
                continue
            b = ss[x + 1] if x + 1 < len(ss) else n
            out.append((starts[a], starts[b - 1] + len(p.words[b - 1]), a, b))
        return out

    @staticmethod
    def _all_units(turn: Turn, p: ParsedTurn) -> list[tuple[int, int, int, int]]:
        """Every unit ``(start, end, first_token, end_token)`` of a turn."""
        starts = p.starts
        if turn.segments or "sents" not in p.annotations:
            return [(s, e, bisect_left(starts, s), bisect_left(starts, e)) for s, e in units(turn, p)]
        ss = sorted(set(p.sent_starts) | {0}) if p.sent_starts[:1] != (0,) else p.sent_starts
        n = len(starts)
        out = []
        for x, a in enumerate(ss):
            b = ss[x + 1] if x + 1 < len(ss) else n
            if a < b:
                out.append((starts[a], starts[b - 1] + len(p.words[b - 1]), a, b))
        return out

    def _spans(self, turn: Turn, p: ParsedTurn, tk: _Turn, q: bool) -> list[tuple[int, int, int, int, bool, list]]:
        """Candidate units in text that marks questions: those with "?", and those with a frame that needs none."""
        text, lower = turn.text, tk.lower
        cues = self._cues
        out = []
        if q:
            chars = []
            k = text.find("?")
            while k >= 0:
                chars.append(k)
                k = text.find("?", k + 1)
            long, max_lead = self._long, self.max_lead_words
            model = turn.role == Role.MODEL
            scoped = self._scoped
            for s, e, ti, tj in self._unit_spans(turn, p, chars):
                span = lower[ti:tj]
                # Fragments and echoes are short and open the turn; an "X or Y?" or an assistant's question
                # to its user (a specification) may be longer; anything else needs a frame that is not a
                # whole-unit form.
                if "or" in span or (model and (lower[ti] in _AUX or not _SECOND_PERSON.isdisjoint(span))):
                    out.append((s, e, ti, tj, True, -1))
                elif tj - ti <= long and (ti <= max_lead or self._lead(lower, ti) <= max_lead):
                    if not _plain_question(lower, ti, tj, scoped.unit_last) or scoped.may(text, p, lower, ti, tj):
                        out.append((s, e, ti, tj, True, -1))
                elif scoped.may(text, p, lower, ti, tj):
                    out.append((s, e, ti, tj, True, -1))
        # frames that need no "?", in the other units
        if q and not turn.segments and len(p.sent_starts) == 1:
            return out  # one sentence: its unit was looked at above
        present = self._none_other.intersection(lower)
        head = self._none_unit.intersection(lower[:self._head])
        if head:
            present |= head
        if not present:
            return out
        found = [m for m in cues.find(text, p, lower, present) if any(c.label == LABEL and c.needs == "none" for c in m[2])]
        if found:
            done = {x[2] for x in out}
            for s, e, ti, tj in self._unit_spans(turn, p, [p.starts[m[0]] for m in found]):
                if ti not in done and not (q and text.find("?", s, e) >= 0):
                    out.append((s, e, ti, tj, False, -1))
            out.sort(key=lambda x: x[0])
        return out

    def _open_spans(self, turn: Turn, p: ParsedTurn, tk: _Turn) -> list[tuple[int, int, int, int, bool, list]]:
        """Candidate units in text that never marks questions: every unit that some rule could take."""
        lower = tk.lower
        model = turn.role == Role.MODEL
        scoped = self._scoped
        out = []
        for s, e, ti, tj in self._all_units(turn, p):
            if ti >= tj:
                continue
            span = lower[ti:tj]
            lead = self._lead(lower, ti)
            # without "?", a fragment must end in a question word ("the what") or open with one ("which
            # basketball"); anything else needs a frame, an "X or Y", or an assistant's question
            if "or" in span or (model and (lower[ti] in _WH_AUX or not _SECOND_PERSON.isdisjoint(span))) or (
                    tj - ti <= self._long and lead <= self.max_lead_words and (
                        lower[tj - 1] in _WH_FINAL or not _WH_OPEN.isdisjoint(lower[ti:ti + 4])
                        or (tj - ti <= scoped.unit_max + 8 and not scoped.unit_words.isdisjoint(lower[ti:tj])))) or (
                    scoped.may(turn.text, p, lower, ti, tj)):
                out.append((s, e, ti, tj, False, lead))
        return out

    def _lead(self, lower: Sequence[str], ti: int) -> int:
        """Words before token ``ti`` in the turn, counted up to one past ``max_lead_words``."""
        limit = self.max_lead_words
        if ti <= limit:
            return len(_words(lower, 0, ti))
        n = 0
        for k in range(ti - 1, -1, -1):
            w = lower[k]
            if w.isalnum() or _WORD_CHAR.search(w) is not None:
                n += 1
                if n > limit:
                    break
        return n

    # ------------------------------------------------------------------------------ helpers

    @staticmethod
    def _core(low: list[str]) -> tuple[int, int]:
        """The bounds of the words ``low`` without leading fillers, apologies and cut-offs and trailing
        fillers (the parse detector's core of a unit)."""
        a = 0
        n = len(low)
        last = n - 1
        changed = True
        while changed and a < last:
            changed = False
            w = low[a]
            if w.endswith("-") and a + 1 < n:
                a += 1
                changed = True
                continue
            for seq in _LEAD_BY_FIRST.get(w, ()):
                k = len(seq)
                if a + k < n and tuple(low[a:a + k]) == seq:
                    a += k
                    changed = True
                    break
        b = n
        while b - 1 > a and low[b - 1] in _TRAIL_STRIP:
            b -= 1
        return a, b

    @staticmethod
    def _span_content(lower: Sequence[str], i: int, j: int) -> set[str]:
        out = set()
        for k in range(i, j):
            w = lower[k]
            if not _is_word(w):
                continue
            w = w.strip("-")
            if w and w not in _FUNCTION and (len(w) > 1 or w.isdigit()):
                out.add(w)
        return out

    @staticmethod
    def _interrogative(low: Sequence[str]) -> bool:
        """Question word order: auxiliary then subject ("are you…", "is this…")."""
        if len(low) < 2:
            return False
        first, second = low[0], low[1]
        if second == "n't" and len(low) > 2:
            second = low[2]
        return first in _AUX and not first.startswith("'") and (second in _SUBJ or second in _DETERMINERS)

    @staticmethod
    def _inverted(low: Sequence[str]) -> bool:
        """An auxiliary before a subject pronoun after the first word: "…, can we swap…"."""
        return any((low[k] in _AUX and not low[k].startswith("'") and low[k + 1] in _PRONOUNS)
                   or (low[k] in _WH and low[k + 1] in _AUX) for k in range(1, len(low) - 1))

    @staticmethod
    def _alternative(low: Sequence[str]) -> bool:
        if "or" not in low:
            return False
        k = len(low) - 1 - low[::-1].index("or")
        return 0 < k < len(low) - 1 and low[-1] not in _ALT_END and low[k + 1] not in _ALT_END

    @staticmethod
    def _past(low: Sequence[str]) -> bool:
        """A past-tense question asks about a narrated event (a follow-up), not about a request."""
        low = low[:4]
        if any(w in ("want", "mean", "meant", "wanting", "looking", "interested", "hoping") for w in low):
            return False
        return any(w in ("did", "were", "was", "had") for w in low[:3])

    def _is_request(self, tk: _Turn, text: str, to_model: bool) -> bool:
        p = tk.p
        matches = self._context.find(text, p, tk.lower)
        if not matches:
            return False
        sent_starts = set(p.sent_starts)
        for s, _, cs in matches:
            for c in cs:
                if c.to_model and not to_model:
                    continue
                if c.scope != "start" or s == 0 or s in sent_starts:
                    return True
        return False

    def _classify(self, p: ParsedTurn, tk: _Turn, core: list[int], low: list[str], qmark: bool, lead: int,
                  info: _Answer, ctx: _Ctx, ti: int, tj: int) -> tuple[str, str, str, float, str] | None:
        text = p.text
        lower = tk.lower
        c_first, c_last = core[0], core[-1]
        # "so, are you…" is still a question; "so X?" a candidate understanding. A frame may open the
        # core before or after the "so" ("so you mean…", "so what?").
        firsts: tuple[int, ...] = (c_first,)
        so_initial = low[0] == "so" and len(core) > 1
        if so_initial:
            core, low = core[1:], low[1:]
            c_first = core[0]
            firsts = (firsts[0], c_first)
        cs, ce = p.starts[c_first], p.starts[c_last] + len(p.words[c_last])
        at_start = lead <= self.max_lead_words
        asks = qmark or (self.use_next_turn and not ctx.punctuated and ctx.next_overlap)
        interrogative = self._interrogative(low)
        question = qmark or interrogative or low[0] in _WH or (
            not ctx.punctuated and (any(w in _WH for w in low[:3]) or self._inverted(low)))

        scoped: list[tuple[int, int, _Cue]] = []
        excluded = False
        for ms, mt, cues in self._scoped.find(text, p, lower, firsts, c_last + 1, len(core) + so_initial, ti, tj):
            for c in cues:
                scope = c.scope
                if scope == "unit":
                    if ms not in firsts or mt != c_last + 1:
                        continue
                elif scope == "start":
                    if ms not in firsts:
                        continue
                elif scope == "end" and mt != c_last + 1:
                    continue
                if c.label == LABEL:
                    scoped.append((ms, mt, c))
                elif scope == "unit":
                    return None
                else:
                    excluded = True
        # 1. lexicon frames, most specific first: whole-unit forms, then start/end, then anywhere
        best: tuple[int, int, int, _Cue] | None = None
        for ms, mt, c in scoped:
            if c.needs == "question" and not asks:
                continue
            if c.needs == "request":
                # a reply to a request; or a question-first reply to a question that does not answer it
                fits = question and (ctx.request or (ctx.to_model and c.after_answer and not self._past(low))) and (
                    c.after_answer or info.brief)
                fits = fits or (ctx.asked and at_start and (qmark or not ctx.punctuated)
                                and (interrogative or low[0] in _WH) and info.brief)
                if not fits:
                    continue
            if c.scope == "unit" and not at_start:
                continue
            if c.fmt == "specification" and excluded:
                continue
            if best is None or c.rank < best[0]:
                best = (c.rank, ms, mt, c)
        if best is not None:
            _, ms, mt, c = best
            fmt, about = c.fmt, c.about
            if fmt == "open" and c.scope == "unit" and ctx.pre_announcement:
                return None  # "What?" as the go-ahead to "guess what", not a repair initiation
            if fmt == "restricted_request" and c.scope == "end" and low[0] not in _WH:
                fmt = "restricted_offer"  # "Eighty-eight is what you said?"
            if fmt == "specification" and self._alternative(low):
                fmt = "alternative"
            score = 0.9 if c.needs == "none" else (0.8 if qmark or fmt == "specification" else 0.6)
            cue = text[p.starts[ms]:p.starts[mt - 1] + len(p.words[mt - 1])]
            return fmt, about, cue, score, f"lex:{c.fmt}:{c.scope}"
        if excluded:
            return None

        n = len(core)
        # 2. a question word closing a short fragment: "the what?", "you must be what?"
        if at_start and 2 <= n <= self.max_fragment_tokens + 3 and low[-1] in _WH_FINAL:
            before = low[-2]
            if before not in _EMBEDDING and (asks or before in _DETERMINERS):
                about = "reference" if low[-1] in ("who", "which") else "hearing"
                return "restricted_request", about, text[cs:ce], 0.8, "insitu_final"
        # 3. a verbless wh-fragment about the partner's words: "who?", "which basketball?"
        if at_start and asks and low[0] in ("what", "who", "which") and n <= 3 and not any(w in _AUX for w in low):
            if n == 1 or low[1:] in (["one"], ["ones"]):
                return "restricted_request", "hearing" if low[0] == "what" else "reference", text[cs:ce], 0.7, \
                    "wh_fragment"
            rest = self._span_content(lower, core[1], core[-1] + 1)
            if rest and rest <= ctx.recent:
                return "restricted_request", "hearing" if low[0] == "what" else "reference", text[cs:ce], 0.7, \
                    "wh_fragment"
        # 4. "what's X?" / "who is X?" about words the partner just used
        if (at_start and qmark and 3 <= n <= 5 and low[0] in ("what", "who")
                and low[1] in ("'s", "is", "are", "was", "'re") and not any(w in _AUX for w in low[2:])):
            rest = self._span_content(lower, core[2], core[-1] + 1)
            if rest and rest <= ctx.vocab:
                return "restricted_request", "meaning" if low[0] == "what" else "reference", text[cs:ce], 0.7, "whats_x"
        # 5. in-situ wh inside a short declarative question: "so you went to what college?"
        if at_start and qmark and n <= self.max_fragment_tokens + 3 and low[0] not in _WH and not interrogative:
            for k in range(1, n - 1):
                if low[k] in ("what", "which") and low[k - 1] not in _EMBEDDING and n - k <= 3:
                    return "restricted_request", "hearing", text[cs:ce], 0.6, "insitu_mid"
        # 6. an alternative question: "Do you want it in Python or R?", "thirty or younger?"
        if question and self._alternative(low):
            if ctx.request and info.brief:
                return "alternative", "intent", text[cs:ce], 0.7, "alt_request"
            if at_start and qmark and n <= self.max_fragment_tokens and not any(w in _AUX for w in low):
                return "alternative", "intent" if ctx.request else "meaning", text[cs:ce], 0.6, "alt_fragment"
        # 7. generic specification: an assistant's second-person question replying to its user's request
        if (question and ctx.turn_role == Role.MODEL
                and (not _SECOND_PERSON.isdisjoint(low) or (interrogative and low[1] in _DEICTIC))
                and not self._past(low) and ctx.request and info.brief):
            return "specification", "intent", text[cs:ce], 0.6, "spec_generic"
        # 8. a candidate understanding built from the partner's words, as a question
        if not (qmark and at_start and not interrogative and low[0] not in _WH and n <= self.max_check_tokens):
            return None
        if n > self.max_fragment_tokens and self.declarative_checks == "off":
            return None
        if self._inverted(low) or low[-1] in _WH or low[-1] in ("you", "really") or low[:2] == ["i", "wonder"]:
            return None
        content = self._span_content(lower, core[0], core[-1] + 1)
        recent = {w for w in content if w in ctx.recent} if content else set()
        if content and recent:
            mostly = len(recent) >= self.echo_min_overlap * len(content)
            if n <= self.max_fragment_tokens and (mostly or not any(w in _AUX for w in low)):
                if self.echo_questions:
                    about = "hearing" if len(recent) == len(content) else "reference"
                    return "restricted_offer", about, text[cs:ce], 0.6, "echo"
            elif mostly and self.declarative_checks in ("overlap", "broad"):
                return "restricted_offer", "meaning", text[cs:ce], 0.5, "decl_overlap"
        # 9. any declarative question about the partner ("so you…?", "you've done this before?")
        if self.declarative_checks == "broad" and n >= 2 and (so_initial or any(w in _SECOND_PERSON for w in low)):
            return "restricted_offer", "meaning", text[cs:ce], 0.4, "decl_broad"
        return None
