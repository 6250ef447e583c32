"""Fast-mode (scan) detector for the repair family: self-repair from interruption points, and the cross-turn repairs."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import accumulate, chain, compress, islice
from operator import eq, itemgetter
from typing import Any

from convmaint.detect.base import Detector, Mode, register_detector, units
from convmaint.errors import ConfigError
from convmaint.lexicon import LexiconSet, trie_pattern
from convmaint.model import Conversation, FrozenDict, Move, Turn
from convmaint.nlp.base import ParsedTurn
from convmaint.nlp.regex_backend import tokenize

__all__ = ["FastRepairDetector"]

# Word lists below are those of the parse detector (convmaint/detect/repair.py), which documents them.
_SUBJECT_PRONOUNS = frozenset({"i", "we", "they", "he", "she", "it", "you", "my", "our", "their", "his", "your", "there"})
_OBJECT_LIKE = frozenset({"it", "you", "them", "him", "her", "me", "us"})
_ELLIPTICAL_AUX = frozenset({"do", "does", "did", "is", "was", "are", "were", "am", "'m", "'re", "'s", "have", "has", "had",
                             "'ve", "dont", "didnt", "doesnt", "isnt", "wasnt", "arent", "werent", "havent", "hasnt",
                             "hadnt", "im", "wo", "ca"})
_CLAUSE_FINAL = frozenset({"not", "n't", "nt", "actually", "either", "too", "though", "yet", "really", "already"})
_DEFINITE = frozenset({"the", "this", "that", "these", "those", "my", "your", "his", "her", "our", "their", "its"})
_ASKING_AUX = frozenset({"do", "does", "did", "would", "could", "can", "will", "shall", "should", "may", "might", "want"})
_INVERTED_AUX = frozenset({"is", "are", "was", "were", "has", "have", "had", "am"})
_LEAD_OK = frozenset({"well", "um", "uh", "er", "hmm", "so", "but", "oh", "ah", "sorry", "ok", "okay"})
_WH = frozenset({"what", "which", "who", "whom", "whose", "where", "when", "why", "how"})
_HEDGES = ("i think", "i guess", "i believe", "actually", "i'm pretty sure", "i'm sure", "if i remember right")
_OPEN_ENDED_POS = frozenset({"DET", "ADP", "AUX", "CCONJ", "SCONJ", "PART", "PRON"})
_TAG_RE = re.compile(r"(?:,\s*|\b)(?:right|correct|yeah|no|huh|innit|eh)\W*\?+$|"
                     r"\b(?:is|are|was|were|do|does|did|have|has|can|could|would|will|should)(?:n't| not)\s+"
                     r"(?:it|he|she|they|you|we|i|there|that)\W*\?+$", re.IGNORECASE)
_WORD_RE = re.compile(r"[\w'’]+(?:-[\w'’]+)*")
_MEANT_RE = re.compile(r"\W*i meant\b", re.IGNORECASE)
_STAR_RE = re.compile(r"^\s*\*(?=\w)|\w\*\s*$")
_NUMERIC_RE = re.compile(r"^[£$€]?\d[\d.,:]*(?:st|nd|rd|th|am|pm|k|%)?$")
_ALPHA_RE = re.compile(r"[^\W\d_]")
_DIGIT_RE = re.compile(r"\d")
_CODE_RE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]+`", re.DOTALL)
_NOT_OR_NO_RE = re.compile(r"\b(no|not|nope|sorry)\b")
_DISMAY_RE = re.compile(r"\b(oh|ah|aw)\W*$")

# Tokens (of the regex tokenizer) that mark a pause, where an interruption point may sit.
_PAUSES = frozenset({",", "-", "—", "–", "--", "---"})
# Symbols that are neither words nor boundaries (the parse detector's word lists skip them): "£90, no, £95".
_SYMBOLS = frozenset({"£", "$", "€", "¥", "(", "[", "{", "*", "#", "~", "_", "+", "&", "@"})
_SKIP = _PAUSES | _SYMBOLS
_HYPHENS = frozenset({"-", "–"})
_PAD = ("\x00", "\x00", "\x00", "\x00")
# In the tokens joined by "\x01": a clitic, one token, and the same clitic again ("'m\x01i\x01'm").
_CLITIC_PAIR_RE = re.compile("['’](m|s|re|ve|ll|d|t)\x01[^\x01]+\x01n?['’]\\1\x01")
_LEFT = 8
_LEFT_PAD = ("\x00",) * _LEFT
# The closed class of the last word of a reparandum that a restart after an inserted word can follow ("I, maybe I").
_INSERTION_LAST = frozenset({"PRON", "ADP", "AUX", "PART", "ADV"})
# Words too common to stand for a marker in the per-turn test (the marker's least common word does).
_COMMON = frozenset({"i", "you", "it", "'s", "that", "is", "was", "a", "an", "the", "to", "me", "not", "what", "he", "she",
                     "they", "'re", "'ve", "'m", "n't", "did", "do", "be", "been", "have", "there", "more", "about", "for",
                     "got", "let"})
# The marker labels the cross-turn rules read after a given number of lead words (see _other_correction, _third_position).
_GATE_LABELS = (("repair.third_position", "repair.other", "repair.other.marker"), ("repair.third_position", "repair.other",
                "repair.other.marker"), ("repair.third_position", "repair.other"), ("repair.third_position",))
# Tokens after which a new stretch of talk starts: sentence ends, colons, quotation marks.
_STOPS = frozenset({".", "?", "!", ";", ":", "…", '"', "“", "”", "«", "»", "..", "...", "....", "....."})


def _is_word(tok: str) -> bool:
    """Whether a token is a word (has a letter or digit at an edge), not punctuation."""
    return tok[0].isalnum() or tok[-1].isalnum()


def _is_subsequence(short: Sequence[str], long: Sequence[str]) -> bool:
    it = iter(long)
    return all(any(x == y for y in it) for x in short)


@register_detector
class FastRepairDetector(Detector):
    """Self-repair, repair completion, other-correction and third-position repair, from scans.

    ``repair.self`` is looked for only where an interruption point can be. The tokens of the whole
    conversation are read as one stream, and C-level passes over it find the candidate places: a
    pause mark (comma, dash) or a filled pause ("uh", "um"); a cut-off word ("th-", as the
    tokenizer keeps it); a word said twice in a row ("the the"); and, in conversations that show
    such disfluencies, a word with its clitic said twice ("I'm I'm"). A cheap test drops most
    places (after an open-class word, a complete phrase, only a repetition can follow). At the
    others the editing phase is read (pauses and editing terms: "uh", "you know", "I mean", "no")
    and the parse detector's lite-mode rules are applied to the few words on either side, inside
    one unit (the source's segment, else the sentence, else the line): a repetition ("I, I
    think"; "the, uh, the store"; "so, so"), a cut-off word ("th- the", "he was- she was"), an
    explicit editing expression between two phrases ("Tuesday, no, Wednesday"), a restarted onset
    ("the chairs, the folding chairs"), a short unfinished phrase replaced by one of the same
    closed-class shape ("we, they have"), and an onset restarted after inserted words ("I, maybe I
    misunderstood"). The same filters keep legitimate doubles ("very, very", "bye-bye", "had had",
    "C N N", list items, digits), comma splices, fronted clauses and parentheticals out; markdown
    code and lines that are mostly digits and symbols are not searched. Across turns it finds a
    phrase restarted after a brief interjection of the partner ("I guess" | "uh-huh" | "I guess we
    can start") and a written follow-up ("*Wednesday", "sorry, I meant the 5th"). Attributes as
    the parse detector's: ``kind``, ``reparandum``, ``repair``, ``editing_term``, ``reference``
    (a name, or a pronoun in a replacement: no tagger), ``level`` and ``rule``.

    Not done in this mode (each would cost a parse or another pass over every word): a clause
    broken off after an auxiliary ("it's, I'm …", rule ``cut``), a correcting unit after a
    complete one ("… | or rather the blue one", rule ``correction_unit``), and a repetition of two
    or more words with no pause mark between other than a word and its clitic ("how to how to").
    Without lite mode's per-word lists, a phrase that spans a comma is compared token by token, so
    a few repetitions and insertions across two commas ("I'm, a, uh, I'm a") are missed.

    ``repair.completion``, ``repair.third_position`` and ``repair.other`` follow the parse
    detector, gated by cheap tests on each turn's first tokens: the trouble-source speaker's
    answer to a ``clarification.request`` in ``prior``; a "no, I meant …" frame after the
    partner's response; an explicit correction frame ("Not quite —", "I think you mean"), or a
    reply particle or bare fragment putting a number, time or name in place of the partner's.

    Args:
        lexicons: The loaded lexicons (``editing_terms``, ``repair_markers``, ``repair_words``).
        mode: Must be ``fast``.
        max_repeat: Longest repeated phrase (tokens) looked for at a pause. Default 6.
        max_reparandum: Longest reparandum (words) of a restarted phrase. Default 5.
        emit_levels: Which self-repair levels to emit: ``("disfluency", "correction")`` (default)
            or only ``("correction",)``.
        cross_turn: Also find a phrase restarted from the speaker's unfinished previous turn. Default True.
        completion_window: How many turns after a clarification request the answer may come. Default 2.
        max_interjection: A cross-turn restart is looked for only when the partner's turns in
            between have at most this many words and ask nothing. Default 12.
        strict_dashes: Take a hyphen after a whole word ("then- still") as punctuation unless the
            word is resumed within three words or a filled pause precedes, as in writing. Default True.
        comma_splices: Take a short clause ending on an auxiliary before a comma ("I do, I think")
            as a comma splice, not a restart, unless a filled pause intervenes. Default True.
        min_score: Self-repairs scoring below this are dropped (repetition 0.95, cut-off 0.9,
            editing expression 0.85, onset 0.8, insertion, parallel and cross-turn 0.7). Default 0.5.
    """

    name = "repair"
    version = 1
    engine = "scan"
    labels = ("repair.self", "repair.completion", "repair.other", "repair.third_position")
    requires = frozenset({"tokens", "sents"})
    requires_lite = frozenset({"tokens", "sents"})
    order = 20

    def __init__(
        self,
        *,
        lexicons: LexiconSet,
        mode: Mode = "fast",
        max_repeat: int = 6,
        max_reparandum: int = 5,
        emit_levels: Sequence[str] = ("disfluency", "correction"),
        cross_turn: bool = True,
        completion_window: int = 2,
        max_interjection: int = 12,
        strict_dashes: bool = True,
        comma_splices: bool = True,
        min_score: float = 0.5,
    ) -> None:
        super().__init__(lexicons=lexicons, mode=mode)
        self._id = self.id
        self._memo: dict[tuple[Any, ...], Any] = {}
        self._req_by_turn: dict[int, list[Move]] = {}
        bad = set(emit_levels) - {"disfluency", "correction"}
        if bad or not emit_levels:
            raise ConfigError(f"emit_levels must name disfluency and/or correction, got {list(emit_levels)!r}")
        self.max_repeat = max_repeat
        self.max_reparandum = max_reparandum
        self.emit_levels = tuple(emit_levels)
        self.cross_turn = cross_turn
        self.completion_window = completion_window
        self.max_interjection = max_interjection
        self.strict_dashes = strict_dashes
        self.comma_splices = comma_splices
        self.min_score = min_score
        words = lexicons["repair_words"].entries
        self._redup = {e.pattern: bool(e.attributes.get("adjacent_only", False)) for e in words if e.label == "reduplication"}
        self._doubles = {e.pattern: bool(e.attributes.get("always", False)) for e in words if e.label == "double"}
        self._closed = {e.pattern: str(e.attributes["pos"]) for e in words if e.label == "closed_class"}
        self._confirm = frozenset(e.pattern.lower() for e in words if e.label == "confirmation")
        self._temporal = frozenset(e.pattern for e in words if e.label == "temporal")
        self._numbers = frozenset(e.pattern for e in words if e.label == "number")
        self._parenthetical = frozenset(e.pattern for e in words if e.label == "parenthetical")
        self._subordinators = frozenset(e.pattern for e in words if e.label == "subordinator")
        # Editing terms as token sequences (as the regex tokenizer cuts them), by first token,
        # longest first: type filler, discourse, explicit or weak.
        et_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for e in lexicons["editing_terms"].entries:
            if e.label != "editing_term":
                continue
            for toks in _variants(e.pattern):
                et_first.setdefault(toks[0], []).append((toks, str(e.attributes.get("type", "filler"))))
        self._et_first = {k: tuple(sorted(v, key=lambda x: -len(x[0]))) for k, v in et_first.items()}
        self._fillers = frozenset(k for k, v in self._et_first.items() if any(len(t) == 1 and ty == "filler" for t, ty in v))
        self._et_single = {t[0]: ty for v in self._et_first.values() for t, ty in v if len(t) == 1 and ty != "weak"}
        # ... and the longer ones by their first two tokens (a gap is read with two dict lookups a token)
        et2: dict[tuple[str, ...], list[tuple[tuple[str, ...], str]]] = {}
        for v in self._et_first.values():
            for toks, ty in v:
                if len(toks) > 1 and ty != "weak":
                    et2.setdefault(toks[:2], []).append((toks, ty))
        self._et2 = {k: tuple(sorted(v, key=lambda x: -len(x[0]))) for k, v in et2.items()}
        self._et_pairs = {t: ty for v in self._et_first.values() for t, ty in v if len(t) == 2 and ty != "weak"}  # keyed by token pairs
        self._signals = _PAUSES | self._fillers
        # the words that may end a reparandum other than by a repetition: closed-class words and editing terms
        self._left_ok = frozenset(self._closed) | frozenset(t for v in self._et_first.values() for toks, ty in v if ty != "weak"
                                                            for t in toks)
        self._gap_first = _SKIP | frozenset(k for k, v in self._et_first.items() if any(ty != "weak" for _, ty in v))
        # Repair markers as token sequences, by first token: (tokens, label, strength).
        mk: dict[str, list[tuple[tuple[str, ...], str, str]]] = {}
        for e in lexicons["repair_markers"].entries:
            for toks in _variants(e.pattern):
                mk.setdefault(toks[0], []).append((toks, e.label, str(e.attributes.get("strength", "medium"))))
        self._markers = {k: tuple(sorted(v, key=lambda x: -len(x[0]))) for k, v in mk.items()}
        # the phrases that are not markers ("no problem"), by first token: (tokens, the family part of the label)
        self._mk_nots = {k: tuple((toks, label.split(".")[1]) for toks, label, _ in v if label.endswith(".not"))
                         for k, v in mk.items() if any(label.endswith(".not") for _, label, _ in v)}
        # For a cheap test per turn: the one-token markers, and the first two tokens of the others.
        opening = [(toks, label) for v in mk.values() for toks, label, _ in v if not label.endswith(".not")]
        gate = [toks for toks, label in opening if label in _GATE_LABELS[0]]
        self._mk_singles = frozenset(toks[0] for toks in gate if len(toks) == 1)
        self._mk_pairs = frozenset(toks for toks in gate if len(toks) == 2)
        self._mk_triples = frozenset(toks[:3] for toks in gate if len(toks) > 2)
        # ... the marker's least common word (a necessary condition tested on a turn's first tokens)
        self._mk_words = frozenset(([w for w in toks if w.replace("’", "'") not in _COMMON] or [max(toks, key=len)])[-1] for toks in gate)
        # ... and as one regex over the text, tried where a unit starts: up to three words, then a marker
        self._mk_gate_re = re.compile(r"\W*+(?:[\w'’]++\W*+){0,3}?" + _trie(
            [" ".join(toks) for toks in gate]) + r"(?![\w'’])", re.IGNORECASE)
        self._numtime = self._numbers | self._temporal
        self._aux = frozenset(w for w, pos in self._closed.items() if pos == "AUX")
        # the first token (one-token markers) or two tokens of a written follow-up correction
        self._fu_keys = frozenset(toks[:2] if len(toks) > 1 else toks[0] for toks, label in opening if label == "repair.self.followup")
        by_pair: dict[tuple[str, ...], list[tuple[tuple[str, ...], str, str]]] = {}
        for v in mk.values():
            for entry in v:
                by_pair.setdefault(entry[0][:2], []).append(entry)
        self._mk_by_pair = {k: tuple(sorted(v, key=lambda x: -len(x[0]))) for k, v in by_pair.items()}

    def config(self) -> dict[str, Any]:
        cfg = super().config()
        cfg["emit_levels"] = list(self.emit_levels)
        return cfg

    # ------------------------------------------------------------------------- entry point

    def detect(self, conv: Conversation, parsed: Sequence[ParsedTurn], prior: Sequence[Move] = ()) -> list[Move]:
        turns = conv.turns
        lows = [p.lower for p in parsed]
        moves = self._self_repairs(conv, parsed, lows)
        nt = len(turns)
        speakers = [t.speaker for t in turns]
        # each turn's previous turn by the same speaker (-1 for none)
        prevs = []
        last_by: dict[str, int] = {}
        for t, sp in enumerate(speakers):
            prevs.append(last_by.get(sp, -1))
            last_by[sp] = t
        # a written follow-up correction: the same speaker again, opening with a marker or "*"
        fu = self._fu_keys
        for t in [t for t in range(1, nt) if prevs[t] == t - 1 and lows[t] and (
                lows[t][:2] in fu or lows[t][0] in fu or "*" in turns[t].text)]:
            m = self._followup_repair(turns[t - 1], turns[t], parsed[t])
            if m is not None:
                moves.append(m)
        # a restart of what the speaker left unfinished (no full stop) one to three turns before
        if self.cross_turn:
            done = {m.turn for m in moves if m.attributes.get("reparandum_turn") is not None}
            limit = self.max_interjection
            for o in [t for t in range(nt - 1) if lows[t] and lows[t][-1][-1] not in ".?!"]:
                for t in range(o + 1, min(nt, o + 4)):
                    if lows[t - 1] and t - 1 > o and (lows[t - 1][-1] == "?" or len(lows[t - 1]) > 2 * limit):
                        break  # the partner asked something, or said more than a brief interjection
                    if prevs[t] == o and t not in done and lows[t]:
                        m = self._cross_turn_gate(conv, parsed, o, t)
                        if m is not None:
                            moves.append(m)
        # turns that may hold an other-correction or a third-position repair (cheap necessary
        # conditions: a marker's least common word among the first tokens, or a short first unit
        # with a number or a time after a turn with one): (turn, the speaker's previous turn, marker)
        mk = self._mk_words
        numtime = self._numtime
        digit = _DIGIT_RE.search
        cands = []
        for t in [t for t in range(1, nt) if speakers[t] != speakers[t - 1] and (low := lows[t]) and (
                not mk.isdisjoint(low[:14]) or (len(low) <= 10 or (parsed[t].sent_starts[1:2] or (99,)) < (11,) or turns[t].segments)
                and (not numtime.isdisjoint(low[:11]) or digit(turns[t].text, 0, 80) is not None))]:
            p = parsed[t]
            lower = lows[t]
            n = len(lower)
            if turns[t].segments:
                segs = turns[t].segments
                x1 = bisect_left(p.starts, segs[1].start) if len(segs) > 1 else n
            else:
                ss = p.sent_starts
                x1 = ss[1] if len(ss) > 1 else n
            mark = False
            if not mk.isdisjoint(lower[:14]) or (x1 < n and not mk.isdisjoint(lower[x1:x1 + 14])):
                text = turns[t].text
                gate = self._mk_gate_re.match
                mark = (gate(text) is not None and self._has_marker(lower, 0, x1)) or (
                    x1 < n and gate(text, p.starts[x1]) is not None and self._has_marker(lower, x1, n))
            if mark or (x1 <= 10 and self._aux.isdisjoint(lower[:x1]) and self._may_substitute(lower[:x1])
                        and self._may_substitute(lows[t - 1]) and self._bare_fragment(p, 0, x1)):
                cands.append((t, prevs[t] if prevs[t] >= 0 else None, mark))
        if "correction" not in self.emit_levels or "disfluency" not in self.emit_levels:
            moves = [m for m in moves if m.attributes.get("level", "disfluency") in self.emit_levels]
        requests = [m for m in prior if m.label == "clarification.request" and m.target is not None and m.target < m.turn]
        if not cands and not requests:
            return moves
        self._memo: dict[tuple[Any, ...], Any] = {}  # marker look-ups of this call, by turn, unit, labels and lead
        self._req_by_turn: dict[int, list[Move]] = {}
        for m in requests:
            self._req_by_turn.setdefault(m.turn, []).append(m)
        heads: dict[int, list[tuple[int, int]]] = {}  # the first two units of a turn, as token spans
        strong = [m for t, _, mark in cands if mark and (m := self._other_correction(conv, parsed, t, requests, heads, True))]
        taken = {m.turn for m in strong}
        completions = self._completions(conv, parsed, requests, taken, heads)
        taken |= {m.turn for m in completions}
        third = [m for t, source, mark in cands if mark and t >= 2 and source is not None and t not in taken
                 and (m := self._third_position(conv, parsed, t, source, requests, heads))]
        taken |= {m.turn for m in third}
        moves.extend(strong)
        moves.extend(completions)
        moves.extend(third)
        moves.extend(m for t, _, _ in cands if t not in taken and (m := self._other_correction(conv, parsed, t, requests, heads, False)))
        return moves

    # ------------------------------------------------------------------------- self-repair

    def _self_repairs(self, conv: Conversation, parsed: Sequence[ParsedTurn], lows: list[tuple[str, ...]]) -> list[Move]:
        """The self-repairs inside the turns of a conversation."""
        # One token stream for the whole conversation, so that the candidate places are found by
        # C-level passes: signal tokens (pause marks, filled pauses) and cut-off words ("th-", as the
        # tokenizer keeps them); in unedited speech also a word said twice in a row.
        # (padded on both sides, so that the looks a few tokens back and ahead below need no tests)
        stream = tuple(chain(_LEFT_PAD, chain.from_iterable(lows), _PAD))
        size = len(stream) - len(_PAD)
        if size < 3 + _LEFT:
            return []
        signals = self._signals
        # (a slice is cheaper to walk than an islice)
        sig = list(compress(range(_LEFT, size), map(signals.__contains__, stream[_LEFT:size])))
        joined = "\x01".join(stream)
        frags = []
        pos = joined.find("-")
        if pos >= 0:
            idx = last = 0
            while pos >= 0:
                if joined[pos + 1] == "\x01" and joined[pos - 1].isalpha():
                    idx += joined.count("\x01", last, pos)
                    last = pos
                    if stream[idx][0].isalpha():
                        frags.append(idx)
                pos = joined.find("-", pos + 1)
        # A word said twice with no pause between ("the the", "I'm I'm") is a repair in unedited
        # speech; in writing it is mostly emphasis ("busy busy") or a typo. It is looked for only in a
        # conversation that shows other signs of speech: a filled pause or a cut-off word.
        adj: list[tuple[int, int]] = []
        if frags or not self._fillers.isdisjoint(map(stream.__getitem__, sig)):
            adj = [(g, 1) for g in compress(range(_LEFT, size - 1), map(eq, stream[_LEFT:size - 1], stream[_LEFT + 1:size]))
                   if (w := stream[g])[-1].isalnum() and w not in self._fillers]
            # ... a word with its clitic said twice: a clitic, a token and the clitic again, found in
            # the joined tokens by a regex that starts at an apostrophe
            if "'" in joined or "’" in joined:
                last = idx = 0
                for m in _CLITIC_PAIR_RE.finditer(joined):
                    pos = m.start()
                    idx += joined.count("\x01", last, pos)
                    last = pos
                    if stream[idx - 1] == stream[idx + 1] and stream[idx - 1][-1].isalnum():
                        adj.append((idx - 1, 2))
                adj.sort()
        if not sig and not adj and not frags:
            return []
        closed = self._closed
        gap_first = self._gap_first
        ins_last = _INSERTION_LAST
        # A cheap test at each signal that opens an editing phase: some rule can apply only if the
        # word after it occurs just before it, is a closed-class word like one before it, or a word
        # after that does; or the phase holds more (an editing term) or the signal cuts a word off.
        quick_gap = self._quick_gap
        left_ok = self._left_ok
        # After an open-class word (a complete phrase, "I love college, I went…") only a repetition
        # or a phrase restarted with words inserted can follow, and either says that word again.
        cand = [g for g in sig if (p1 := stream[g - 1]) not in signals and (
            (nx := stream[g + 1]) in gap_first and quick_gap(stream, g) or stream[g] in _HYPHENS or p1 in stream[g + 1:g + 8]
            or p1[-1] == "-"
            or p1 in left_ok and (
                nx in stream[g - 7:g] or ((c := closed.get(nx)) is not None and (c == closed.get(p1) or c == closed.get(stream[g - 2])))
                or (closed.get(p1) in ins_last and (stream[g + 2] in stream[g - 4:g] or stream[g + 3] in stream[g - 4:g]
                                                    or stream[g + 4] in stream[g - 4:g]))))]
        if frags:
            cand.extend(frags)
            cand.sort()
        if not cand and not adj:
            return []  # nothing to look at
        offs = list(accumulate(map(len, lows), initial=_LEFT))
        turns = conv.turns
        out: list[Move] = []
        ctxs: dict[int, _Turn] = {}
        done = 0  # stream positions before this are taken by a repair found already
        at_signal = self._at_signal
        for g in cand:
            if g < done:
                continue
            t = bisect_right(offs, g) - 1
            k = g - offs[t]
            tok = stream[g]
            if tok[-1] == "-" and tok[0].isalpha():
                ctx = ctxs.get(t)
                if ctx is None:
                    ctx = ctxs[t] = _Turn(turns[t], parsed[t])
                r = self._at_fragment(ctx, k, k + 1)
                if r is not None:
                    done = offs[t] + r[3]
                    out.append(self._self_move(ctx, r))
                continue
            if k == 0 or g + 1 >= offs[t + 1]:
                continue  # a signal at a turn's edge opens no editing phase inside it
            if tok in _HYPHENS:
                starts = parsed[t].starts
                if starts[k] == starts[k - 1] + len(stream[g - 1]) and starts[k + 1] == starts[k] + 1:
                    continue  # an infix hyphen: "bye-bye", "uh-huh", "twenty-two"
            ctx = ctxs.get(t)
            if ctx is None:
                ctx = ctxs[t] = _Turn(turns[t], parsed[t])
            r = at_signal(ctx, k)
            if r is not None:
                done = offs[t] + r[3]
                out.append(self._self_move(ctx, r))
        spans: dict[int, list[tuple[int, int]]] = {}  # the spans of the moves found so far, by turn
        for mv in out:
            spans.setdefault(mv.turn, []).append((mv.start, mv.end))
        for g, m in adj:
            t = bisect_right(offs, g) - 1
            if g + 2 * m > offs[t + 1]:
                continue  # across the end of a turn
            ctx = ctxs.get(t)
            if ctx is None:
                ctx = ctxs[t] = _Turn(turns[t], parsed[t])
            r = self._adjacent(ctx, g - offs[t], m)
            if r is not None:
                c = ctx.starts[r[0]]
                here = spans.setdefault(t, [])
                if not any(a <= c < b for a, b in here):
                    mv = self._self_move(ctx, r)
                    here.append((mv.start, mv.end))
                    out.append(mv)
        return out if self.min_score <= 0.6 else [m for m in out if m.score >= self.min_score]

    def _quick_gap(self, stream: Sequence[str], g: int) -> bool:
        """The cheap test of _self_repairs for a signal followed by more of an editing phase ("I, uh, I")."""
        j = g + 1
        size = len(stream)
        while j < size:
            t = stream[j]
            if t in _SKIP:
                j += 1
                continue
            m, ty = self._gap_et(stream, j, size)
            if not m:
                break
            if ty == "explicit":
                return True
            j += m
        if j >= size:
            return False
        r0 = stream[j]
        left = stream[g - 7:g]
        p1 = stream[g - 1]
        if stream[g] in _HYPHENS or p1 in stream[j:j + 7] or p1[-1] == "-":
            return True
        if p1 not in self._left_ok:
            return False  # after an open-class word, only a repetition (see _self_repairs)
        if r0 in left:
            return True
        closed = self._closed
        c = closed.get(r0)
        return (c is not None and (c == closed.get(p1) or c == closed.get(stream[g - 2]))) \
            or any(t in left[-4:] for t in [t for t in stream[j + 1:j + 5] if t[0].isalnum() or t[-1].isalnum()][:2])

    def _gap_et(self, lower: Sequence[str], x: int, limit: int) -> tuple[int, str]:
        """The editing term (not a weak one) starting at token ``x``: its length and type, or (0, "")."""
        multi = self._et2.get(lower[x:x + 2])
        if multi is not None:
            for toks, ty in multi:
                m = len(toks)
                if x + m <= limit and lower[x:x + m] == toks:
                    return m, ty
        ty = self._et_single.get(lower[x])
        return (1, ty) if ty is not None else (0, "")

    def _at_signal(self, ctx: _Turn, k: int) -> tuple[int, int, int, int, str, float, str, str] | None:
        """A self-repair whose editing phase holds the signal token ``k``, as
        ``(rep_start, rep_end, fix_start, fix_end, kind, score, rule, level)`` token indexes."""
        lower = ctx.lower
        n = len(lower)
        tok = lower[k]
        frag = False
        if tok in _HYPHENS:
            starts, words = ctx.starts, ctx.words
            glued_left = starts[k] == starts[k - 1] + len(words[k - 1])
            nxt = lower[k + 1]
            if glued_left and starts[k + 1] == starts[k] + len(tok) and (nxt[0].isalnum() or nxt[-1].isalnum()):
                return None  # an infix hyphen: "bye-bye", "uh-huh", "twenty-two"
            prv = lower[k - 1]
            frag = glued_left and (prv[0].isalnum() or prv[-1].isalnum())
        # the editing phase after the signal: pauses and editing terms
        j = k + 1
        fillers = self._fillers
        filler = tok in fillers
        explicit = -1
        et_single, et2 = self._et_single, self._et2
        ets: list[int] = []  # where the editing terms start (a repair may start at one: "like, uh, like")
        while j < n:
            t = lower[j]
            if t in _SKIP:
                j += 1
                continue
            multi = et2.get(lower[j:j + 2])
            m = 0
            if multi is not None:
                for toks, ty in multi:
                    if lower[j:j + len(toks)] == toks:
                        m = len(toks)
                        break
            if not m:
                ty = et_single.get(t)
                if ty is None:
                    break
                m = 1
            ets.append(j)
            if ty == "filler":
                filler = True
            elif ty == "explicit" and explicit < 0:
                explicit = j
            j += m
        r0 = lower[j] if j < n else "."
        if (r0 in _STOPS or not (r0[0].isalnum() or r0[-1].isalnum())) and not ets:
            return None
        # ... and before it (a cut-off word is the reparandum itself)
        e = k
        r = None
        if not frag:
            t = lower[e - 1]
            if t in _PAUSES or t in self._left_ok:
                while e > 0:
                    t = lower[e - 1]
                    if t in _PAUSES:
                        e -= 1
                        continue
                    m = self._et_ending(lower, e)  # the longest editing term ending there ("I'm sorry")
                    if not m:
                        break
                    e -= m
            # repetition, looked for first (the commonest repair): the longest phrase before the
            # editing phase said again after it, inside one unit and with no stop between. The
            # editing terms around the signal may also be the phrase itself ("so, so"; "like, like").
            if ets or e < k:
                for ee, jj in [*((k, x) for x in ets), (k, j), (e, j)]:
                    if ee > 0 and jj < n and lower[jj] in lower[ee - 6 if ee > 6 else 0:ee]:
                        r = self._repetition(ctx, ee, jj, k, filler)
                        if r is not None:
                            break
            elif r0 in lower[e - 6 if e > 6 else 0:e] or lower[e - 1][-1] == "-":
                r = self._repetition(ctx, e, j, k, filler)
            if r:
                return r
            if e == 0 or j >= n or r0 in _STOPS:
                return None
        # the other rules need a word of the repair before the editing phase, a closed-class word
        # like one before it, an explicit editing term, or a cut-off word; and after an open-class
        # word (a complete phrase) only a phrase restarted with words inserted can follow
        last = lower[e - 1]
        if not (frag or explicit >= 0 or last in self._left_ok or last[-1] == "-" or last in lower[j:j + 7]):
            return None
        left = lower[max(0, e - 7):e]
        closed = self._closed
        pos0 = closed.get(r0)
        if not (frag or explicit >= 0 or r0 in left or (pos0 is not None and pos0 in (closed.get(left[-1]), closed.get(lower[e - 2], 0) if e > 1 else 0))
                or (j + 1 < n and lower[j + 1] in left[-4:]) or (j + 2 < n and lower[j + 2] in left[-4:])):
            return None
        i0, j0 = ctx.bounds(k)
        if i0 < 0 or e <= i0 or j >= j0:
            return None  # outside talk, nothing before the editing phase, or cut off at the unit's end
        if not filler:
            filler = any(t in fillers for t in lower[e:k])
        # the words around: reparandum candidates back to the unit start or a stop, repair words to the end or a stop
        lo = max(i0, e - 8)
        left = lower[lo:e]
        if not _STOPS.isdisjoint(left):
            for x in range(e - 1, lo - 1, -1):
                if lower[x] in _STOPS:
                    lo = x + 1
                    break
            left = lower[lo:e]
        hi = min(j0, j + 10)
        right = lower[j:hi]
        if not _STOPS.isdisjoint(right):
            hi = j + next(x for x, t in enumerate(right) if t in _STOPS)
            right = lower[j:hi]
        if not left or not right:
            return None
        if frag:
            return self._at_fragment(ctx, k - 1, k + 1)
        if explicit >= 0:
            r2 = self._explicit(ctx, e, k, explicit, j, lo, hi)
            if r2 is not None:
                return r2
        maybe_parallel = pos0 is not None and pos0 in (closed.get(left[-1]), closed.get(left[-2], 0) if len(left) > 1 else 0,
                                                        closed.get(left[-3], 0) if len(left) > 2 else 0)
        onset = r0 in left[-self.max_reparandum - 2:]
        inserted = any(t in left[-4:] for t in [t for t in right[1:5] if t[0].isalnum() or t[-1].isalnum()][:2])
        if not (onset or maybe_parallel or inserted):
            return None
        lw = [x for x in range(lo, e) if lower[x][-1].isalnum() or lower[x][0].isalnum()]
        rw = [x for x in range(j, hi) if lower[x][-1].isalnum() or lower[x][0].isalnum()]
        if not lw or not rw:
            return None
        # as in the parse detector, a rule that does not apply (or is blocked) leaves the place to the next
        r = None
        if onset:
            r = self._onset(ctx, lw, rw, filler)
        if not r and maybe_parallel:
            r = self._parallel(ctx, lw, rw, filler)
        if not r and inserted:
            r = self._inserted(ctx, lw, rw, filler)
        return r or None

    def _repetition(self, ctx: _Turn, e: int, j: int, k: int, filler: bool):
        """The longest phrase ending before token ``e`` said again from token ``j`` (the signal ``k``
        between): a repair, False for a legitimate double, or None."""
        lower = ctx.lower
        r0 = lower[j]
        lo = e - self.max_repeat if e > self.max_repeat else 0
        left = lower[lo:e]
        last = left[-1]
        cut = last[-1] == "-" and last[0].isalpha()  # "the bi-, the big": a cut-off word completed
        if r0 not in left and not (cut and len(left) == 1 and r0.startswith(last[:-1])):
            return None
        n = len(lower)
        for m in range(min(e - lo, n - j), 0, -1):
            if left[-m] != r0 and not (m == 1 and cut):
                continue
            if lower[e - m:e] != lower[j:j + m] and (
                    not cut or lower[e - m:e - 1] != lower[j:j + m - 1] or not lower[j + m - 1].startswith(last[:-1])):
                continue
            a = e - m
            t = lower[a]
            if not (t[0].isalnum() or t[-1].isalnum()) or not _STOPS.isdisjoint(lower[a:j + m]):
                continue
            i0, j0 = ctx.bounds(k)
            if a < i0 or j + m > j0:
                continue
            if t in self._fillers or self._in_multi_et(lower, a, e):
                continue  # "you know, you know": the editing term said again, not the message
            if j > e + 1 and not filler and lower[e] not in _PAUSES and lower[j - 1] not in _PAUSES \
                    and self._fillers.isdisjoint(lower[e:j]):
                continue  # "as well as": a discourse word without a pause is not an editing phase
            if self._legit_double(ctx, a, m, j, i0, j0):
                return False
            return a, e, j, j + m, "repetition", 0.95, "repetition", "disfluency"
        return None

    def _et_ending(self, lower: Sequence[str], e: int) -> int:
        """The length of the longest editing term (not a weak one) that ends right before token ``e``, or 0."""
        et2 = self._et2
        for y in range(e - 4 if e > 4 else 0, e - 1):
            for toks, _ in et2.get(lower[y:y + 2], ()):
                if y + len(toks) == e and lower[y:e] == toks:
                    return e - y
        return 1 if lower[e - 1] in self._et_single else 0

    def _in_multi_et(self, lower: Sequence[str], a: int, e: int) -> bool:
        """Whether token ``a`` is part of an editing term of two or more tokens ("I mean", "you know",
        "I'm sorry"): saying the term again repeats no message."""
        et2 = self._et2
        for y in range(a - 3 if a > 3 else 0, a + 1):
            for toks, _ in et2.get(lower[y:y + 2], ()):
                if y + len(toks) > a and lower[y:y + len(toks)] == toks:
                    return True
        return False

    def _at_fragment(self, ctx: _Turn, k: int, after: int):
        """A cut-off word (token ``k``, "th-") and what follows the editing phase starting at ``after``:
        "th- the" (repetition), "he was- she was" (replacement), "we could- actually, why don't we" (restart)."""
        lower = ctx.lower
        n = len(lower)
        w = lower[k]
        stem = w[:-1] if w[-1] == "-" else w
        if not stem[:1].isalpha():
            return None
        j = after
        ets = 0
        while j < n:
            t = lower[j]
            if t in _SKIP:
                j += 1
                continue
            m, _ = self._gap_et(lower, j, n)
            if not m or (not ets and t.startswith(stem)):
                break  # (an editing term that completes the cut-off word is its repair: "w- wait")
            ets += 1
            j += m
        if j >= n:
            return None
        nxt = lower[j]
        if nxt in _STOPS or not (nxt[0].isalnum() or nxt[-1].isalnum()):
            return None
        i0, j0 = ctx.bounds(k)
        if i0 < 0 or j >= j0:
            return None  # cut off at the end of the unit: abandoned, not repaired here
        if nxt in ("and", "or") and j + 2 < j0 and (lower[j + 1][-1:] == "-" or lower[j + 2] in _HYPHENS):
            return None  # "pre- and post-war"
        if (self.strict_dashes and len(stem) > 2 and not ets
                and not any(t.startswith(stem) for t in [t for t in lower[j:min(j0, j + 8)] if t[0].isalnum()][:4])
                and ctx.prev_word(k, i0) not in self._fillers):
            return None  # "then- still impressed me": in writing, a dash after a whole word is punctuation
        if nxt.startswith(stem):
            kind = "repetition"
        elif ets and (nxt in _WH or self._closed.get(nxt) in ("SCONJ", "CCONJ") or nxt in _SUBJECT_PRONOUNS):
            kind = "restart"
        else:
            kind = "replacement"
        return k, k + 1, j, j + 1, kind, 0.9, "fragment", "disfluency"

    def _legit_double(self, ctx: _Turn, i: int, m: int, j: int, i0: int, j0: int) -> bool:
        """Repetitions that are grammar or emphasis, not repair (the parse detector's lite-mode list)."""
        lower = ctx.lower
        close = j == i + m
        if m == 1:
            w = lower[i]
            if w in self._redup:
                return not self._redup[w] or close  # "very, very"; "so so" (only adjacent)
            if w in self._closed:
                # a function word: a short answer and the question back ("yes I do, do you"), or a
                # grammatical double ("had had"; "that that", not opening a unit)
                if w in _ELLIPTICAL_AUX and ctx.prev_word(i, i0) in _SUBJECT_PRONOUNS \
                        and ctx.next_word(j + 1, j0) in _SUBJECT_PRONOUNS:
                    return True
                return close and w in self._doubles and (self._doubles[w] or i > i0)
            if not _ALPHA_RE.search(w):
                return True  # digits and symbols repeat in sums, dates and code, not in repair
            if w in self._fillers:
                return True
            nxt = ctx.next_word(j + 1, j0)
            if nxt == w or ctx.prev_word(i, i0) == w:
                return True  # "money, money, money": a content word said three times is emphasis
            a, b = ctx.words[i], ctx.words[j]
            if len(a) == 1 and len(b) == 1 and a.isupper() and b.isupper() and a not in ("I", "A"):
                return True  # "C N N"
            if "," in lower[max(i0, i - 3):i + 1] and self._comma_within(lower, j + 1, j0, 3):
                return True  # an item of a list: "(minute, hour, day of month, month, …)"
            return close and w in self._doubles and (self._doubles[w] or i > i0)
        words = [t for t in lower[i:i + m] if t[0].isalnum() or t[-1].isalnum()]
        if not any(_ALPHA_RE.search(t) for t in words):
            return True
        if all(t in self._redup or t in self._fillers for t in words):
            return True
        return len(words) == 2 and words[1] in ("and", "or")  # "over and over and over"

    @staticmethod
    def _comma_within(lower: Sequence[str], x: int, end: int, words: int) -> bool:
        """Whether a comma comes before one of the next ``words`` words from token ``x``."""
        comma = False
        while x < end and words:
            t = lower[x]
            if t == ",":
                comma = True
            elif t[0].isalnum() or t[-1].isalnum():
                if comma:
                    return True
                words -= 1
            x += 1
        return False

    def _explicit(self, ctx: _Turn, e: int, k: int, x: int, j: int, lo: int, hi: int):
        """An explicit editing expression (at token ``x``) between a phrase and its replacement:
        "Tuesday, no, Wednesday", "he, I mean Tom"."""
        lower = ctx.lower
        if lower[x - 1] not in _PAUSES:
            return None  # without a pause before it, "no", "that is", "make that" are ordinary words
        if lower[x] == "no" and x + 1 == j:
            return None  # "smart move, no law suits": a determiner
        # the reparandum ends before any filler or discourse term ahead of the expression
        lw = [y for y in range(lo, e) if _is_word(lower[y])]
        rw = [y for y in range(j, hi) if _is_word(lower[y])]
        for L in (1, 2, 3):
            if L > len(lw) or L > len(rw):
                break
            rep, fix = [lower[y] for y in lw[-L:]], [lower[y] for y in rw[:L]]
            if rep == fix:
                continue
            if all(self._same_slot(a, b) for a, b in zip(rep, fix)):
                return lw[-L], lw[-1] + 1, rw[0], rw[L - 1] + 1, "replacement", 0.85, "editing_term", "correction"
        return None

    def _same_slot(self, a: str, b: str) -> bool:
        """Whether two words can fill the same slot: the same closed class, else the same shape (digits or not)."""
        pa, pb = self._closed.get(a), self._closed.get(b)
        if pa and pb:
            return pa == pb
        return _shape(a) == _shape(b)

    def _onset(self, ctx: _Turn, lw: list[int], rw: list[int], hesitated: bool):
        """A phrase restarted with the onset of the abandoned one: "it's a lot, it's very hard".
        Returns a repair, False when blocked, or None when the rule does not apply."""
        lower = ctx.lower
        first = lower[rw[0]]
        if first in self._redup:
            return None
        n = len(lw)
        for x in range(n - 1, max(-1, n - 1 - self.max_reparandum), -1):
            a = lw[x]
            if lower[a] != first or self._in_multi_et(lower, a, lw[-1] + 1):
                continue
            rep = [lower[y] for y in lw[x:]]
            fix = [lower[y] for y in rw[:n - x]]
            if rep == fix:
                return False  # an exact repetition: the repetition rule has judged it
            if self._restart_blocker(ctx, lw, x, rw, hesitated):
                return False
            kind = "insertion" if _is_subsequence(rep, [lower[y] for y in rw[:n - x + 3]]) else "replacement"
            end = rw[min(len(rw), n - x) - 1] + 1
            return a, lw[-1] + 1, rw[0], end, kind, 0.8, "onset", "disfluency"
        return None

    def _restart_blocker(self, ctx: _Turn, lw: list[int], x: int, rw: list[int], hesitated: bool) -> str:
        """Why words ``lw[x:]`` cannot be an abandoned phrase that ``rw`` restarts, or ""."""
        lower = ctx.lower
        closed = self._closed
        span = [lower[y] for y in lw[x:]]
        last = span[-1]
        if last[-1] == "-":
            return ""  # a cut-off word: abandoned
        fix = [lower[y] for y in rw]
        if closed.get(fix[0]) == "AUX" and len(fix) > 1 and (
            (fix[1] in ("n't", "not") and len(fix) == 3 and closed.get(fix[2], "PRON") == "PRON")
            or (closed.get(fix[1]) == "PRON" and len(fix) == 2)
        ):
            return "tag"  # "this is a good subject, isn't it"
        if x > 0 and lower[lw[x - 1]] in self._subordinators:
            return "sub_before"  # "if they had babies, they…"
        if len(span) <= 4 and any(w in self._parenthetical for w in span[1:]):
            return "paren"  # "I guess, I just…"
        if not hesitated and self._elliptical_end(span):
            return "clause"  # "I do, I think it's great"
        complete = last not in closed
        if complete and len(span) >= 2 and _is_subsequence(span, fix[:len(span) + 2]):
            return ""  # "the chairs, the folding chairs"
        if complete and len(span) >= 2 and closed.get(span[0]) in ("DET", "ADP"):
            return "nplist"
        if closed.get(span[0]) == "CCONJ" and (complete or len(span) >= 3) and not hesitated:
            return "cclist"
        if complete and len(span) >= 2:
            return "complete"
        if len(span) >= 5 and not self._open_ended(ctx, lw, len(lw) - 1):
            return "long"
        return ""

    def _elliptical_end(self, span: list[str]) -> bool:
        """A short clause ending on an auxiliary that stands for its verb phrase ("I do,", "it was,")."""
        if not self.comma_splices or len(span) < 2:
            return False
        k = len(span) - 1
        while k > 0 and span[k] in _CLAUSE_FINAL:
            k -= 1
        if span[k] not in _ELLIPTICAL_AUX or k == 0:
            return False
        subj = span[k - 1]
        if subj in ("sure", "really", "just", "still", "also") and k > 1:
            subj = span[k - 2]
        return self._closed.get(subj) == "PRON"

    def _open_ended(self, ctx: _Turn, lw: list[int], x: int) -> bool:
        """Whether a phrase cannot stop after word ``lw[x]``: a function word or a subject pronoun."""
        lower = ctx.lower
        w = lower[lw[x]]
        pos = self._closed.get(w)
        if pos == "PRON":
            if w not in _SUBJECT_PRONOUNS:
                return False
            # an object right after an open-class word ("got it, …") ends the phrase
            return not (w in _OBJECT_LIKE and x > 0 and lw[x - 1] == lw[x] - 1 and lower[lw[x - 1]] not in self._closed
                        and lower[lw[x - 1]] not in self._et_single)
        return pos in _OPEN_ENDED_POS

    def _parallel(self, ctx: _Turn, lw: list[int], rw: list[int], hesitated: bool):
        """A short abandoned phrase replaced by one of the same closed-class shape: "we, they have"."""
        lower = ctx.lower
        closed = self._closed
        for L in range(1, 4):
            if L > len(lw) or L > len(rw):
                break
            rep = [lower[y] for y in lw[-L:]]
            fix = [lower[y] for y in rw[:L]]
            tags = [closed.get(w) for w in rep]
            if None in tags or any(w in self._et_single for w in rep):
                continue
            if tags != [closed.get(w) for w in fix]:
                continue
            last = tags[-1]
            a = lw[-L]
            start = L == len(lw) or lower[a - 1] in _PAUSES or lower[a - 1] in _STOPS or closed.get(lower[lw[-L - 1]]) == "CCONJ" \
                or lower[lw[-L - 1]] in self._et_single
            if not self._open_ended(ctx, lw, len(lw) - 1) or (L == 1 and last in ("SCONJ", "PART")):
                return False
            if self._elliptical_end(rep) and not hesitated:
                return False
            if not (start or L >= 2 or last in ("AUX", "ADP", "DET")):
                return False
            return a, lw[-1] + 1, rw[0], rw[L - 1] + 1, "replacement", 0.7, "parallel", "disfluency"
        return None

    def _inserted(self, ctx: _Turn, lw: list[int], rw: list[int], hesitated: bool):
        """A short unfinished phrase restarted after one or two new words: "I, maybe I misunderstood"."""
        lower = ctx.lower
        closed = self._closed
        n = len(lw)
        for x in range(n - 1, max(-1, n - 4), -1):
            w = lower[lw[x]]
            if w in self._et_single or w in self._redup:
                continue
            for d in (1, 2):
                if d >= len(rw):
                    break
                if lower[rw[d]] != w:
                    continue
                last, ins = lower[lw[-1]], lower[rw[0]]
                lpos, ipos = closed.get(last), closed.get(ins)
                if ipos == "CCONJ" or lpos in ("CCONJ", "DET", "SCONJ"):
                    return None  # "apples, and apples": coordination
                span = [lower[y] for y in lw[x:]]
                if self._elliptical_end(span) and not hesitated:
                    return None
                if not (self._open_ended(ctx, lw, n - 1) or (n - x == 1 and lpos in ("ADV", "ADP", "AUX", "PART"))):
                    return None
                return lw[x], lw[-1] + 1, rw[0], rw[min(len(rw) - 1, d + n - x - 1)] + 1, "insertion", 0.7, "insertion", "disfluency"
        return None

    def _adjacent(self, ctx: _Turn, i: int, m: int):
        """A word (or two tokens) at ``i`` said again right after, with no pause between ("the the", "I'm I'm")."""
        lower = ctx.lower
        w = lower[i]
        if not (w[0].isalnum() or w[-1].isalnum()) or w in self._fillers:
            return None
        i0, j0 = ctx.bounds(i)
        if i0 < 0 or i + 2 * m > j0:
            return None
        if (i > 0 and lower[i - 1] in _HYPHENS) or (i + 2 * m < len(lower) and lower[i + 2 * m] in _HYPHENS):
            return None  # "a six-goal goal": a part of a hyphenated word
        if self._in_multi_et(lower, i, i + m) or self._legit_double(ctx, i, m, i + m, i0, j0):
            return None
        return i, i + m, i + m, i + 2 * m, "repetition", 0.95, "repetition", "disfluency"

    # ------------------------------------------------------------------------- building the move

    def _self_move(self, ctx: _Turn, r: tuple) -> Move:
        a, b, f, g, kind, score, rule, level = r
        starts, words = ctx.starts, ctx.words
        rs, re_ = starts[a], starts[b - 1] + len(words[b - 1])
        fe = starts[g - 1] + len(words[g - 1])
        end = max(fe, re_)
        # built frozen (spans as tuples), as Move would freeze it
        attrs = {"kind": kind, "reparandum": (rs, re_), "repair": (starts[f], fe), "level": level,
                 "reference": self._is_reference(ctx, a, b, f, g, kind), "rule": rule}
        if f > b + 1 or (f == b + 1 and ctx.lower[b][0].isalnum()):
            lower = ctx.lower
            ets = [x for x in range(b, f) if lower[x][0].isalnum()]
            if ets:
                attrs["editing_term"] = (starts[ets[0]], starts[ets[-1]] + len(words[ets[-1]]))
        return Move("repair.self", ctx.index, rs, end, ctx.text[rs:end][:80], None, FrozenDict(attrs), self._id, score)

    def _is_reference(self, ctx: _Turn, a: int, b: int, f: int, g: int, kind: str) -> bool:
        """Whether the repair is about who or what is talked about: a capitalised word inside the
        turn (a name, not a day or month) or, in a replacement, a personal pronoun."""
        words = ctx.words
        for x in (*range(a, b), *range(f, g)):
            w = words[x]
            if x and w[0].isupper() and w != "I" and w[-1] != "-" and w.lower() not in self._temporal:
                return True
            if kind != "repetition" and self._closed.get(ctx.lower[x]) == "PRON":
                return True
        return False

    # ------------------------------------------------------------------------- across turns

    def _left_open(self, pturn: Turn, pp: ParsedTurn) -> int:
        """The end of a turn's last unit when it ends without a full stop (it may be resumed), else -1."""
        if pturn.segments:
            spans = units(pturn, pp)
            if not spans:
                return -1
            pe = spans[-1][1]
            if pe <= spans[-1][0]:
                return -1
        else:
            pe = len(pturn.text.rstrip())
        return pe if pe > 0 and pturn.text[pe - 1] not in ".?!" else -1

    def _cross_turn_gate(self, conv: Conversation, parsed: Sequence[ParsedTurn], prev: int, t: int) -> Move | None:
        """The cheap test for _cross_turn_repair: the turn's first word (after editing terms) is among
        the last words of the speaker's previous turn, or that turn ends on a cut-off word."""
        turns = conv.turns
        limit = self.max_interjection
        for x in range(prev + 1, t):
            # the partner only came in briefly ("uh-huh", overlap); after a question or a real
            # contribution the speaker answers rather than resumes
            low = parsed[x].lower
            if low and low[-1] == "?" or len(low) > limit and len(_WORD_RE.findall(turns[x].text)) > limit:
                return None
        lower = parsed[t].lower
        n = len(lower)
        c0 = 0
        et_first = self._et_first
        while c0 < n - 1 and (lower[c0] in _PAUSES or lower[c0] in et_first):
            step = 1 if lower[c0] in _PAUSES else self._gap_et(lower, c0, n)[0]
            if not step:
                break
            c0 = min(n - 1, c0 + step)
        plow = parsed[prev].lower
        if lower[c0] in plow[-12:] or any(t[-1] == "-" for t in plow[-3:]):
            return self._cross_turn_repair(conv, parsed, prev, conv.turns[t], parsed[t])
        return None

    def _cross_turn_repair(self, conv: Conversation, parsed: Sequence[ParsedTurn], prev: int, turn: Turn,
                           p: ParsedTurn) -> Move | None:
        """The speaker left a phrase unfinished at the end of their previous turn (the partner came
        in briefly) and now restarts it: "I guess" … "I guess we can start"."""
        turns = conv.turns
        pturn, pp = turns[prev], parsed[prev]
        if not len(pp.lower):
            return None
        pe = self._left_open(pturn, pp)
        if pe < 0:
            return None
        plow, pstarts = pp.lower, pp.starts
        m_end = bisect_left(pstarts, pe)
        lo = max(0, m_end - 12)
        if pturn.segments:
            lo = max(lo, bisect_left(pstarts, units(pturn, pp)[-1][0]))
        prev_words = [x for x in range(lo, m_end) if _is_word(plow[x])]
        cut = [y for y in range(lo, m_end) if plow[y] in _STOPS]
        if cut:
            prev_words = [y for y in prev_words if y > cut[-1]]
        if not prev_words:
            return None
        last = prev_words[-1]
        # the last word cut off: "exa-" (or "exa" "-" from a tokenizer splitting the hyphen)
        frag_end = plow[last][-1] == "-" or (last + 1 < m_end and plow[last + 1] in _HYPHENS)
        comma_before = last > 0 and plow[last - 1] == ","
        lower = p.lower
        end = len(lower)
        if turn.segments:
            spans = units(turn, p)
            if spans:
                end = bisect_left(p.starts, spans[0][1])
        c0 = 0
        while c0 < end:
            t = lower[c0]
            if t in _PAUSES:
                c0 += 1
                continue
            m, _ = self._gap_et(lower, c0, end)
            if not m:
                break
            c0 += m
        if c0 >= end or not _is_word(lower[c0]):
            return None
        first = lower[c0]
        if first in self._redup:
            return None
        cur = [y for y in range(c0, min(end, c0 + 10)) if _is_word(lower[y])]
        head = tuple(lower[y] for y in cur[:2])
        for bp in parsed[prev + 1:turn.index]:
            low = bp.lower
            if head[0] in low and any(low[x:x + len(head)] == head for x in range(len(low))):
                return None  # the partner said it: an echo, not a restart
        pw = [plow[y] for y in prev_words]
        m = len(pw)
        last_open = frag_end or self._open_ended(_Ctx(plow), prev_words, m - 1)
        for a in range(m - 1, max(-1, m - 1 - self.max_reparandum), -1):
            w = pw[a]
            same = w == first or (a == m - 1 and frag_end and first.startswith(w.rstrip("-")))
            if not same:
                continue
            k = 1
            while a + k < m and k < len(cur) and pw[a + k] == lower[cur[k]]:
                k += 1
            kind = "repetition" if a + k == m else "replacement"
            if kind == "repetition" and k == 1 and not (last_open or pturn.text[pe - 1] in ",-"):
                continue  # one word again after a complete turn is no restart
            if kind == "replacement" and not ((m - a <= 2 or k >= 2) and (last_open or comma_before)):
                continue
            fs = p.starts[cur[0]]
            fe = p.starts[cur[k - 1]] + len(p.words[cur[k - 1]])
            rs = pstarts[prev_words[a]]
            attrs = {"kind": kind, "reparandum": [rs, pe], "reparandum_turn": pturn.index, "repair": [fs, fe],
                     "level": "disfluency", "reference": any(p.words[y][:1].isupper() and y > 0 for y in cur[:k]),
                     "rule": "cross_turn"}
            return self.move("repair.self", turn.index, fs, fe, cue=turn.text[fs:fe][:80], attributes=attrs, score=0.7)
        return None

    def _followup_repair(self, pturn: Turn, turn: Turn, p: ParsedTurn) -> Move | None:
        """A written self-correction sent as the speaker's next message: "*Wednesday", "sorry, I meant the 5th"."""
        text = turn.text
        s, e = self._head_span(turn, p)
        if e <= s:
            return None
        lower = p.lower
        x = bisect_left(p.starts, s)
        star = _STAR_RE.match(text[s:e])
        if star is not None and len(_WORD_RE.findall(text[s:e])) <= 6:
            cue = "*"
        else:
            hit = self._marker_at(lower, x, len(lower), ("repair.self.followup",))
            if hit is None:
                return None
            toks = hit[1]
            me = p.starts[x + len(toks) - 1] + len(p.words[x + len(toks) - 1])
            if e - me < 2:
                return None
            if toks == ("sorry",) and not _MEANT_RE.match(text[me:e]):
                return None  # an apology, unless "sorry, I meant…"
            cue = text[p.starts[x]:me]
        attrs = {"kind": "replacement", "reparandum_turn": pturn.index, "reparandum": [0, len(pturn.text)],
                 "repair": [s, e], "level": "correction", "reference": self._definite_np(p, s, e)}
        return self.move("repair.self", turn.index, s, e, cue=cue, attributes=attrs, score=0.7)

    def _head_span(self, turn: Turn, p: ParsedTurn) -> tuple[int, int]:
        """The character span of the turn's first unit."""
        if turn.segments:
            spans = units(turn, p)
            return spans[0] if spans else (0, 0)
        ss = p.sent_starts
        n = len(p.lower)
        j = ss[1] if len(ss) > 1 else n
        if not n:
            return 0, 0
        return p.starts[0], p.starts[j - 1] + len(p.words[j - 1])

    def _heads(self, turn: Turn, p: ParsedTurn, cache: dict[int, list[tuple[int, int]]]) -> list[tuple[int, int]]:
        """The token spans of the turn's first two units (sentences, or the source's segments)."""
        hit = cache.get(turn.index)
        if hit is not None:
            return hit
        n = len(p.lower)
        out: list[tuple[int, int]] = []
        if turn.segments:
            starts = p.starts
            for s, e in units(turn, p)[:2]:
                if e > s:
                    out.append((bisect_left(starts, s), bisect_left(starts, e)))
        else:
            ss = p.sent_starts
            for x in range(min(2, len(ss))):
                a = ss[x]
                b = ss[x + 1] if x + 1 < len(ss) else n
                if b > a:
                    out.append((a, b))
        if not out and n:
            out.append((0, n))
        cache[turn.index] = out
        return out

    def _marker_at(self, lower: Sequence[str], x: int, end: int, labels: tuple[str, ...] | None) -> tuple[str, tuple[str, ...], str] | None:
        """The longest repair marker with one of ``labels`` (any opening one when None) starting at
        token ``x``: (label, tokens, strength)."""
        by_pair = self._mk_by_pair
        for key in (lower[x:x + 2], lower[x:x + 1]):
            for toks, label, strength in by_pair.get(key, ()):
                if (label in labels if labels is not None else not label.endswith(".not")) and x + len(toks) <= end \
                        and lower[x:x + len(toks)] == toks:
                    return label, toks, strength
        return None

    def _has_marker(self, lower: Sequence[str], i: int, j: int) -> bool:
        """Whether a marker that the cross-turn rules read starts early enough in tokens ``[i, j)``:
        third-position after at most three words, other-correction after two, a reply particle first."""
        w = lower[i:min(j, i + 10)]
        keys = [pair[0] for pair in self._mk_pairs.intersection(zip(w, islice(w, 1, None)))]
        keys.extend(tri[0] for tri in self._mk_triples.intersection(zip(w, islice(w, 1, None), islice(w, 2, None))))
        keys.extend(self._mk_singles.intersection(w))
        for first in keys:
            x = -1
            for _ in range(w.count(first)):
                x = w.index(first, x + 1)
                lead = sum(1 for t in w[:x] if t[0].isalnum() or t[-1].isalnum())
                if lead <= 3 and self._marker_at(lower, i + x, j, _GATE_LABELS[lead]) is not None:
                    return True
        return False

    def _marker(self, p: ParsedTurn, i: int, j: int, labels: tuple[str, ...], max_lead: int) -> tuple[int, tuple[str, ...], str, str] | None:
        """The first marker with one of ``labels`` in tokens ``[i, j)`` after at most ``max_lead`` words,
        not inside a longer phrase that is not one ("no problem", "that's what I meant"):
        (token index, tokens, label, strength)."""
        key = (id(p), i, labels, max_lead)
        memo = self._memo
        if key in memo:
            return memo[key]
        memo[key] = hit = self._find_marker(p, i, j, labels, max_lead)
        return hit

    def _find_marker(self, p: ParsedTurn, i: int, j: int, labels: tuple[str, ...], max_lead: int) -> tuple[int, tuple[str, ...], str, str] | None:
        lower = p.lower
        lead = 0
        for x in range(i, j):
            t = lower[x]
            if lower[x:x + 2] in self._mk_by_pair or t in self._mk_singles:
                hit = self._marker_at(lower, x, j, labels)
                if hit is not None and not self._blocked(lower, i, x, j, hit):
                    return x, hit[1], hit[0], hit[2]
            if t[0].isalnum() or t[-1].isalnum():
                lead += 1
                if lead > max_lead:
                    return None
        return None

    def _blocked(self, lower: Sequence[str], i: int, x: int, j: int, hit: tuple[str, tuple[str, ...], str]) -> bool:
        """Whether a marker at token ``x`` lies inside a longer phrase that is not one ("no problem",
        "that's what I meant"), as the parse detector's matcher reads them."""
        label, toks, _ = hit
        base = label.split(".")[1]
        nots = self._mk_nots
        for y in range(max(i, x - 4), x + 1):
            for t, b in nots.get(lower[y], ()):
                if b == base and x < y + len(t) <= j and (y < x or len(t) > len(toks)) and lower[y:y + len(t)] == t:
                    return True
        return False

    def _definite_np(self, p: ParsedTurn, s: int, e: int) -> bool:
        """Whether a span holds a referring expression: a definite noun phrase, a name or an anaphoric "one"."""
        i, j = p.tokens_in(s, e)
        lower = p.lower
        closed = self._closed
        for k in range(i, j):
            low = lower[k]
            if low == "one" and k > i and lower[k - 1] in _DEFINITE:
                return True
            if low in _DEFINITE and k + 1 < j and _is_word(lower[k + 1]) and lower[k + 1] not in closed:
                return True
        return False

    def _is_confirmation(self, text: str) -> bool:
        words = _WORD_RE.findall(text.lower())
        return not words or " ".join(words) in self._confirm or all(w in self._confirm for w in words)

    def _completions(self, conv: Conversation, parsed: Sequence[ParsedTurn], requests: list[Move], taken: set[int],
                     cache: dict[int, list[tuple[int, int]]]) -> list[Move]:
        """The trouble-source speaker's answer to a clarification request."""
        out: list[Move] = []
        turns = conv.turns
        seen: set[int] = set(taken)
        for cr in sorted(requests, key=lambda m: m.turn):
            source = turns[cr.target].speaker  # type: ignore[index]
            if source == turns[cr.turn].speaker:
                continue
            for r in range(cr.turn + 1, min(len(turns), cr.turn + 1 + self.completion_window)):
                if turns[r].speaker != source:
                    continue
                if r in seen:
                    break
                turn, p = turns[r], parsed[r]
                if not len(p.lower):
                    break
                spans = self._char_units(turn, p)
                k = 0
                while k < len(spans) - 1 and self._is_confirmation(turn.text[spans[k][0]:spans[k][1]]):
                    k += 1
                s, e = spans[k]
                if self._is_confirmation(turn.text[s:e]):
                    break  # "yes" alone confirms a candidate understanding without repairing anything
                if any(m.target == cr.turn for m in self._req_by_turn.get(r, ())):
                    break  # a counter-question, not an answer
                reference = cr.attributes.get("about") == "reference" or self._definite_np(p, s, e)
                attrs: dict[str, Any] = {"reference": reference, "format": str(cr.attributes.get("format", ""))}
                if reference:
                    attrs["refers_to"] = cr.target
                out.append(self.move("repair.completion", r, s, e, cue=None, target=cr.turn, attributes=attrs, score=0.7))
                seen.add(r)
                break
        return out

    @staticmethod
    def _last_unit(turn: Turn, p: ParsedTurn) -> tuple[int, int]:
        """The character span of the turn's last unit."""
        if turn.segments:
            spans = [(s, e) for s, e in units(turn, p) if e > s]
            return spans[-1] if spans else (0, len(turn.text))
        n = len(p.lower)
        i = p.sent_starts[-1] if n else 0
        return (p.starts[i], p.starts[n - 1] + len(p.words[n - 1])) if i < n else (0, len(turn.text))

    @staticmethod
    def _char_units(turn: Turn, p: ParsedTurn) -> list[tuple[int, int]]:
        spans = [(s, e) for s, e in units(turn, p) if e > s]
        return spans or [(0, len(turn.text))]

    def _third_position(self, conv: Conversation, parsed: Sequence[ParsedTurn], t: int, source: int, requests: list[Move],
                        cache: dict[int, list[tuple[int, int]]]) -> Move | None:
        """"No, I meant…" from the speaker whose earlier turn (``source``) the partner has just responded to."""
        turns = conv.turns
        turn, p = turns[t], parsed[t]
        via = t - 1
        if any(m.target == source for m in self._req_by_turn.get(via, ())):
            return None  # the partner asked; the answer is a completion
        for i, j in self._heads(turn, p, cache):
            hit = self._marker(p, i, j, ("repair.third_position",), 3)
            if hit is None:
                continue
            x, toks, _, strength = hit
            s, e = p.starts[i], p.starts[j - 1] + len(p.words[j - 1])
            ms = p.starts[x]
            if strength == "weak" and not _NOT_OR_NO_RE.search(turn.text[s:ms].lower()):
                continue
            me = p.starts[x + len(toks) - 1] + len(p.words[x + len(toks) - 1])
            attrs: dict[str, Any] = {"via": via, "reference": self._definite_np(p, me, e)}
            if attrs["reference"]:
                attrs["refers_to"] = source
            return self.move("repair.third_position", t, s, e, cue=turn.text[ms:me], target=source,
                             attributes=attrs, score=0.8 if strength != "weak" else 0.6)
        return None

    def _other_correction(self, conv: Conversation, parsed: Sequence[ParsedTurn], t: int, requests: list[Move],
                          cache: dict[int, list[tuple[int, int]]], strong_only: bool) -> Move | None:
        """The partner corrects what the previous speaker said: "No, it's the 12th." after "the 15th"."""
        turns = conv.turns
        turn, p = turns[t], parsed[t]
        prev, pp = turns[t - 1], parsed[t - 1]
        lower = p.lower
        if not len(pp.lower):
            return None
        text = turn.text
        wh_question: bool | None = None
        for n_unit, (i, j) in enumerate(self._heads(turn, p, cache)):
            s, e = p.starts[i], p.starts[j - 1] + len(p.words[j - 1])
            if any(s <= m.start < e for m in self._req_by_turn.get(t, ())):
                continue  # "you mean the red one?" asks; it does not correct
            strong = self._marker(p, i, j, ("repair.other",), 2)
            if strong is not None and strong[3] == "strong" and all(w in _LEAD_OK for w in lower[i:strong[0]] if _is_word(w)):
                return self._other_move(t, s, e, p, strong, 0.8)
            if strong_only:
                return None
            if wh_question is None:
                ph = self._last_unit(prev, pp)
                wh_question = self._real_question(prev.text[ph[0]:ph[1]], pp, *ph)
            if wh_question:
                return None  # answers to wh-questions fill a gap; they do not correct
            if text[s:e].rstrip().endswith("?"):
                continue
            if n_unit:
                continue  # a reply particle opens the reply
            marker = self._marker(p, i, j, ("repair.other", "repair.other.marker"), 1)
            if marker is not None:
                lead = text[s:p.starts[marker[0]]].lower()
                if _DISMAY_RE.search(lead):
                    marker = None  # "oh no": dismay or sympathy
                elif any(w not in _LEAD_OK for w in _WORD_RE.findall(lead)):
                    marker = None
                elif marker[2] == "repair.other.marker" and not self._particle(p, marker[0] + len(marker[1]), j):
                    marker = None  # "No kidding", "no need": a determiner, not a reply particle
            bare = marker is None and self._bare_fragment(p, i, j)
            hedged = bare and any(h in text[s:e].lower() for h in _HEDGES)
            if marker is None and not bare:
                continue
            sub = self._substitution(pp, prev, p, i, j, strict=bare)
            if sub is None:
                continue
            if bare and not (self._same_frame(pp, p, sub) and (hedged or sub[4] in ("num", "time"))):
                continue
            if marker is not None:
                return self._other_move(t, s, e, p, marker, 0.7, sub)
            k = sub[0]
            return self.move("repair.other", t, s, e, cue=text[p.starts[k]:p.starts[k] + len(p.words[k])], target=t - 1,
                             attributes=self._sub_attrs(p, pp, sub), score=0.55)
        return None

    def _may_substitute(self, lower: Sequence[str]) -> bool:
        """A cheap necessary condition for a bare-fragment correction: a number word, a time word or a digit."""
        return not self._numtime.isdisjoint(lower) or _DIGIT_RE.search(" ".join(lower)) is not None

    def _other_move(self, t: int, s: int, e: int, p: ParsedTurn, marker: tuple, score: float,
                    sub: tuple | None = None) -> Move:
        x, toks = marker[0], marker[1]
        cs, ce = p.starts[x], p.starts[x + len(toks) - 1] + len(p.words[x + len(toks) - 1])
        attrs: dict[str, Any] = {"reference": False}
        if sub is not None:
            attrs = self._sub_attrs(p, None, sub)
        return self.move("repair.other", t, s, e, cue=p.text[cs:ce][:80], target=t - 1, attributes=attrs, score=score)

    @staticmethod
    def _sub_attrs(p: ParsedTurn, pp: ParsedTurn | None, sub: tuple) -> dict[str, Any]:
        k, span_old = sub[0], sub[2]
        return {"reference": False, "repair": [p.starts[k], p.starts[k] + len(p.words[k])], "replaces": list(span_old)}

    def _particle(self, p: ParsedTurn, x: int, j: int) -> bool:
        """Whether the marker ending before token ``x`` stands alone as a reply particle."""
        if x >= j or not _is_word(p.lower[x]):
            return True
        low = p.lower[x]
        return low in _SUBJECT_PRONOUNS or low in _DEFINITE or low in ("a", "an", "it's", "that's")

    def _real_question(self, text: str, p: ParsedTurn, s: int, e: int) -> bool:
        """A question that asks for information or offers something (not a tagged claim)."""
        text = text.rstrip()
        if not text.endswith("?") or _TAG_RE.search(text):
            return False
        i, j = bisect_left(p.starts, s), bisect_left(p.starts, e)
        lower = p.lower
        first = next((lower[k] for k in range(i, j) if _is_word(lower[k]) and lower[k] not in _LEAD_OK), "")
        return first in _WH or first in _ASKING_AUX or first in _INVERTED_AUX or len(_WORD_RE.findall(text)) > 4

    def _bare_fragment(self, p: ParsedTurn, i: int, j: int) -> bool:
        """A short verbless unit ("the 4th, I think."): hedges aside, at most four words."""
        text = " ".join(t for t in p.lower[i:j] if _is_word(t))
        for hedge in _HEDGES:
            text = text.replace(hedge, " ")
        rest = text.split()
        if not rest or len(rest) > 4:
            return False
        return not any(self._closed.get(w) == "AUX" for w in rest)

    def _slot(self, p: ParsedTurn, k: int) -> str:
        """The kind of content a token contributes: num, time or name (no tagger: no nouns)."""
        low = p.lower[k]
        if low in self._confirm or low in self._redup or not _is_word(low):
            return ""
        if _NUMERIC_RE.match(low) or low in self._numbers:
            return "num"
        if low in self._temporal:
            return "time"
        if (p.words[k][:1].isupper() and k > 0 and low not in self._closed and _is_word(p.lower[k - 1])
                and k not in p.sent_starts):
            return "name"
        return ""

    def _slots(self, p: ParsedTurn, i: int, j: int) -> list[tuple[int, str]]:
        """The tokens of ``[i, j)`` that contribute a number, a time or a name, with their kind; the
        candidates (number and time words, tokens with a digit or a capital) are found by C-level passes."""
        lower = p.lower[i:j]
        cands = set(compress(range(i, j), map(self._numtime.__contains__, lower)))
        cands.update(compress(range(i, j), map(str.isupper, map(itemgetter(0), p.words[i:j]))))  # a capital first
        if _DIGIT_RE.search(" ".join(lower)):
            cands.update(x for x in range(i, j) if p.lower[x][:1].isdigit())
        return [(k, c) for k in sorted(cands) if (c := self._slot(p, k))]

    def _substitution(self, pp: ParsedTurn, prev: Turn, p: ParsedTurn, i: int, j: int, strict: bool = False):
        """A number, time or name of the unit that takes the place of one of the partner's (absent
        from the other turn): (token, old token, old char span, -, kind)."""
        cur = self._slots(p, i, j)
        if strict:
            cur = [(k, c) for k, c in cur if c in ("num", "time")]
        if not cur:
            return None
        old = self._slots(pp, 0, len(pp.lower))
        if strict:
            stated = [(a, b) for a, b in self._char_units(prev, pp) if not prev.text[a:b].rstrip().endswith("?")]
            old = [(k, c) for k, c in old if any(a <= pp.starts[k] < b for a, b in stated)]
        old_low = {pp.lower[k] for k, _ in old}
        cur_low = set(p.lower[i:j])
        for k, c in cur:
            if p.lower[k] in old_low:
                continue
            for q, d in old:
                if d == c and pp.lower[q] not in cur_low:
                    return k, q, (pp.starts[q], pp.starts[q] + len(pp.words[q])), None, c
        return None

    @staticmethod
    def _same_frame(pp: ParsedTurn, p: ParsedTurn, sub: tuple) -> bool:
        """Whether the new and the old word share a neighbour ("the 3rd" → "the 4th")."""
        k, q = sub[0], sub[1]
        near = {p.lower[x] for x in (k - 1, k + 1) if 0 <= x < len(p.lower) and _is_word(p.lower[x])}
        old = {pp.lower[x] for x in (q - 1, q + 1) if 0 <= x < len(pp.lower) and _is_word(pp.lower[x])}
        return bool(near & old)


def _variants(pattern: str) -> list[tuple[str, ...]]:
    """A lexicon phrase as token sequences of the regex tokenizer (with either apostrophe)."""
    toks = tuple(tokenize(pattern.lower())[0])
    if not toks:
        return []
    out = [toks]
    if any("'" in t for t in toks):
        out.append(tuple(t.replace("'", "’") for t in toks))
    return out


def _trie(phrases: list[str]) -> str:
    """One regex for token phrases (tokens joined by spaces) as they appear in text: a clitic
    ("'s", "n't") is glued to the word before, other tokens are separated by spaces, commas or
    dashes. Sibling branches start with different characters (see :class:`convmaint.lexicon.Matcher`)."""
    keys = []
    for phrase in set(phrases):
        units: list[str] = []
        for x, tok in enumerate(phrase.split(" ")):
            glued = x > 0 and (tok[0] in "'’" or tok == "n't")
            if x > 0 and not glued:
                units.append(r"\s+")
            units += ["['’]" if ch in "'’" else re.escape(ch) for ch in tok]
        keys.append(units)
    return trie_pattern(keys, "")


def _shape(word: str) -> str:
    return "d" if word[:1].isdigit() else "w"


class _Ctx:
    """The token view the phrase tests need (for a turn other than the one scanned)."""

    __slots__ = ("lower",)

    def __init__(self, lower: Sequence[str]) -> None:
        self.lower = lower


class _Turn:
    """One turn being scanned: its tokens, and the unit (token span) around a token, computed on demand."""

    __slots__ = ("_code", "_seg_starts", "_segs", "index", "lower", "p", "starts", "text", "turn", "words")

    def __init__(self, turn: Turn, p: ParsedTurn) -> None:
        self.turn = turn
        self.index = turn.index
        self.text = turn.text
        self.lower = p.lower
        self.starts = p.starts
        self.words = p.words
        self.p = p
        self._segs: list[tuple[int, int]] | None = None
        self._code: list[tuple[int, int]] | None = None

    def bounds(self, k: int) -> tuple[int, int]:
        """The token span of the unit holding token ``k`` ((-1, -1) when the unit is not talk)."""
        starts = self.starts
        if self.turn.segments:
            if self._segs is None:
                self._segs = [(bisect_left(starts, seg.start), bisect_left(starts, seg.end)) for seg in self.turn.segments]
                self._seg_starts = [a for a, _ in self._segs]
            x = bisect_right(self._seg_starts, k) - 1
            if x < 0:
                return -1, -1
            i0, j0 = self._segs[x]
            if k >= j0:
                return -1, -1
        else:
            ss = self.p.sent_starts
            x = bisect_right(ss, k) - 1
            i0 = ss[x] if x >= 0 else 0
            j0 = ss[x + 1] if x + 1 < len(ss) else len(starts)
            text = self.text
            if "\n" in text:
                c = starts[k]
                a = text.rfind("\n", starts[i0], c)
                if a >= 0:
                    i0 = bisect_left(starts, a)
                b = text.find("\n", c, starts[j0 - 1])
                if b >= 0:
                    j0 = bisect_left(starts, b)
        text = self.text
        if ("`" in text or "\n" in text) and self._not_talk(i0, j0):
            return -1, -1
        return i0, j0

    def _not_talk(self, i0: int, j0: int) -> bool:
        """A unit that is code, or mostly digits and symbols (a sum, a table row), is not searched."""
        starts = self.starts
        s, e = starts[i0], starts[j0 - 1] + len(self.words[j0 - 1])
        if self._code is None:
            self._code = [m.span() for m in _CODE_RE.finditer(self.text)] if "`" in self.text else []
        if any(a < e and s < b for a, b in self._code):
            return True
        tokens = self.text[s:e].split()
        if len(tokens) < 4 or 2 * sum(map(str.isalpha, tokens)) >= len(tokens):
            return False
        wordy = sum(1 for t in tokens if sum(ch.isalpha() for ch in t) >= max(1, len(t) // 2))
        return wordy < len(tokens) / 2

    def next_word(self, x: int, j0: int) -> str:
        lower = self.lower
        while x < j0 and lower[x] in _PAUSES:
            x += 1
        return lower[x] if x < j0 else ""

    def prev_word(self, x: int, i0: int) -> str:
        lower = self.lower
        x -= 1
        while x >= i0 and lower[x] in _PAUSES:
            x -= 1
        return lower[x] if x >= i0 else ""
