"""Repair detectors: self-repair inside a turn, repair completions, other-correction and third-position repair."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate, chain, compress
from operator import not_, or_
from typing import Any

from convmaint import _regex
from convmaint.detect.base import Detector, Mode, register_detector, units
from convmaint.errors import ConfigError
from convmaint.lexicon import LexiconSet, trie_pattern
from convmaint.model import Conversation, Move, Turn
from convmaint.nlp.base import ParsedTurn

__all__ = ["RepairDetector"]

# A word cut off in mid-production: "th-", "wh-", "was-" (transcribers' convention, also in chat).
_FRAGMENT_RE = re.compile(r"^[^\W\d_][\w']*-$")
_FINAL = frozenset(".?!…:;")
_WORD_RE = re.compile(r"[\w'’]+(?:-[\w'’]+)*")
_MEANT_RE = re.compile(r"\W*i meant\b", re.IGNORECASE)
_STAR_RE = re.compile(r"^\s*\*(?=\w)|\w\*\s*$")
_NUMERIC_RE = re.compile(r"^[£$€]?\d[\d.,:]*(?:st|nd|rd|th|am|pm|k|%)?$")
_SUBJECT_PRONOUNS = frozenset({"i", "we", "they", "he", "she", "it", "you", "my", "our", "their", "his", "your", "there"})
# Pronouns that are objects right after a verb ("got it"); used without a parser.
_OBJECT_LIKE = frozenset({"it", "you", "them", "him", "her", "me", "us"})
_ELLIPTICAL_AUX = frozenset({"do", "does", "did", "is", "was", "are", "were", "am", "'m", "'re", "'s", "have", "has", "had",
                             "'ve", "dont", "didnt", "doesnt", "isnt", "wasnt", "arent", "werent", "havent", "hasnt",
                             "hadnt", "im", "wo", "ca"})
_CLAUSE_FINAL = frozenset({"not", "n't", "nt", "actually", "either", "too", "though", "yet", "really", "already"})
_DEFINITE = frozenset({"the", "this", "that", "these", "those", "my", "your", "his", "her", "our", "their", "its"})
_ASKING_AUX = frozenset({"do", "does", "did", "would", "could", "can", "will", "shall", "should", "may", "might", "want"})
_INVERTED_AUX = frozenset({"is", "are", "was", "were", "has", "have", "had", "am"})
_TAG_RE = re.compile(r"(?:,\s*|\b)(?:right|correct|yeah|no|huh|innit|eh)\W*\?+$|"
                     r"\b(?:is|are|was|were|do|does|did|have|has|can|could|would|will|should)(?:n't| not)\s+"
                     r"(?:it|he|she|they|you|we|i|there|that)\W*\?+$", re.IGNORECASE)
_LEAD_OK = frozenset({"well", "um", "uh", "er", "hmm", "so", "but", "oh", "ah", "sorry", "ok", "okay"})
_WH = frozenset({"what", "which", "who", "whom", "whose", "where", "when", "why", "how"})
_HEDGES = ("i think", "i guess", "i believe", "actually", "i'm pretty sure", "i'm sure", "if i remember right")
_HEDGE_WORDS = frozenset({"think", "guess", "believe", "'m", "am"})
# Any of _HEDGES in a text, in one search.
_HEDGE_RE = re.compile("|".join(map(re.escape, _HEDGES)))
_STOP_CHARS = frozenset(".?!;:…")
_DASH_CHARS = frozenset("-—–")
_QUOTES = frozenset('"“”«»')
# Boundary signals between words, weakest first.
_SIGNAL_RANK = {"": 0, "comma": 1, "dash": 2, "stop": 3}
_CONTENT_POS = frozenset({"NOUN", "PROPN", "VERB", "ADJ", "NUM"})
# Words after which a phrase cannot stop: a unit that ends on one was cut off.
_OPEN_ENDED_POS = frozenset({"DET", "ADP", "AUX", "CCONJ", "SCONJ", "PART", "PRON"})


# The punctuation behind a comma or dash signal, a cut-off word ("th-") or an infix hyphen ("bye-bye").
_PAUSE_RE = re.compile(r"[,\-—–]")
_CODE_RE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]+`", re.DOTALL)


def _code_regions(text: str) -> list[tuple[int, int]]:
    """Markdown code (fenced blocks and inline spans) in a written turn: program text, not talk."""
    return [m.span() for m in _CODE_RE.finditer(text)] if "`" in text else []


def _not_talk(text: str, start: int, end: int, code: list[tuple[int, int]]) -> bool:
    """A unit that is code, or mostly digits and symbols (a sum, a table row), is not searched for repairs."""
    if code and any(s < end and start < e for s, e in code):
        return True
    tokens = text[start:end].split()
    if len(tokens) < 4:
        return False
    # an all-letter token is wordy: when half the tokens are, the unit is talk whatever the rest
    if 2 * sum(map(str.isalpha, tokens)) >= len(tokens):
        return False
    wordy = sum(1 for t in tokens if sum(ch.isalpha() for ch in t) >= max(1, len(t) // 2))
    return wordy < len(tokens) / 2


# The dependencies of a pronoun that leave its phrase open: a subject or a possessive ("she would, …").
_OPEN_DEPS = frozenset({"nsubj", "nsubjpass", "expl", "poss", "dep", "ROOT", "csubj"})
# The words of an editing expression that make a unit a correction of the unit before (_unit_correction).
_CORRECTION_WORDS = ("rather", "actually", "sorry", "excuse", "correction", "meant")

# For the cheap test of a turn (_may_self_repair), which reads the tokens joined by "\x01".
_HAS_WORD = re.compile(r"\w")
_NO_WORD_RE = re.compile(r"^[^\w]+$")  # a punctuation token, as ParsedTurn.punct has it
_PUNCT_POS = frozenset({"PUNCT", "SYM"})
# The pause marks other than hyphens (a turn with a hyphen gets the full search): comma, em dash.
_PAUSE_CHAR_RE = re.compile(r"[,—]")
# A punctuation token (no word character), to drop from the joined tokens.
_PUNCT_TOKEN_RE = re.compile(r"\x01[^\w\x01]++(?=\x01)")
# In the joined words: a character other than a lower-case letter, digit or apostrophe ("u.s.",
# "1,000", "(um", "café"), which may stand next to an editing term inside a token or fold case
# unlike ASCII, so that the joined words do not show where the editing terms are.
_ODD_CHAR_RE = re.compile(r"[^\x01\x02a-z0-9_'’]")
# Where a turn's words end in the joined words of a conversation: a word of its own, "_\x02<turn>".
_TURN_END_RE = re.compile("\x01_\x02")
# A word of a correction unit's opener or tail (_unit_correction) as a whole token.
_CORRECTION_RE = re.compile(r"\x01(?:" + "|".join((*_CORRECTION_WORDS, "mean")) + r")\x01")
_PHRASE_OK = re.compile(r"[a-z0-9_]+(?:'[a-z0-9_]+)*(?: [a-z0-9_]+(?:'[a-z0-9_]+)*)*")


# Characters that match an ASCII letter case-insensitively but do not lower-case to it (İ, ı, ſ, K).
_ODD_FOLD_RE = re.compile("[\u0130\u0131\u017f\u212a]")
_DIGIT_RE = re.compile(r"\d")
# The cue families of the cross-turn labels, as marker labels (and a strength) they are found by.
_CUE_FAMILIES: dict[str, tuple[tuple[str, ...], str | None]] = {
    "strong": (("repair.other",), "strong"),  # an explicit correction ("Not quite", "That's wrong")
    "other": (("repair.other", "repair.other.marker"), None),  # also a reply particle ("No, …")
    "third": (("repair.third_position",), None),  # "No, I meant…"
    "followup": (("repair.self.followup",), None),  # "sorry, I meant…", "*Wednesday"
}


def _normalise_phrase(pattern: str) -> str:
    """A phrase as the lexicon matcher normalises it: lower case, ASCII apostrophes, single spaces."""
    return " ".join(pattern.strip().lower().replace("\u2019", "'").split())


# White-space tokens between two words, in the joined tokens.
_TOKEN_GAP_RE = re.compile(r"\x01(?:\s+\x01)*")
# A character of a token that is no lower-case letter, digit or apostrophe, next to one that is: a
# token that may hold a word of a phrase inside it ("(no", "no.", "u.s.").
_MIXED_TOKEN_RE = re.compile(r"[^\x01a-z0-9_'’\s](?:(?<=[a-z0-9_'’].)|(?=[a-z0-9_'’]))")


def _tokens_trie(phrases: Sequence[str]) -> re.Pattern[str] | None:
    """Phrases as the tokenizers cut them, in the lower-case tokens joined by "\\x01": at each token,
    the longest phrase that starts there, as group 1. A space between words may be a run of white-
    space tokens; an apostrophe may start a token ("let" "'s"). A trie, as the lexicon's matcher
    builds one, so that a token is tried against each branch at most once."""
    if not phrases:
        return None
    units = {" ": r"\x01(?:\s+\x01)*", "'": r"\x01?['’]"}
    # (the phrase ends with a token)
    body = trie_pattern(([units.get(ch) or re.escape(ch) for ch in phrase] for phrase in phrases), r"(?=\x01)")
    return _regex.compile(r"\x01(?=(" + body + "))")  # (compiled once per machine)


@dataclass(slots=True)
class _Word:
    """A word of a unit: one token, or tokens joined by an infix hyphen ("bye-bye")."""

    tok: int  # first token index
    end_tok: int  # one past the last token
    low: str
    lemma: str
    pos: str
    dep: str
    frag: bool
    et: str | None  # editing-term type: filler, discourse, explicit, weak
    et_multi: bool  # part of a multi-word editing term ("I mean", "you know")
    before: str  # strongest boundary signal right before this word: "", comma, dash, stop
    upper: bool  # a capital letter on its own ("C N N")
    obj: bool = False  # a pronoun in object position ("got it, …"), which ends a phrase


@dataclass(slots=True)
class _Repair:
    """A self-repair found in a unit (word indexes into the unit's word list)."""

    rep_start: int
    rep_end: int  # one past the reparandum
    fix_start: int  # start of the repair (after any editing term)
    fix_end: int
    kind: str
    score: float
    rule: str  # the rule that found it, for error analysis
    level: str = "disfluency"


@register_detector
class RepairDetector(Detector):
    """Self-repair, repair completion, other-correction and third-position repair.

    ``repair.self`` is found inside each unit (source segment, else sentence) from the shape of
    the words, so that it works on unpunctuated transcripts too: a word or phrase said again after
    an optional editing term ("I, I think", "the, uh, the store"); a cut-off word ("th- the", "he
    was- she was"); a phrase restarted with the same onset ("it's a lot, it's very hard"),
    possibly after an inserted word ("I, maybe I misunderstood"); a short unfinished phrase
    replaced by one of the same shape ("we, they have", "are you, do you"); a clause broken off
    after an auxiliary ("it's, I'm the least informed"); and an explicit editing expression
    between parallel phrases ("Tuesday, no, Wednesday"; "he, I mean Tom"). Legitimate doubles
    ("very, very", "bye-bye", "had had", "that that", list items) and fronted clauses, lists,
    parentheticals and tag questions are filtered with the ``repair_words`` lexicon and the parse.
    Across units and turns it finds a correcting unit ("…the backed-up. | or rather the
    non-backed-up."), a phrase the speaker restarts after a brief interjection of the partner
    ("I guess" | "uh-huh" | "I guess we can start"), and a written follow-up ("*Wednesday",
    "sorry, I meant the 5th"). Attributes: ``kind`` (repetition, replacement, insertion,
    restart), ``reparandum`` and ``repair`` (``[start, end]`` character spans; a reparandum in an
    earlier turn adds ``reparandum_turn``), ``editing_term`` where there is one, ``reference``,
    ``level`` (``correction`` for a meaning-level self-correction marked by an editing
    expression, ``disfluency`` for the rest) and ``rule`` (the rule that fired).

    The cross-turn labels use the previous turns and the ``clarification.request`` moves of
    earlier detectors (``prior``), in this order of precedence for one turn:
    ``repair.other`` with an explicit frame ("Not quite —", "A small correction first:", "I
    think you mean"); ``repair.completion``, the trouble-source speaker's next turn after a
    clarification request (not a bare "yes"); ``repair.third_position``, a "no, I meant…" frame
    from the speaker whose earlier turn (``target``) the partner has just responded to (``via``);
    and ``repair.other`` where a reply particle ("no", "actually") or a bare fragment puts a
    number, name, time or noun in the place of one the partner stated ("No, it's the 12th." after
    "the 15th"; "the 4th, I think."), never after a wh-question, an offer or a yes/no question.

    Args:
        lexicons: The loaded lexicons (``editing_terms``, ``repair_markers``, ``repair_words``).
        mode: ``full`` uses POS tags, lemmas, dependencies and noun chunks; ``lite`` only tokens
            and sentences (closed-class word lists stand in for the tagger).
        max_repeat: Longest repeated phrase (words) looked for. Default 6.
        max_gap: Most editing-term words allowed between reparandum and repair. Default 4.
        max_reparandum: Longest reparandum (words) of a restarted phrase. Default 5.
        emit_levels: Which self-repair levels to emit: ``("disfluency", "correction")`` (default)
            or only ``("correction",)`` for meaning-level self-correction (MRDA ``bsc``).
        cross_turn: Also find a repair that restarts a phrase the same speaker left unfinished
            at the end of their previous turn. Default True.
        completion_window: How many turns after a clarification request the trouble-source
            speaker's answer may come. Default 2.
        max_interjection: A cross-turn restart is looked for only when the partner's turns in
            between have at most this many words and ask nothing. Default 12.
        max_correction_words: A reply-particle correction that swaps a noun (not a number, name
            or time) may have at most this many words ("No, the first right."). Default 10.
        strict_dashes: Take a hyphen after a whole word ("then- still") as punctuation unless the
            word is resumed within three words ("he was- she was") or a filled pause precedes; as
            in writing. False takes every cut-off word as a repair (speech transcripts: +0.003 F1
            on SwDA). Default True.
        comma_splices: Take a short complete clause before a comma ("I do, I think…", "I agree, I
            just…", "I never knew that, I wonder…") as a comma splice, not a restart, unless a filled
            pause intervenes. False is slightly better on speech transcripts (+0.004 F1 on SwDA) and
            much worse on written chat. Default True.
        min_score: Self-repairs scoring below this are dropped (scores: repetition 0.95,
            cut-off 0.9, editing expression 0.85, onset 0.8, insertion and parallel 0.7, cross-turn
            0.7, clause cut 0.6, correcting unit 0.6). Default 0.5.

    Example:
        >>> from convmaint.model import Conversation, Turn
        >>> from convmaint.pipeline import Annotator
        >>> conv = Conversation("c1", (Turn(0, "0", "A", "human", "we went to the, uh, the store"),))
        >>> ann = Annotator.create(["repair"])  # doctest: +SKIP
        >>> [m.attributes["kind"] for _, ms in ann.run([conv]) for m in ms]  # doctest: +SKIP
        ['repetition']
    """

    name = "repair"
    version = 1
    labels = ("repair.self", "repair.completion", "repair.other", "repair.third_position")
    requires = frozenset({"tokens", "sents", "pos", "lemma", "dep"})
    requires_lite = frozenset({"tokens", "sents"})
    order = 20

    def __init__(
        self,
        *,
        lexicons: LexiconSet,
        mode: Mode = "full",
        max_repeat: int = 6,
        max_gap: int = 4,
        max_reparandum: int = 5,
        emit_levels: Sequence[str] = ("disfluency", "correction"),
        cross_turn: bool = True,
        completion_window: int = 2,
        max_interjection: int = 12,
        max_correction_words: int = 10,
        strict_dashes: bool = True,
        comma_splices: bool = True,
        min_score: float = 0.5,
    ) -> None:
        super().__init__(lexicons=lexicons, mode=mode)
        bad = set(emit_levels) - {"disfluency", "correction"}
        if bad or not emit_levels:
            raise ConfigError(f"emit_levels must name disfluency and/or correction, got {list(emit_levels)!r}")
        self.max_repeat = max_repeat
        self.max_gap = max_gap
        self.max_reparandum = max_reparandum
        self.emit_levels = tuple(emit_levels)
        self.cross_turn = cross_turn
        self.completion_window = completion_window
        self.max_interjection = max_interjection
        self.max_correction_words = max_correction_words
        self.strict_dashes = strict_dashes
        self.comma_splices = comma_splices
        self.min_score = min_score
        self._editing = lexicons.matcher(lexicons=["editing_terms"], labels=["editing_term"])
        self._markers = lexicons.matcher(lexicons=["repair_markers"])
        words = lexicons["repair_words"].entries
        self._redup = {e.pattern: bool(e.attributes.get("adjacent_only", False)) for e in words if e.label == "reduplication"}
        self._doubles = {e.pattern: bool(e.attributes.get("always", False)) for e in words if e.label == "double"}
        self._closed = {e.pattern: str(e.attributes["pos"]) for e in words if e.label == "closed_class"}
        self._confirm = frozenset(e.pattern.lower() for e in words if e.label == "confirmation")
        self._temporal = frozenset(e.pattern for e in words if e.label == "temporal")
        self._numbers = frozenset(e.pattern for e in words if e.label == "number")
        self._parenthetical = frozenset(e.pattern for e in words if e.label == "parenthetical")
        self._subordinators = frozenset(e.pattern for e in words if e.label == "subordinator")
        self._numtime = self._numbers | self._temporal
        self._found: dict[tuple[int, int, int], Any] = {}
        self._after_question = False
        # For _may_self_repair: the editing terms as token sequences in the joined lower-case tokens
        # (phrase entries of plain words only; otherwise every turn gets the full search), and a
        # phrase of up to max_repeat words said twice in a row, in the joined words.
        kinds: dict[str, str] = {}  # normalised phrase: its strongest type
        for e in self._editing.entries:
            phrase = _normalise_phrase(str(e.pattern))
            kind = str(e.attributes.get("type", "filler"))
            if phrase not in kinds or _ET_RANK.get(kind, 0) > _ET_RANK.get(kinds[phrase], 0):
                kinds[phrase] = kind
        self._text_edits = all(e.match == "phrase" for e in self._editing.entries) and all(
            _PHRASE_OK.fullmatch(x) for x in kinds) and set(kinds.values()) <= set(_ET_RANK)

        self._filler_re = _tokens_trie([x for x, k in kinds.items() if k == "filler"])
        self._edit_re = _tokens_trie([x for x, k in kinds.items() if k != "weak"])
        self._explicit_re = _tokens_trie([x for x, k in kinds.items() if k == "explicit"])
        self._repeat_re = re.compile(rf"\x01((?:[^\x01]++\x01){{1,{max_repeat}}})\1") if max_repeat >= 1 else None
        # For _cue_turns: the cue phrases as token sequences, and the families of each phrase.
        markers = self._markers.entries
        self._cue_families: dict[str, set[str]] = {}
        self._cue_re: re.Pattern[str] | None = None
        if all(e.match == "phrase" and _PHRASE_OK.fullmatch(_normalise_phrase(str(e.pattern))) for e in markers):
            for name, (labels, strength) in _CUE_FAMILIES.items():
                for e in markers:
                    if e.label in labels and (strength is None or e.attributes.get("strength", "medium") == strength):
                        self._cue_families.setdefault(_normalise_phrase(str(e.pattern)), set()).add(name)
            self._cue_re = _tokens_trie(sorted({_normalise_phrase(str(e.pattern)) for e in markers}))

    def config(self) -> dict[str, Any]:
        cfg = super().config()
        cfg["emit_levels"] = list(self.emit_levels)
        return cfg

    # ------------------------------------------------------------------------- entry point

    def detect(self, conv: Conversation, parsed: Sequence[ParsedTurn], prior: Sequence[Move] = ()) -> list[Move]:
        moves: list[Move] = []
        last_by: dict[str, int] = {}
        turns = conv.turns
        self._found: dict[tuple[int, int, int], Any] = {}  # matcher results per turn and unit, for this call
        cues = self._cue_turns(conv, parsed)
        may = self._self_repair_turns(conv, parsed)
        for turn, p, may_repair in zip(turns, parsed, may):
            asked = turn.index > 0 and turns[turn.index - 1].speaker != turn.speaker and "?" in turns[turn.index - 1].text[-3:]
            moves.extend(self._self_repairs(turn, p, asked, may_repair))
            prev = last_by.get(turn.speaker)
            m = None
            if prev is not None and prev == turn.index - 1 and (
                    "*" in turn.text or cues["followup"] is None or turn.index in cues["followup"]):
                m = self._followup_repair(turns[prev], turn, p)
            # (_left_open is _cross_turn_repair's first test, before the costlier look at the turns between)
            if m is None and self.cross_turn and prev is not None and turn.index - prev <= 3 and len(p.words) and self._may_be_open(
                turns[prev], parsed[prev]
            ) and self._left_open(turns[prev], parsed[prev]) and all(
                len(_WORD_RE.findall(turns[k].text)) <= self.max_interjection and not turns[k].text.rstrip().endswith("?")
                for k in range(prev + 1, turn.index)
            ):
                # the partner only came in briefly ("uh-huh", overlap); after a question or a real
                # contribution, the speaker answers rather than resumes
                m = self._cross_turn_repair(turns[prev], parsed[prev], turn, p, parsed[prev + 1:turn.index])
            if m is not None:
                moves.append(m)
            last_by[turn.speaker] = turn.index
        moves = [m for m in moves if m.attributes.get("level", "disfluency") in self.emit_levels]
        requests = [m for m in prior if m.label == "clarification.request" and m.target is not None and m.target < m.turn]
        # an explicit correction ("Not quite — …", "A small correction first: …") outranks the
        # other readings of the same turn
        strong = self._other_corrections(conv, parsed, requests, set(), strong_only=True, cues=cues)
        taken = {m.turn for m in strong}
        completions = self._completions(conv, parsed, requests, taken)
        taken |= {m.turn for m in completions}
        third = self._third_position(conv, parsed, requests, taken, cues=cues)
        taken |= {m.turn for m in third}
        moves.extend(strong)
        moves.extend(completions)
        moves.extend(third)
        moves.extend(self._other_corrections(conv, parsed, requests, taken, cues=cues))
        return moves

    def _cue_turns(self, conv: Conversation, parsed: Sequence[ParsedTurn]) -> dict[str, set[int] | None]:
        """Per cue family (see _CUE_FAMILIES), the turns that may hold one of its phrases (None: any).

        A phrase the matcher finds in a unit stands where no letter, digit, apostrophe or hyphen is
        before it and no letter, digit or apostrophe after it (or the unit ends: a sentence ends with
        a token, a source's segment may end anywhere), with white space between its words; so its
        words are tokens (cut only before an apostrophe, "let" "'s", as spaCy and the regex
        tokenizer cut text), unless a token also holds a mark next to one ("(no", "no."). The
        phrases are looked for so in the conversation's lower-case tokens, in one pass, with the
        shorter phrases they start with (which a unit ending early would show); turns with
        segments or such a token may hold any. str.lower matches case-insensitive matching except
        for four characters (İ ı ſ K), which leave the whole conversation to the full search.
        """
        turns = conv.turns
        if self._cue_re is None or all(t.segments for t in turns) or _ODD_FOLD_RE.search("".join(t.text for t in turns)):
            return dict.fromkeys(_CUE_FAMILIES)  # (with segments, a turn may hold any cue: see below)
        lows = [p.lower for p in parsed]
        joined = "\x01" + "\x01".join(chain.from_iterable(lows)) + "\x01"
        firsts = list(accumulate(map(len, lows), initial=0))  # each turn's first token

        def turns_of(matches: Iterator[re.Match[str]]) -> Iterator[tuple[int, re.Match[str]]]:
            # the turn of each match, from the "\x01"s before it (counted once, left to right)
            k = last = 0
            for m in matches:
                k += joined.count("\x01", last, m.start() + 1)
                last = m.start() + 1
                yield bisect_right(firsts, k - 1) - 1, m

        out: dict[str, set[int] | None] = {name: set() for name in _CUE_FAMILIES}
        anything = {t for t, turn in enumerate(turns) if turn.segments}
        anything.update(t for t, _ in turns_of(_MIXED_TOKEN_RE.finditer(joined)))
        families = self._cue_families
        for t, m in turns_of(self._cue_re.finditer(joined)):
            words = _TOKEN_GAP_RE.sub(" ", m.group(1)).replace(" '", "'").replace(" ’", "'").replace("’", "'").split(" ")
            for k in range(1, len(words) + 1):  # the phrase and the phrases it starts with
                for name in families.get(" ".join(words[:k]), ()):
                    out[name].add(t)  # type: ignore[union-attr]
        for found in out.values():
            found.update(anything)  # type: ignore[union-attr]
        return out

    @staticmethod
    def _may_be_open(pturn: Turn, pp: ParsedTurn) -> bool:
        """A cheap necessary condition for :meth:`_left_open`: where the last token ends the text, the
        turn's last unit ends there too (a sentence or the whole text, trimmed), so the text's last
        character decides. (Segments may end anywhere: there the units decide.)"""
        if pturn.segments or not pp.words:
            return True
        text = pturn.text
        end = len(text.rstrip())
        if not end or pp.starts[-1] + len(pp.words[-1]) != end:
            return True
        return text[end - 1] not in ".?!"

    def _may_be_bare_correction(self, turn: Turn, p: ParsedTurn) -> bool:
        """A cheap necessary condition for a bare-fragment correction in :meth:`_other_corrections`:
        it hedges ("the 4th, I think") or puts a number or a time in place (see :meth:`_slot`), and
        the first unit is a bare fragment (:meth:`_bare_fragment`)."""
        low = turn.text.lower()
        if not (_HEDGE_RE.search(low) is not None or _DIGIT_RE.search(turn.text) is not None
                or not self._numtime.isdisjoint(p.lower) or (bool(p.pos) and "NUM" in p.pos)):
            return False
        if turn.segments:
            return True
        # The fragment is the turn's first unit: without segments, its first sentence (as
        # ParsedTurn.sentence_spans cuts it, trimmed), unless that is empty; then the units decide.
        text, n = turn.text, len(p)
        end = min((x for x in p.sent_starts if x > 0), default=n) if "sents" in p.annotations else n
        if not n or end > n:
            return True
        s, e = (p.starts[0], p.starts[end - 1] + len(p.words[end - 1])) if "sents" in p.annotations else (0, len(text))
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if s == e:
            return True
        # its words: the tokens of the sentence that are not punctuation (as ParsedTurn.punct has it,
        # here for these tokens only; the white-space tokens the trimming leaves out are punctuation)
        no_word = map(_NO_WORD_RE.match, p.words[:end])
        punct = map(or_, map(_PUNCT_POS.__contains__, p.pos[:end]), map(bool, no_word)) if p.pos else no_word
        return self._bare_words(p, list(compress(range(end), map(not_, punct))))

    # ------------------------------------------------------------------------- helpers across turns

    @staticmethod
    def _turn_units(turn: Turn, p: ParsedTurn) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """The turn's units (see :func:`~convmaint.detect.base.units`, itself computed once per
        turn), and those without empty ones (at least one)."""
        raw = units(turn, p)
        return raw, [(s, e) for s, e in raw if e > s] or [(0, len(turn.text))]

    def _spans(self, turn: Turn, p: ParsedTurn) -> list[tuple[int, int]]:
        """The turn's non-empty units."""
        return self._turn_units(turn, p)[1]

    @staticmethod
    def _lead_words(text: str, start: int, at: int) -> int:
        """Words between a unit's start and a cue."""
        return len(_WORD_RE.findall(text[start:at]))

    def _marker(self, turn: Turn, p: ParsedTurn, s: int, e: int, labels: tuple[str, ...], max_lead: int) -> Any:
        """The first lexicon marker with one of ``labels`` that opens the unit (after at most
        ``max_lead`` words: "oh no I meant…")."""
        key = (id(p), s, e)
        hit = self._found.get(key)
        if hit is None:
            found = self._markers.find(p, s, e)
            # "no problem", "no idea", "that's what I meant": a longer phrase that is not the cue
            blocked = [(m.start, m.end, m.label[:-4]) for m in found if m.label.endswith(".not")]
            hit = self._found[key] = (found, blocked)
        found, blocked = hit
        for m in found:
            if m.label not in labels or self._lead_words(turn.text, s, m.start) > max_lead:
                continue
            if any(a <= m.start < b and m.label.startswith(lab) and (b - a > m.end - m.start) for a, b, lab in blocked):
                continue
            return m
        return None

    def _definite_np(self, p: ParsedTurn, s: int, e: int) -> bool:
        """Whether a span holds a referring expression: a definite or demonstrative noun phrase,
        a name (not a day or month) or an anaphoric "one"."""
        i, j = p.tokens_in(s, e)
        for k in range(i, j):
            low = p.lower[k]
            if low == "one" and k > i and p.lower[k - 1] in _DEFINITE:
                return True
            if p.pos and p.pos[k] == "PROPN" and low not in self._temporal and k > i:
                return True
            if low in _DEFINITE and k + 1 < j and not p.is_punct(k + 1):
                nxt = p.pos[k + 1] if p.pos else ""
                if nxt in ("NOUN", "PROPN", "ADJ", "NUM", "") and p.lower[k + 1] not in self._closed:
                    return True
        return False

    def _is_confirmation(self, turn: Turn, s: int, e: int) -> bool:
        words = _WORD_RE.findall(turn.text[s:e].lower())
        text = " ".join(words)
        return not words or text in self._confirm or all(w in self._confirm for w in words)

    # ------------------------------------------------------------------------- repair.completion

    def _completions(self, conv: Conversation, parsed: Sequence[ParsedTurn], requests: list[Move],
                     taken: set[int]) -> list[Move]:
        """The trouble-source speaker's answer to a clarification request."""
        out: list[Move] = []
        turns = conv.turns
        seen: set[int] = set(taken)
        for cr in sorted(requests, key=lambda m: m.turn):
            source = turns[cr.target].speaker
            asker = turns[cr.turn].speaker
            if source == asker:
                continue
            for r in range(cr.turn + 1, min(len(turns), cr.turn + 1 + self.completion_window)):
                if turns[r].speaker != source:
                    continue
                if r in seen:
                    break
                turn, p = turns[r], parsed[r]
                if not len(p):
                    break
                spans = self._spans(turn, p)
                # skip a bare confirmation or an apology before the answer ("No problem! crontab is…")
                k = 0
                while k < len(spans) - 1 and self._is_confirmation(turn, *spans[k]):
                    k += 1
                s, e = spans[k]
                if self._is_confirmation(turn, s, e):
                    break  # "yes" alone confirms a candidate understanding without repairing anything
                if any(m.turn == r and m.target == cr.turn for m in requests):
                    break  # a counter-question, not an answer
                reference = cr.attributes.get("about") == "reference" or self._definite_np(p, s, e)
                attrs: dict[str, Any] = {"reference": reference, "format": str(cr.attributes.get("format", ""))}
                if reference:
                    attrs["refers_to"] = cr.target
                out.append(self.move("repair.completion", r, s, e, cue=None, target=cr.turn, attributes=attrs, score=0.7))
                seen.add(r)
                break
        return out

    # ------------------------------------------------------------------------- repair.third_position

    def _third_position(self, conv: Conversation, parsed: Sequence[ParsedTurn], requests: list[Move],
                        completions: set[int], cues: dict[str, set[int] | None] | None = None) -> list[Move]:
        """"No, I meant…" from the speaker whose earlier turn the partner has just responded to.
        ``cues`` (see :meth:`_cue_turns`) leaves out turns without a word of a third-position frame."""
        out: list[Move] = []
        turns = conv.turns
        third_cues = None if cues is None else cues["third"]
        for t in range(2, len(turns)):
            turn, p = turns[t], parsed[t]
            via = t - 1
            if t in completions or turns[via].speaker == turn.speaker or not p.words:
                continue
            if third_cues is not None and t not in third_cues:
                continue
            source = next((k for k in range(via - 1, -1, -1) if turns[k].speaker == turn.speaker), None)
            if source is None:
                continue
            if any(m.turn == via and m.target == source for m in requests):
                continue  # the partner asked; the answer is a completion
            for s, e in self._spans(turn, p)[:2]:
                m = self._marker(turn, p, s, e, ("repair.third_position",), 3)
                if m is None:
                    continue
                strength = m.entry.attributes.get("strength", "medium")
                if strength == "weak" and not re.search(r"\b(no|not|nope|sorry)\b", turn.text[s:m.start].lower()):
                    continue
                attrs = {"via": via, "reference": self._definite_np(p, m.end, e)}
                if attrs["reference"]:
                    attrs["refers_to"] = source
                out.append(self.move("repair.third_position", t, s, e, cue=turn.text[m.start:m.end], target=source,
                                     attributes=attrs, score=0.8 if strength != "weak" else 0.6))
                break
        return out

    # ------------------------------------------------------------------------- repair.other

    def _other_corrections(self, conv: Conversation, parsed: Sequence[ParsedTurn], requests: list[Move],
                           taken: set[int], strong_only: bool = False,
                           cues: dict[str, set[int] | None] | None = None) -> list[Move]:
        """The partner corrects what the previous speaker said: "No, it's the 12th." after "the 15th".
        ``cues`` (see :meth:`_cue_turns`) leaves out turns without a word of a cue they need."""
        out: list[Move] = []
        turns = conv.turns
        asked = {(m.turn, m.start) for m in requests}
        strong_cues = None if cues is None else cues["strong"]
        other_cues = None if cues is None else cues["other"]
        for t in range(1, len(turns)):
            turn, p = turns[t], parsed[t]
            prev, pp = turns[t - 1], parsed[t - 1]
            if t in taken or prev.speaker == turn.speaker or not p.words or not pp.words:  # (len(p), without a call)
                continue
            # a move needs a strong correction frame, or (in the second pass) a correction marker or
            # a bare fragment that hedges or puts a number or a time in place
            if strong_cues is not None and t not in strong_cues and (strong_only or (
                    other_cues is not None and t not in other_cues and not self._may_be_bare_correction(turn, p))):
                continue
            spans = self._spans(turn, p)
            wh_question: bool | None = None  # worked out when first needed
            for s, e in spans[:2]:
                if any(m.turn == t and s <= m.start < e for m in requests) or (t, s) in asked:
                    continue  # "you mean the red one?" asks; it does not correct
                # (no phrase of the family in the turn: no marker, see _cue_turns)
                maybe = other_cues is None or t in other_cues
                strong = self._marker(turn, p, s, e, ("repair.other",), 2) if maybe else None
                if (strong is not None and strong.entry.attributes.get("strength") == "strong"
                        and all(w in _LEAD_OK for w in _WORD_RE.findall(turn.text[s:strong.start].lower()))):
                    out.append(self._other_move(t, s, e, strong.start, strong.end, turn, 0.8))
                    break
                if strong_only:
                    break
                if wh_question is None:
                    # "No, coffee please" declines an offer and "No, never" answers: after a question the
                    # reply fills a gap rather than corrects a claim, unless the question is a claim with a
                    # tag ("…is the 15th, right?") or a candidate ("second left?")
                    last_s, last_e = self._spans(prev, pp)[-1]
                    wh_question = self._real_question(prev.text[last_s:last_e], pp, last_s, last_e)
                if wh_question:
                    break  # answers to wh-questions fill a gap; they do not correct
                if turn.text[s:e].rstrip().endswith("?"):
                    continue  # a question offers a candidate; it does not assert a correction
                if (s, e) != spans[0]:
                    continue  # a reply particle opens the reply
                marker = self._marker(turn, p, s, e, ("repair.other", "repair.other.marker"), 1) if maybe else None
                if marker is not None:
                    lead = turn.text[s:marker.start].lower()
                    if re.search(r"\b(oh|ah|aw)\W*$", lead):
                        marker = None  # "oh no": dismay or sympathy
                    elif any(w not in _LEAD_OK for w in _WORD_RE.findall(lead)):
                        marker = None  # "I actually haven't…", "there's no sound": not a reply particle
                    elif marker.label == "repair.other.marker" and not self._particle(p, marker.end, e):
                        marker = None  # "No kidding", "no need": a determiner, not a reply particle
                bare = marker is None and self._bare_fragment(p, s, e)
                hedged = bare and any(h in turn.text[s:e].lower() for h in _HEDGES)
                if marker is None and not bare:
                    continue
                sub = self._substitution(pp, prev, p, s, e, strict=bare)
                if sub is None:
                    continue
                if bare and not (self._same_frame(pp, p, sub) and (hedged or sub[4] in ("num", "time"))):
                    continue  # a bare fragment puts a number or a time in the same frame, or hedges
                if sub[4] == "noun" and len(_WORD_RE.findall(turn.text[s:e])) > self.max_correction_words:
                    continue  # a long reply that happens to use another noun is not a correction
                if marker is not None:
                    out.append(self._other_move(t, s, e, marker.start, marker.end, turn, 0.7, sub))
                else:
                    out.append(self._other_move(t, s, e, sub[0], sub[1], turn, 0.55, sub))
                break
        return out

    @staticmethod
    def _particle(p: ParsedTurn, at: int, e: int) -> bool:
        """Whether the word ending at ``at`` stands alone as a reply particle: a pause or a new
        clause follows ("No, it's…", "no the first right"), not a noun it determines ("No kidding")."""
        i, j = p.tokens_in(at, e)
        if i >= j or p.is_punct(i):
            return True
        if p.pos:
            return p.pos[i] in ("PRON", "DET", "AUX", "ADV", "SCONJ", "CCONJ", "NUM", "PART")
        return p.lower[i] in _SUBJECT_PRONOUNS or p.lower[i] in _DEFINITE or p.lower[i] in ("a", "an", "it's", "that's")

    @staticmethod
    def _same_frame(pp: ParsedTurn, p: ParsedTurn, sub: tuple[int, int, int, int, str]) -> bool:
        """Whether the new and the old word share a neighbour ("the 3rd" → "the 4th"; "twelve
        hours" → "twelve minutes"), i.e. fill the same slot."""
        k = p.tokens_in(sub[0], sub[1])[0]
        q = pp.tokens_in(sub[2], sub[3])[0]
        near = {p.lower[x] for x in (k - 1, k + 1) if 0 <= x < len(p) and not p.is_punct(x)}
        old = {pp.lower[x] for x in (q - 1, q + 1) if 0 <= x < len(pp) and not pp.is_punct(x)}
        return bool(near & old)

    def _real_question(self, text: str, p: ParsedTurn, s: int, e: int) -> bool:
        """A question that asks for information or offers something (not a tagged claim)."""
        text = text.rstrip()
        if not text.endswith("?") or _TAG_RE.search(text):
            return False
        i, j = p.tokens_in(s, e)
        punct, lower = p.punct, p.lower
        first = next((lower[k] for k in range(i, j) if not punct[k] and lower[k] not in _LEAD_OK), "")
        return first in _WH or first in _ASKING_AUX or first in _INVERTED_AUX or len(_WORD_RE.findall(text)) > 4

    def _other_move(self, t: int, s: int, e: int, cs: int, ce: int, turn: Turn, score: float,
                    sub: tuple[int, int, int, int, str] | None = None) -> Move:
        attrs: dict[str, Any] = {"reference": False}
        if sub is not None:
            attrs["repair"] = [sub[0], sub[1]]
            attrs["replaces"] = [sub[2], sub[3]]
        return self.move("repair.other", t, s, e, cue=turn.text[cs:ce][:80], target=t - 1, attributes=attrs, score=score)

    def _slot(self, p: ParsedTurn, k: int) -> str:
        """The kind of content a token contributes, for spotting a substitution: num, time, name, noun."""
        low = p.lower[k]
        if low in self._confirm or low in self._redup or not any(c.isalnum() for c in low):
            return ""
        if _NUMERIC_RE.match(low) or low in self._numbers:
            return "num"
        if low in self._temporal:
            return "time"
        if p.pos:
            pos = p.pos[k]
            if pos == "NUM":
                return "num"
            if pos == "PROPN" and len(low) > 2 and p.tags[k] != "UH" and (
                    k not in p.sent_starts or (k + 1 < len(p) and p.pos[k + 1] == "PROPN")):
                return "name"  # a capitalised first word is often an interjection ("Lol!", "Hahhaa")
            if pos == "NOUN" and low not in self._closed and len(low) > 2 and p.tags[k] != "UH":
                return "noun"
            return ""
        if p.words[k][:1].isupper() and k > 0 and low not in self._closed and not p.is_punct(k - 1) and k not in p.sent_starts:
            return "name"
        return ""

    def _substitution(self, pp: ParsedTurn, prev: Turn, p: ParsedTurn, s: int, e: int,
                      strict: bool = False) -> tuple[int, int, int, int, str] | None:
        """A content word of the unit that takes the place of one of the partner's: the same kind of
        content (a number, a name, a time, a noun), absent from the other turn. ``strict`` (for a
        bare fragment with no correction marker) takes nouns only when the fragment also repeats a
        word of the partner's ("twelve minutes" after "twelve hours"), and only replaces words said
        in a statement, not in a question."""
        i, j = p.tokens_in(s, e)
        cur = [(k, self._slot(p, k)) for k in range(i, j)]
        cur = [(k, c) for k, c in cur if c]
        if not cur:
            return None
        stated = [(a, b) for a, b in self._spans(prev, pp) if not prev.text[a:b].rstrip().endswith("?")]
        old = [(k, self._slot(pp, k)) for k in range(len(pp))]
        old = [(k, c) for k, c in old if c]
        if strict:
            if not p.pos:
                # without a tagger a capitalised word may be any noun ("Alles Gute"): numbers and times only
                cur = [(k, c) for k, c in cur if c in ("num", "time")]
            shared = {p.lemmas[k] for k, _ in cur} & {pp.lemmas[k] for k, _ in old}
            old = [(k, c) for k, c in old if (c != "noun" or shared)
                   and any(a <= pp.starts[k] < b and not self._imperative(pp, a, b) for a, b in stated)]
        old_lemmas = {pp.lemmas[k] for k, _ in old}
        cur_lemmas = {p.lemmas[k] for k in range(i, j)}
        for k, c in cur:
            if p.lemmas[k] in old_lemmas:
                continue
            for q, d in old:
                if d == c and pp.lemmas[q] not in cur_lemmas:
                    return p.starts[k], p.end(k), pp.starts[q], pp.end(q), c
        return None

    @staticmethod
    def _imperative(p: ParsedTurn, s: int, e: int) -> bool:
        """A request ("Now write a birthday message in German."): what answers it fulfils, not corrects."""
        if not p.tags:
            return False
        i, j = p.tokens_in(s, e)
        for k in range(i, j):
            if p.is_punct(k) or p.lower[k] in ("now", "please", "so", "ok", "okay", "then", "just"):
                continue
            return p.tags[k] == "VB"
        return False

    def _bare_fragment(self, p: ParsedTurn, s: int, e: int) -> bool:
        """A short verbless unit ("the 4th, I think."): hedges aside, at most four words."""
        i, j = p.tokens_in(s, e)
        punct = p.punct
        return self._bare_words(p, [k for k in range(i, j) if not punct[k]])

    def _bare_words(self, p: ParsedTurn, words: list[int]) -> bool:
        """:meth:`_bare_fragment` for the unit's words (token indexes)."""
        text = " ".join(map(p.lower.__getitem__, words))
        for hedge in _HEDGES:
            text = text.replace(hedge, " ")
        rest = text.split()
        if not rest or len(rest) > 4:
            return False
        if p.pos:
            return not any(p.pos[k] in ("VERB", "AUX") and p.lower[k] not in _HEDGE_WORDS for k in words)
        return not any(self._closed.get(w) == "AUX" for w in rest)

    # ------------------------------------------------------------------------- written follow-ups

    def _followup_repair(self, pturn: Turn, turn: Turn, p: ParsedTurn) -> Move | None:
        """A written self-correction sent as the speaker's next message: "*Wednesday",
        "sorry, I meant the 5th"."""
        if not len(p):
            return None
        s, e = self._spans(turn, p)[0]
        text = turn.text
        star = _STAR_RE.match(text[s:e])
        if star is not None and len(_WORD_RE.findall(text[s:e])) <= 6:
            cue = "*"
        else:
            m = self._marker(turn, p, s, e, ("repair.self.followup",), 0)
            if m is None or e - m.end < 2:
                return None
            if m.entry.pattern.lower() == "sorry" and not _MEANT_RE.match(text[m.end:e]):
                return None  # an apology, unless "sorry, I meant…"
            cue = text[m.start:m.end]
        attrs = {"kind": "replacement", "reparandum_turn": pturn.index, "reparandum": [0, len(pturn.text)],
                 "repair": [s, e], "level": "correction", "reference": self._definite_np(p, s, e)}
        return self.move("repair.self", turn.index, s, e, cue=cue, attributes=attrs, score=0.7)

    # ------------------------------------------------------------------------- words of a unit

    def _editing_terms(self, p: ParsedTurn) -> tuple[dict[int, str], set[int]]:
        """Editing-term type per token of a turn, and the tokens of multi-word terms (cached per call)."""
        key = (id(p), -1, -1)
        hit = self._found.get(key)
        if hit is not None:
            return hit  # type: ignore[return-value]
        et_type: dict[int, str] = {}
        et_multi: set[int] = set()
        for m in self._editing.find(p):
            a, b = p.tokens_in(m.start, m.end)
            if b - a > 1:
                et_multi.update(range(a, b))
            t = str(m.entry.attributes.get("type", "filler"))
            for k in range(a, b):
                # keep the strongest reading when matches overlap ("I mean" over "mean")
                if k not in et_type or _ET_RANK[t] > _ET_RANK[et_type[k]]:
                    et_type[k] = t
        self._found[key] = (et_type, et_multi)  # type: ignore[assignment]
        return et_type, et_multi

    def _strong_edits(self, p: ParsedTurn) -> list[int]:
        """The tokens of a turn that are fillers or explicit editing terms, in order (cached per call)."""
        key = (id(p), -2, -2)
        hit = self._found.get(key)
        if hit is None:
            et_type = self._editing_terms(p)[0]
            hit = self._found[key] = sorted(k for k, t in et_type.items() if t in ("filler", "explicit"))
        return hit  # type: ignore[no-any-return]

    def _words(self, p: ParsedTurn, start: int, end: int) -> list[_Word]:
        i0, j0 = p.tokens_in(start, end)
        full = self.mode == "full" and bool(p.pos)
        et_type, et_multi = self._editing_terms(p)
        toks, lower, lemmas, starts, punct = p.words, p.lower, p.lemmas, p.starts, p.punct
        tags, deps, closed = p.pos, p.deps, self._closed
        out: list[_Word] = []
        last: _Word | None = None  # out[-1]
        pending = ""
        k = i0
        while k < j0:
            w = toks[k]
            # a cut-off word ends in a hyphen ("th-"), which the fragment pattern needs
            dashed = "-" in w
            if punct[k] and not (dashed and _FRAGMENT_RE.match(w)):
                glued = (
                    w in ("-", "–") and last is not None and last.end_tok == k and k + 1 < j0
                    and starts[k] == starts[k - 1] + len(toks[k - 1]) and starts[k + 1] == starts[k] + len(w)
                    and not punct[k + 1]
                )
                if glued:  # infix hyphen: "bye-bye", "twenty-two", "uh-huh" are one word
                    last.low = f"{last.low}-{lower[k + 1]}"  # type: ignore[union-attr]
                    last.lemma = last.low  # type: ignore[union-attr]
                    last.end_tok = k + 2  # type: ignore[union-attr]
                    last.frag = False  # type: ignore[union-attr]
                    k += 2
                    continue
                if pending != "stop":
                    sig = _signal(w)
                    if _SIGNAL_RANK[sig] > _SIGNAL_RANK[pending]:
                        pending = sig
                k += 1
                continue
            low = lower[k]
            frag = dashed and len(w) > 1 and bool(_FRAGMENT_RE.match(w))
            if full:
                pos, dep = tags[k], (deps[k] if deps else "")
                obj = pos == "PRON" and dep in ("dobj", "pobj", "dative", "obj", "iobj")
            else:
                pos, dep = closed.get(low, ""), ""
                obj = (low in _OBJECT_LIKE and last is not None and not pending and last.pos == ""
                       and last.et is None and not last.frag)
            last = _Word(k, k + 1, low, lemmas[k], pos, dep, frag, None if frag else et_type.get(k), k in et_multi,
                         pending, len(w) == 1 and w.isupper() and w not in ("I", "A"), obj)
            out.append(last)
            pending = ""
            k += 1
        return out

    # ------------------------------------------------------------------------- self-repair

    def _self_repairs(self, turn: Turn, p: ParsedTurn, after_question: bool = False, may: bool | None = None) -> list[Move]:
        """The self-repairs of a turn (``may``: :meth:`_may_self_repair`, if known)."""
        moves: list[Move] = []
        if not p.words or not (self._may_self_repair(turn, p) if may is None else may):
            return moves
        before: list[_Word] | tuple[int, int] = []  # the unit before: its words, or its span until they are needed
        code = _code_regions(turn.text)
        edits = self._strong_edits(p)
        toks, lower = p.words, p.lower
        for n_unit, (s, e) in enumerate(self._units(turn, p, self._turn_units(turn, p)[0])):
            if e <= s or _not_talk(turn.text, s, e, code):
                continue
            # a short answer opens the reply to a question: "I do, I think it's great"
            self._after_question = after_question and n_unit == 0
            i0, j0 = p.tokens_in(s, e)
            lows = lower[i0:j0]
            # a correction unit opens with a filler or an explicit editing term, or ends in "rather" or "I mean"
            edited = bool(edits) and bisect_left(edits, j0) > bisect_left(edits, i0)
            correcting = edited or "rather" in lows or "mean" in lows
            # Every rule of _find needs a word said again (a repetition, a restarted onset), a pause mark
            # (comma or dash), a cut-off or infix hyphen, or a filler or explicit editing term: a unit with
            # none of these holds no self-repair, and its words are built only if the next unit needs them.
            if not correcting and len(set(lows)) == len(lows) and not _PAUSE_RE.search("".join(toks[i0:j0])):
                before = (s, e)
                continue
            words = self._words(p, s, e)
            if correcting and before and words:
                if isinstance(before, tuple):
                    before = self._words(p, *before)
                if before:
                    r = self._unit_correction(before, words)
                    if r is not None and r.level in self.emit_levels:
                        moves.append(self._self_move(turn, p, words, r, s, e, before))
            before = words
            if len(words) < 2:
                continue
            found = self._find(words)
            for r in found:
                if r.score < self.min_score or r.level not in self.emit_levels:
                    continue
                moves.append(self._self_move(turn, p, words, r, s, e))
        return moves

    def _may_self_repair(self, turn: Turn, p: ParsedTurn) -> bool:
        """A cheap necessary condition for a self-repair in the turn: False only where no unit holds one.

        It reads the turn's lower-case tokens joined by "\\x01" (regular expressions over that
        string instead of a pass over the tokens in Python), over the whole turn (a unit's words
        are a stretch of the turn's words, and a unit starts with no pause before its first word,
        so whatever a unit shows, the turn shows too), and looks for what some rule of
        :meth:`_find` or :meth:`_unit_correction` needs: a word of a correcting opener; a filled
        pause; a phrase said twice in a row; after an editing term, a word said shortly before;
        and at a comma or an em dash, an explicit editing term, a word of the repair said just
        before the pause, or an unfinished phrase (an open-ended last word).

        The editing terms are found as token sequences: the matcher finds them in the text where
        no letter, digit, apostrophe or hyphen is next to them, with white space between words, so
        their words are tokens, as spaCy and the regex tokenizer cut text (every character but white
        space in a token, none inside a word; a word cut only before an apostrophe, "let" "'s"),
        unless a token also holds another mark ("(um", "u.s."). Turns with such a token, an empty
        token or a word tagged as punctuation (the joined words would not be the unit's words),
        turns with a hyphen (cut-off words "th-", infix hyphens "bye-bye", dashes), and turns with
        a source's segments (transcribed speech, whose short disfluent turns the test would mostly
        pass at a cost the full search does not repay) get the full search.
        """
        return self._turns_may_repair([(turn, p)])[0]

    def _self_repair_turns(self, conv: Conversation, parsed: Sequence[ParsedTurn]) -> list[bool]:
        """:meth:`_may_self_repair` for each turn of a conversation."""
        return self._turns_may_repair(list(zip(conv.turns, parsed)))

    def _turns_may_repair(self, pairs: list[tuple[Turn, ParsedTurn]]) -> list[bool]:
        """:meth:`_may_self_repair` for turns, its regular expressions run once over all their joined
        words, each turn's closed by a word of its own ("_\\x02<n>") that no phrase or repetition
        goes across; but the costlier search for a phrase said twice in a row runs only over the
        turns that the other tests leave open and that say a word twice."""
        out = [False] * len(pairs)
        cand: list[int] = []  # the turns for the joined-token tests
        for i, (turn, p) in enumerate(pairs):
            if not p.words:
                continue
            text = turn.text
            if not self._text_edits or turn.segments or "-" in text or "–" in text or "\x02" in text:
                out[i] = True  # segments; "th-", "bye-bye", "then- still": the full search decides
            else:
                cand.append(i)
        if not cand:
            return out
        joined = "".join(["\x01" + "\x01".join(pairs[i][1].lower) + f"\x01_\x02{i}" for i in cand]) + "\x01"
        # the words alone (a token is a word if it has a word character, as ParsedTurn.punct has it,
        # unless the tagger calls such a token punctuation; str.lower keeps whether it has one)
        plain = _PUNCT_TOKEN_RE.sub("", joined)
        ends = [m.start() for m in _TURN_END_RE.finditer(plain)]  # where each candidate's words end
        starts = [0] + [e + len(f"\x01_\x02{i}") for e, i in zip(ends, cand)]

        def turn_at(pos: int, ends: list[int] = ends) -> int:
            return cand[bisect_left(ends, pos)]

        if "\x01\x01" in joined:  # an empty token
            jends = [m.start() for m in _TURN_END_RE.finditer(joined)]
            for m in re.finditer("\x01\x01", joined):
                out[cand[bisect_left(jends, m.start())]] = True
        tagged = [i for i in cand if pairs[i][1].pos]
        if tagged and _HAS_WORD.search("".join(compress(chain.from_iterable(pairs[i][1].words for i in tagged), map(
                _PUNCT_POS.__contains__, chain.from_iterable(pairs[i][1].pos for i in tagged))))):
            for i in tagged:  # a word tagged punctuation (rare): find its turn
                p = pairs[i][1]
                if _HAS_WORD.search("".join(compress(p.words, map(_PUNCT_POS.__contains__, p.pos)))):
                    out[i] = True
        for rx in (_ODD_CHAR_RE, self._filler_re):
            # a token with a mark next to letters; a filled pause (a word or phrase said twice in a
            # row, "I, I think", "how to how to", is looked for below, in the turns left)
            if rx is not None:
                for m in rx.finditer(plain):
                    out[turn_at(m.start())] = True
        for m in _CORRECTION_RE.finditer(plain):
            # _unit_correction: a second unit with "rather", "actually", "sorry", … or a final "I mean"
            i = turn_at(m.start())
            turn, p = pairs[i]
            if turn.segments or len(p.sent_starts) > 1 or "\n" in turn.text:
                out[i] = True
        rest = [k for k, i in enumerate(cand) if not out[i]]
        if not rest:
            return out
        edits: dict[int, set[int]] = {}  # words that may be in an editing term (not a weak one), by turn and index
        explicit: dict[int, set[int]] = {}
        for rx, into in ((self._edit_re, edits), (self._explicit_re, explicit)):
            if rx is not None:
                for m in rx.finditer(plain):
                    k = bisect_left(ends, m.start())
                    if out[cand[k]]:
                        continue  # a turn decided already (not in rest) needs no editing terms
                    x = plain.count("\x01", starts[k], m.start())
                    into.setdefault(cand[k], set()).update(range(x, x + m.group(1).count("\x01") + 1))
        repeat_re = self._repeat_re
        for k in rest:
            i = cand[k]
            region = plain[starts[k] + 1:ends[k]]
            said = region.split("\x01") if region else []
            # (a phrase said twice in a row says a word twice: only then is the turn's stretch searched,
            # up to the "\x01" that ends its last word; a match cannot go across the turn's end word)
            out[i] = self._words_may_repair(*pairs[i], said, edits.get(i, set()), explicit.get(i, set())) or (
                repeat_re is not None and len(set(said)) < len(said)
                and repeat_re.search(plain, starts[k], ends[k] + 1) is not None)
        return out

    def _words_may_repair(self, turn: Turn, p: ParsedTurn, said: list[str], edits: set[int], explicit: set[int]) -> bool:
        """The rest of :meth:`_turns_may_repair` for a turn, in Python: a repetition across editing
        terms, and the pauses (``said``: the words; ``edits`` and ``explicit``: the words of editing
        terms, and maybe more)."""
        text = turn.text
        repeats = len(set(said)) < len(said)  # onsets, insertions and repetitions say a word again
        pauses = "," in text or "—" in text
        if not repeats and not pauses:
            return False
        # a repetition across editing terms ("the, you know, the"; words i…j-1, editing terms g…j-1): the
        # word after them says again a word of the max_repeat + max_gap before, and the reparandum's
        # last word (before g) comes again in the first max_repeat words from j
        if repeats and edits:
            reach = self.max_repeat + max(0, self.max_gap)
            n = len(said)
            for x in edits:
                j = x + 1
                if j >= n or said[j] not in said[max(0, j - reach):x]:
                    continue
                g = x
                while g >= max(1, j - max(0, self.max_gap)):
                    if said[g - 1] in said[j:j + self.max_repeat] and said[j] in said[max(0, j - reach):g]:
                        return True
                    if g - 1 not in edits:
                        break
                    g -= 1
        if not pauses:
            return False
        lower = p.lower
        widx = list(compress(range(len(lower)), map(_HAS_WORD.search, lower)))  # the words' tokens
        n = len(widx)
        starts, words = p.starts, p.words
        for m in _PAUSE_CHAR_RE.finditer(text):
            q = m.start()
            k = bisect_right(starts, q) - 1
            if k < 0 or starts[k] + len(words[k]) <= q or _HAS_WORD.search(words[k]):
                continue  # not in a punctuation token ("1,000")
            b = bisect_right(widx, k)  # the word after the pause
            if 0 < b < n and self._pause_may_repair(p, widx, said, b, edits, explicit, repeats):
                return True
        return False

    def _pause_may_repair(self, p: ParsedTurn, widx: list[int], said: list[str], b: int, edits: set[int],
                          explicit: set[int], repeats: bool) -> bool:
        """For :meth:`_may_self_repair`: whether a rule may find a repair at a pause before word ``b``
        (the words are the tokens ``widx``, lower-case ``said``; ``edits`` and ``explicit`` hold the
        words of editing terms and maybe more, so that the editing phases taken here hold the real ones)."""
        if b in explicit:
            return True  # _explicit_at: "Tuesday, no, Wednesday"
        n = len(widx)
        # where the repair may start (_repair_starts) and where the reparandum may end (before editing terms)
        j = b
        while j < n and j in edits and j - b < self.max_gap:
            j += 1
        e = b
        while e - 1 > 0 and e - 1 in edits:
            e -= 1
        if repeats:
            # _onset_at: the repair's first word said up to max_reparandum words before the pause
            if not set(said[max(0, b - self.max_reparandum):b]).isdisjoint(said[b:j + 1]):
                return True
            # _inserted_onset_at: a word of the three before the editing phase said again one or two words in
            if not set(said[max(0, e - 3):b]).isdisjoint(said[b + 1:j + 3]):
                return True
        # _parallel_at (and _cut_at, whose auxiliary is one): an unfinished phrase before the editing phase
        full = self.mode == "full" and bool(p.pos)
        lower = p.lower
        for a in range(max(0, e - 1), b):
            k = widx[a]
            low = lower[k]
            if full:
                pos, dep = p.pos[k], (p.deps[k] if p.deps else "")
            else:
                pos, dep = self._closed.get(low, ""), ""
            if (dep in _OPEN_DEPS if dep else low in _SUBJECT_PRONOUNS) if pos == "PRON" else pos in _OPEN_ENDED_POS:
                return True
        return False

    @staticmethod
    def _units(turn: Turn, p: ParsedTurn, spans: list[tuple[int, int]] | None = None) -> list[tuple[int, int]]:
        """The units to look for self-repair in: the source's segments, else the parser's sentences
        joined up to sentence-final punctuation or a line break (parsers split disfluent speech
        at cut-offs: "th- | the store"). ``spans`` are the turn's :func:`units` if known."""
        if spans is None:
            spans = units(turn, p)
        if turn.segments or len(spans) < 2:
            return spans
        text = turn.text
        out = [spans[0]]
        for s, e in spans[1:]:
            ps, pe = out[-1]
            gap = text[pe:s]
            if text[pe - 1:pe] in _FINAL or "\n" in gap:
                out.append((s, e))
            else:
                out[-1] = (ps, e)
        # In written text a line break ends a unit even inside a parser sentence: list items and
        # lines of a poem or a table repeat words without anyone repairing anything.
        if "\n" not in text:
            return [(s, e) for s, e in out if e > s]  # one line per unit (an empty unit has none)
        lines = []
        for s, e in out:
            for m in re.finditer(r"[^\n]+", text[s:e]):
                lines.append((s + m.start(), s + m.end()))
        return lines

    def _find(self, words: list[_Word]) -> list[_Repair]:
        """All self-repairs in a unit's words, left to right, not overlapping at the interruption point."""
        out: list[_Repair] = []
        n = len(words)
        if n < 2:
            return out  # nothing to repeat, and a cut-off last word is abandoned, not repaired
        used_ip: set[int] = set()
        # A repetition at i says words[i] again within max_repeat + max_gap words (or completes a
        # cut-off word there): only the words said again that soon are worth the full check.
        # An interruption point may sit before word b only after a pause mark, a cut-off or at a filler
        # (what _ip_signal checks): those places are collected in the same pass.
        reach = self.max_repeat + max(0, self.max_gap)
        again: set[int] = set()
        last_at: dict[str, int] = {}
        explicit = False
        signals: list[int] = []
        cut = False  # the word before was cut off
        for x, w in enumerate(words):
            low = w.low
            y = last_at.get(low)
            if y is not None and x - y <= reach:
                again.add(y)
            last_at[low] = x
            et = w.et
            if et == "explicit":
                explicit = True
            if cut or et == "filler" or w.before == "comma" or w.before == "dash":
                signals.append(x)
            if w.frag:
                again.add(x)
            cut = w.frag
        for i in sorted(again):
            w = words[i]
            if w.et == "filler" or w.et_multi:
                continue  # "I mean, I…", "you know, you…" repeat the editing term, not the message
            r = self._repetition_at(words, i) or (self._fragment_at(words, i) if w.frag else None)
            if r is not None and r.rep_end not in used_ip:
                used_ip.update(range(r.rep_end, r.fix_start + 1))  # the interruption point and the editing phase
                out.append(r)
        if explicit:
            for x in range(1, n):
                if words[x].et == "explicit" and words[x - 1].et != "explicit" and x not in used_ip:
                    r = self._explicit_at(words, x)
                    if r is not None:
                        used_ip.update(range(r.rep_end, r.fix_start + 1))
                        out.append(r)
        for b in signals:
            if not b or b in used_ip:
                continue
            r = (self._onset_at(words, b) or self._parallel_at(words, b) or self._inserted_onset_at(words, b)
                 or self._cut_at(words, b))
            if r is not None:
                used_ip.update(range(b, r.fix_start + 1))
                out.append(r)
        return out

    @staticmethod
    def _ip_signal(words: list[_Word], b: int) -> bool:
        """Whether an interruption point may sit before word ``b``: a pause mark, a cut-off or a filler."""
        return words[b].before in ("comma", "dash") or words[b - 1].frag or words[b].et == "filler"

    def _onset_at(self, words: list[_Word], b: int) -> _Repair | None:
        """A phrase restarted with the onset of the abandoned one: "it's a lot, it's very hard"."""
        n = len(words)
        for j in self._repair_starts(words, b):
            if j >= n:
                break
            first = words[j]
            if first.et is not None and first.et != "weak" or first.low in self._redup:
                continue
            for a in range(b - 1, max(-1, b - 1 - self.max_reparandum), -1):
                w = words[a]
                if words[a + 1].before == "stop" and a + 1 < b:
                    break
                if w.low != first.low or w.et_multi:
                    continue
                if [x.low for x in words[a:b]] == [x.low for x in words[j:j + b - a]]:
                    return None  # an exact repetition: the repetition rule has judged it
                if not self._restartable(words, a, b, j):
                    return None
                dist = b - a
                kind = "insertion" if _is_subsequence([x.low for x in words[a:b]], [x.low for x in words[j:j + dist + 3]]) else "replacement"
                return _Repair(a, b, j, min(n, j + dist), kind, 0.8, "onset")
        return None

    def _inserted_onset_at(self, words: list[_Word], b: int) -> _Repair | None:
        """A short unfinished phrase restarted after one or two new words: "I, maybe I misunderstood",
        "that's, I think that's a good magazine", "I got, when I got mine"."""
        n = len(words)
        e = b
        while e - 1 > 0 and words[e - 1].et is not None and words[e - 1].et != "weak":
            e -= 1
        j = next((j for j in self._repair_starts(words, b) if j < n and (words[j].et is None or words[j].et == "weak")), None)
        if j is None:
            return None
        for a in range(e - 1, max(-1, e - 4), -1):
            if a + 1 < e and words[a + 1].before == "stop":
                break
            w = words[a]
            if w.et is not None or w.low in self._redup:
                continue
            for d in (1, 2):
                if j + d >= n or any(x.before == "stop" for x in words[j + 1:j + d + 1]):
                    break
                if words[j + d].low != w.low:
                    continue
                last, ins = words[e - 1], words[j]
                if ins.pos in ("CCONJ", "INTJ") or last.pos in ("CCONJ", "DET", "SCONJ"):
                    return None  # "apples, and apples": coordination, not a restart
                if e - a == 1 and last.pos == "PRON" and ins.pos == "VERB":
                    return None  # "I, uh, thought I was": the subject goes on with its verb
                opened = self._open_ended(last)
                if self._elliptical_end(words[a:e]) and not _hesitated(words, a, j):
                    return None
                if opened and last.pos not in ("CCONJ", "DET"):
                    pass
                elif e - a == 1 and (last.pos in ("ADV", "ADP", "AUX", "PART")
                                     or (last.pos == "VERB" and ins.pos == "PRON")
                                     or (last.pos == "NOUN" and ins.pos == "ADJ")):
                    pass  # one word said again after a new first word: "children, small children"
                else:
                    return None
                return _Repair(a, e, j, min(n, j + d + e - a), "insertion", 0.7, "insertion")
        return None

    def _restartable(self, words: list[_Word], a: int, b: int, j: int) -> bool:
        return not self._restart_blocker(words, a, b, j)

    def _unit_correction(self, before: list[_Word], words: list[_Word]) -> _Repair | None:
        """A unit that corrects the speaker's unit before it: "…the backed-up. | or rather the
        non-backed-up.", "…the action planner. | I mean the dialogue manager.", "| sample it rather."."""
        n = len(words)
        x = 0
        while x < n and words[x].et == "filler":
            x += 1
        opener = ""
        if x < n and words[x].low == "or" and x + 1 < n:
            opener = "or"
            x += 1
        y = x
        while y < n and words[y].et in ("explicit", "filler") and words[y].low not in ("no",):
            y += 1
        if y > x:
            opener = (opener + " " + " ".join(w.low for w in words[x:y])).strip()
        tail = ""
        end = n
        if not opener and n >= 2 and words[-1].low in ("rather", "mean") and (words[-1].low == "rather" or words[-2].low == "i"):
            tail = "rather" if words[-1].low == "rather" else "i mean"
            end = n - (1 if tail == "rather" else 2)
        # a bare "or" mostly adds an alternative and "I mean" mostly elaborates: only the
        # unambiguous openers ("or rather", "actually", "sorry", "excuse me") mark a correction
        if not tail and not any(w in opener.split() for w in _CORRECTION_WORDS):
            return None
        frag = words[y:end]
        if "sorry" in opener.split() and frag and frag[0].low in ("for", "about", "to", "that", "if"):
            return None  # "sorry for the inconvenience": an apology
        if not frag or len(frag) > 5 or any(w.pos in ("VERB", "AUX") for w in frag):
            return None  # a new clause after "sorry" or "actually" goes on; a phrase replaces
        # the fragment must take the place of something at the end of the unit before
        recent = before[-6:]
        hit = None
        for f in frag:
            if f.et is not None or f.pos in ("DET", "ADP", "CCONJ", "PART", "") and f.low in self._closed:
                continue
            for b_i, b in enumerate(recent):
                if b.low == f.low or self._same_slot(b, f) and b.pos in _CONTENT_POS:
                    hit = len(before) - len(recent) + b_i
                    break
            if hit is not None:
                break
        if hit is None:
            return None
        return _Repair(hit, len(before), y, end, "replacement", 0.6, "correction_unit", level="correction")

    def _explicit_at(self, words: list[_Word], x: int) -> _Repair | None:
        """An explicit editing expression between a phrase and its replacement:
        "Tuesday, no, Wednesday", "he, I mean Tom", "£90, no wait, £95", "the red, or rather the blue"."""
        n = len(words)
        y = x
        while y < n and words[y].et is not None and words[y].et != "weak":
            y += 1
        if y >= n:
            return None
        # the editing phase starts after a pause or a cut-off ("Tuesday, no, Wednesday"; "he- I mean
        # Tom"); without one, "no", "that is", "make that" are ordinary words
        if words[x].before not in ("comma", "dash") and not words[x - 1].frag:
            return None
        if y == x + 1 and words[x].low == "no" and words[y].before not in ("comma", "dash"):
            return None  # "smart move, no law suits": a determiner
        e = x
        while e > 0 and words[e - 1].et in ("filler", "discourse"):
            e -= 1
        if e == 0:
            return None
        for L in (1, 2, 3):
            a = e - L
            if a < 0 or y + L > n:
                break
            R, F = words[a:e], words[y:y + L]
            if any(w.before == "stop" for w in words[a + 1:e]) or [w.low for w in R] == [w.low for w in F]:
                continue
            if all(self._same_slot(r, f) for r, f in zip(R, F)):
                return _Repair(a, e, y, y + L, "replacement", 0.85, "editing_term", level="correction")
        return None

    def _has_clause(self, span: list[_Word]) -> bool:
        """Whether a span holds a subject pronoun followed (later) by a lexical verb."""
        subj = False
        for w in span:
            if w.pos == "PRON" and (w.dep in ("nsubj", "nsubjpass") or (not w.dep and w.low in _SUBJECT_PRONOUNS)):
                subj = True
            elif subj and w.pos == "VERB":
                return True
        return False

    def _elliptical_end(self, span: list[_Word]) -> bool:
        """Whether a short clause ends on an auxiliary that can stand for its verb phrase ("I do,",
        "it was,", "I have not,"): complete in writing, so a comma splice rather than a restart.
        Modals ("she would, she'd…") are not taken as complete."""
        if not self.comma_splices or len(span) < 2:
            return False
        k = len(span) - 1
        while k > 0 and span[k].low in _CLAUSE_FINAL:
            k -= 1  # "I have not actually,", "I didnt either,"
        last = span[k]
        if last.low not in _ELLIPTICAL_AUX or k == 0:
            return False
        subj = span[k - 1]
        if subj.low in ("sure", "really", "just", "still", "also") and k > 1:
            subj = span[k - 2]  # "they sure have,"
        if last.dep:
            return last.dep in ("ROOT", "ccomp", "conj", "parataxis", "advcl", "relcl", "pcomp", "acl") and subj.pos == "PRON"
        return self._closed.get(subj.low) == "PRON"

    @staticmethod
    def _open_ended(w: _Word) -> bool:
        """Whether a phrase cannot stop after this word: a cut-off, a function word, or a pronoun
        that is a subject or possessive ("she would, she'd"; not the object in "got it, …")."""
        if w.frag:
            return True
        if w.pos == "PRON":
            if w.dep:
                return w.dep in _OPEN_DEPS
            return w.low in _SUBJECT_PRONOUNS and not w.obj
        return w.pos in _OPEN_ENDED_POS

    def _same_slot(self, r: _Word, f: _Word) -> bool:
        """Whether two words can fill the same slot: same part of speech (a pronoun may be
        replaced by a name or a noun: "he, I mean Tom"); without a tagger, the same word shape."""
        if r.pos and f.pos:
            if r.pos == f.pos:
                return True
            return r.pos == "PRON" and f.pos in ("NOUN", "PROPN")
        return _shape(r.low) == _shape(f.low)

    def _parallel_at(self, words: list[_Word], b: int) -> _Repair | None:
        """A short abandoned phrase replaced by one of the same shape: "we, they have", "are you, do you"."""
        n = len(words)
        e = b
        while e - 1 > 0 and words[e - 1].et is not None and words[e - 1].et != "weak":
            e -= 1
        for j in self._repair_starts(words, b):
            if j >= n:
                break
            if words[j].et is not None and words[j].et != "weak":
                continue
            for L in range(1, 4):
                a = e - L
                if a < 0 or j + L > n:
                    break
                if any(w.before == "stop" for w in words[a + 1:e]):
                    break
                R = words[a:e]
                F = words[j:j + L]
                if any(not w.pos for w in R) or any(w.et is not None and w.et != "weak" for w in R):
                    continue
                if [w.pos for w in R] != [w.pos for w in F]:
                    continue
                last = R[-1]
                opened = self._open_ended(last)
                prev = words[a - 1] if a > 0 else None
                start = prev is None or R[0].before in ("comma", "dash", "stop") or prev.et is not None or prev.pos in ("CCONJ",)
                # only an unfinished phrase (ending on a function word) is abandoned; a pronoun or a
                # conjunction only where a constituent starts ("and, but we…", "we, they have")
                if not opened or (L == 1 and last.pos in ("SCONJ", "PART")):
                    return None
                if self._elliptical_end(R) and not _hesitated(words, a, j):
                    return None
                if not (start or L >= 2 or last.pos in ("AUX", "ADP", "DET")):
                    return None
                return _Repair(a, e, j, j + L, "replacement", 0.7, "parallel")
        return None

    def _cut_at(self, words: list[_Word], b: int) -> _Repair | None:
        """A clause broken off after an auxiliary and restarted with a new subject:
        "it's, I'm the least informed", "they didn't, we couldn't". (Pauses after determiners or
        prepositions are mostly hesitations inside one phrase, so they are not taken as restarts.)"""
        n = len(words)
        last = words[b - 1]
        if b >= n or last.pos != "AUX" or last.et is not None or words[b].before not in ("comma", "dash"):
            return None
        k = b - 2
        while k >= 0 and words[k].low in _CLAUSE_FINAL:
            k -= 1
        if k < 0 or words[k].pos != "PRON":
            return None  # "the most important thing is, you have to…": a noun subject, a pseudo-cleft
        if last.dep == "ROOT" or self._elliptical_end(words[max(0, b - 3):b]):
            return None  # "the thing is, I never have time", "I am, I heard…": the auxiliary ends a clause
        nxt = words[b]
        if nxt.pos != "PRON" or nxt.et is not None or (self.mode == "full" and nxt.dep not in ("nsubj", "nsubjpass", "expl", "")):
            return None
        return _Repair(b - 1, b, b, b + 1, "restart", 0.6, "cut")

    def _restart_blocker(self, words: list[_Word], a: int, b: int, j: int) -> str:
        """Why ``words[a:b]`` cannot be an abandoned phrase that ``words[j:]`` restarts (it is a
        complete phrase the next one continues: a fronted clause, a list, an apposition), or ""."""
        # a filled pause between the two ("I do, uh, I think") is speech hesitating, not a comma splice
        hesitated = _hesitated(words, a, j)
        while b - 1 > a and words[b - 1].et is not None and words[b - 1].et != "weak":
            b -= 1  # "I'll say, well, I know": the editing phase is not part of the reparandum
        span = words[a:b]
        last = span[-1]
        if last.frag:
            return ""
        # a tag question is not a restart: "this is a good subject, isn't it"
        nxt = words[j + 1:j + 3]
        if self._closed.get(words[j].low) == "AUX" and nxt and (
            (nxt[0].low in ("n't", "not") and len(nxt) > 1 and nxt[1].pos in ("PRON", "") and j + 3 >= len(words))
            or (nxt[0].low in self._closed and self._closed[nxt[0].low] == "PRON" and j + 2 >= len(words))
        ):
            return "tag"
        before = words[a - 1] if a > 0 else None
        # a subordinate clause before its main clause: "if they had babies, they…", "like I said, I…",
        # "when you take it that far, it is…"
        if before is not None and (before.low in self._subordinators or before.dep == "mark"):
            return "sub_before"
        if not hesitated and self._in_fronted_clause(words, a):
            return "sub_before"
        # parentheticals and quotatives: "I guess, I just…", "I said, ooh, I…"
        if len(span) <= 4 and any(w.low in self._parenthetical for w in span[1:]):
            return "paren"
        # a complete clause before a comma splice: "I agree, I just think…", "I do, I think it's great",
        # "I never knew that, I wonder…"
        if not hesitated and (
            (last.dep == "ROOT" and (last.pos == "VERB" or (a == 0 and self._after_question)))
            or self._elliptical_end(span)
            or (len(span) >= 2 and not self._open_ended(last) and self._has_clause(span))
        ):
            return "clause"
        # without a tagger, any open-class word may end a complete phrase
        complete = last.pos in ("NOUN", "PROPN", "NUM", "ADJ") or (self.mode == "lite" and last.pos == "")
        if complete and len(span) >= 2 and _is_subsequence([w.low for w in span], [w.low for w in words[j:j + len(span) + 2]]):
            return ""  # the same phrase again with words inserted: "the chairs, the folding chairs"
        # lists and appositions of whole noun phrases: "some names, some companies"
        if complete and (span[0].pos in ("DET", "ADP") or span[0].dep == "poss") and len(span) >= 2:
            return "nplist"
        if span[0].pos == "CCONJ" and (complete or len(span) >= 3) and not hesitated:
            return "cclist"  # "and serve them yourself, and avoid…": coordinated phrases
        if complete and len(span) >= 2:
            return "complete"
        if len(span) >= 5 and not self._open_ended(last):
            return "long"
        return ""

    def _repetition_at(self, words: list[_Word], i: int) -> _Repair | None:
        n = len(words)
        for k in range(min(self.max_repeat, (n - i) // 2), 0, -1):
            # the repair starts right after the reparandum or after an editing phase
            for j in self._repair_starts(words, i + k):
                r = self._repeat_match(words, i, k, j)
                if r is not None:
                    return r if r.kind else None
        return None

    def _repair_starts(self, words: list[_Word], j: int) -> list[int]:
        """Where a repair may start after a reparandum ending at ``j``: at ``j`` or after editing terms."""
        out = [j]
        n = len(words)
        g = 0
        while j < n and words[j].et is not None and words[j].et != "weak" and g < self.max_gap:
            j += 1
            g += 1
            out.append(j)
        return out

    def _repeat_match(self, words: list[_Word], i: int, k: int, j: int) -> _Repair | None:
        """A repetition of ``words[i:i+k]`` at ``j``; a repair with empty kind marks a legitimate double."""
        if j + k > len(words) or words[j].before == "stop":
            return None
        if j > i + k and not (any(w.et == "filler" for w in words[i + k:j])
                              or words[i + k].before or words[j].before):
            return None  # "as well as": a discourse word without a pause is not an editing phase
        for x in range(k):
            a, b = words[i + x], words[j + x]
            if a.low == b.low:
                continue
            # a cut-off last word completed in the repair: "the bi-, the big"
            if x == k - 1 and a.frag and b.low.startswith(a.low[:-1]) and not b.frag:
                continue
            return None
        if self._legit_double(words, i, k, j):
            return _Repair(i, i + k, j, j + k, "", 0.0, "")
        return _Repair(i, i + k, j, j + k, "repetition", 0.95, "repetition")

    def _legit_double(self, words: list[_Word], i: int, k: int, j: int) -> bool:
        """Repetitions that are grammar or emphasis, not repair ("very, very", "had had", "C N N")."""
        span = words[i:i + k]
        if not any(ch.isalpha() for w in span for ch in w.low):
            return True  # digits and symbols repeat in sums, dates and code ("25 + 25", "1, 1"), not in repair
        if all(w.low in self._redup or w.et == "filler" for w in span):
            if k == 1:
                adjacent_only = self._redup.get(span[0].low, False)
                close = j == i + k and words[j].before == ""
                return not adjacent_only or close
            return True
        if k == 2 and span[1].low in ("and", "or"):
            return True  # "going and going and going", "over and over and over"
        if (k == 1 and span[0].pos not in _OPEN_ENDED_POS and span[0].low not in self._closed
                and ((j + 1 < len(words) and words[j + 1].low == span[0].low) or (i > 0 and words[i - 1].low == span[0].low))):
            return True  # "shit shit shit", "money, money, money": a content word said three times is emphasis
        if k == 1:
            a, b = words[i], words[j]
            if a.upper and b.upper:
                return True
            if (a.low in _ELLIPTICAL_AUX and i > 0 and words[i - 1].low in _SUBJECT_PRONOUNS and j + 1 < len(words)
                    and words[j + 1].low in _SUBJECT_PRONOUNS):
                return True  # "yes I do, do you follow…": a short answer, then the question back
            if (j == i + 1 and b.before == "" and a.pos in ("ADJ", "ADV") and a.low not in self._closed
                    and not a.frag):
                return True  # "a huge huge fan": emphasis
            if (a.dep == "pobj" and a.pos == "PRON" and i > 1 and words[i - 1].pos == "ADP"
                    and b.dep in ("nsubj", "nsubjpass") and b.before):
                return True  # "think about it, it makes sense": a prepositional object, then the next subject
            if (a.dep in ("dobj", "pobj") and a.pos == "PRON" and b.dep in ("nsubj", "nsubjpass")
                    and self._in_fronted_clause(words, i)):
                return True  # "if I had to describe it, it would be…": the fronted clause ends, the main one starts
            if (a.pos in ("NOUN", "PROPN", "NUM", "") and any(w.before == "comma" for w in words[j + 1:j + 4])
                    and any(w.before == "comma" for w in words[max(0, i - 2):i + 1])):
                return True  # an item of a list: "(minute, hour, day of month, month, day of week)"
            if a.low in self._doubles and j == i + 1 and b.before == "":
                if self._doubles[a.low]:
                    return True  # "had had": taggers often miss the second verb
                if i == 0:
                    return False  # "That that sounds…": no complementiser opens a unit
                if self.mode == "lite" or not a.pos:
                    return True
                return a.pos != b.pos or a.dep == "prt"  # "break in in the middle"
        return False

    @staticmethod
    def _in_fronted_clause(words: list[_Word], i: int) -> bool:
        """Whether word ``i`` ends a subordinate clause opened a few words before ("if…", "when…")."""
        for x in range(i - 1, max(-1, i - 9), -1):
            if words[x + 1].before == "stop":
                return False
            if words[x].dep == "mark" and words[x].low != "that":
                return True
        return False

    def _fragment_at(self, words: list[_Word], i: int) -> _Repair | None:
        w = words[i]
        if not w.frag:
            return None
        j = i + 1
        n = len(words)
        while j < n and words[j].et is not None and words[j].et != "weak":
            j += 1
        if j >= n:
            return None  # cut off at the end of the unit: abandoned, not repaired here
        nxt = words[j]
        if nxt.low in ("and", "or") and j + 1 < n and "-" in words[j + 1].low:
            return None  # "pre- and post-war"
        stem = w.low[:-1]
        if (len(stem) > 2 and j == i + 1 and not any(x.low.startswith(stem) for x in words[j:j + 4])
                and self.strict_dashes and not (i > 0 and words[i - 1].et == "filler")):
            return None  # "then- still impressed me": in writing, a dash after a whole word is punctuation
        if nxt.low.startswith(w.low[:-1]):
            kind = "repetition"  # "th- the", "so- so"
        elif j > i + 1 and (nxt.low in _WH or nxt.pos in ("SCONJ", "CCONJ") or nxt.low in _SUBJECT_PRONOUNS):
            kind = "restart"  # "we could- actually, why don't we…": a new construction
        else:
            kind = "replacement"  # "he was- she was"
        return _Repair(i, i + 1, j, j + 1, kind, 0.9, "fragment")

    def _left_open(self, pturn: Turn, pp: ParsedTurn) -> bool:
        """Whether a turn's last unit ends without a full stop, so that it may be resumed."""
        if not len(pp):
            return False
        ps, pe = self._spans(pturn, pp)[-1]
        return pe > ps and pturn.text[pe - 1] not in ".?!"

    def _cross_turn_repair(self, pturn: Turn, pp: ParsedTurn, turn: Turn, p: ParsedTurn,
                           between: Sequence[ParsedTurn] = ()) -> Move | None:
        """The speaker left a phrase unfinished at the end of their previous turn (the partner came in)
        and now restarts it: "I guess" … "I guess we can start"."""
        if not len(p) or not self._left_open(pturn, pp):
            return None
        ps, pe = self._spans(pturn, pp)[-1]
        s, e = self._spans(turn, p)[0]
        prev = self._words(pp, ps, pe)
        cur = self._words(p, s, e)
        c0 = 0
        while c0 < len(cur) and cur[c0].et is not None and cur[c0].et != "weak":
            c0 += 1
        if not prev or c0 >= len(cur):
            return None
        first = cur[c0]
        if first.low in self._redup:
            return None
        head = tuple(w.low for w in cur[c0:c0 + 2])
        for bp in between:
            low = bp.lower
            if any(low[x:x + len(head)] == head for x in range(len(low))):
                return None  # the partner said it ("Paolo Ferri" … "Paolo Ferri!"): an echo, not a restart
        m = len(prev)
        for a in range(m - 1, max(-1, m - 1 - self.max_reparandum), -1):
            w = prev[a]
            if w.before == "stop":
                break
            same = w.low == first.low or (a == m - 1 and w.frag and first.low.startswith(w.low[:-1]))
            if not same:
                continue
            k = 1
            while a + k < m and c0 + k < len(cur) and prev[a + k].low == cur[c0 + k].low:
                k += 1
            kind = "repetition" if a + k == m else "replacement"
            if kind == "repetition" and k == 1 and not (self._open_ended(prev[-1]) or pturn.text[pe - 1] in ",-"):
                continue  # one word again after a complete turn ("…it." | "It sounds like…") is no restart
            if kind == "replacement" and not (
                (m - a <= 2 or k >= 2) and (self._open_ended(prev[-1]) or prev[-1].before == "comma")
            ):
                continue  # the earlier turn ended on a complete phrase: not a restart of it
            fs = p.starts[first.tok]
            fe = p.end(cur[c0 + k - 1].end_tok - 1)
            attrs = {"kind": kind, "reparandum": [pp.starts[w.tok], pp.end(prev[-1].end_tok - 1)],
                     "reparandum_turn": pturn.index, "repair": [fs, fe], "level": "disfluency",
                     "reference": self._is_reference(p, cur, _Repair(c0, c0 + k, c0, c0 + k, kind, 0.0, "")),
                     "rule": "cross_turn"}
            return self.move("repair.self", turn.index, fs, fe, cue=turn.text[fs:fe][:80], attributes=attrs, score=0.7)
        return None

    # ------------------------------------------------------------------------- building the move

    def _self_move(self, turn: Turn, p: ParsedTurn, words: list[_Word], r: _Repair, us: int, ue: int,
                   before: list[_Word] | None = None) -> Move:
        def span(a: int, b: int, ws: list[_Word] = words) -> list[int]:
            if b <= a:
                off = p.starts[ws[a].tok] if a < len(ws) else ue
                return [off, off]
            return [p.starts[ws[a].tok], p.end(ws[b - 1].end_tok - 1)]

        if before is not None:
            # a correction unit repairs the unit before it: the move sits on the correction
            rep = span(r.rep_start, r.rep_end, before)
            fix = span(r.fix_start, r.fix_end)
            attrs = {"kind": r.kind, "reparandum": rep, "repair": fix, "level": r.level,
                     "reference": self._is_reference(p, words, _Repair(0, 0, r.fix_start, r.fix_end, "", 0, "")),
                     "rule": r.rule}
            if r.fix_start > 0:
                attrs["editing_term"] = span(0, r.fix_start)
            return self.move("repair.self", turn.index, us, ue, cue=turn.text[us:ue][:80], attributes=attrs, score=r.score)
        rep = span(r.rep_start, r.rep_end)
        fix = span(r.fix_start, r.fix_end)
        attrs: dict[str, Any] = {"kind": r.kind, "reparandum": rep, "repair": fix, "level": r.level,
                                 "reference": self._is_reference(p, words, r), "rule": r.rule}
        if r.fix_start > r.rep_end:
            et = span(r.rep_end, r.fix_start)
            attrs["editing_term"] = et
        start, end = rep[0], max(fix[1], rep[1])
        start, end = max(start, us), min(max(end, start), ue)
        cue = turn.text[start:end]
        return self.move("repair.self", turn.index, start, end, cue=cue[:80], attributes=attrs, score=r.score)

    def _is_reference(self, p: ParsedTurn, words: list[_Word], r: _Repair) -> bool:
        """Whether the repair is about who or what is talked about: the reparandum or the repair
        holds a noun, a name (not a day or month) or a pronoun, the whole noun phrase being
        repaired ("he, I mean Tom"; "the chairs, the folding chairs"). A repeated pronoun or
        determiner ("I, I think"; "the, the") repairs delivery, not reference."""
        ws = words[r.rep_start:r.rep_end] + words[r.fix_start:r.fix_end]
        allowed = ("NOUN", "PROPN") if r.kind == "repetition" else ("NOUN", "PROPN", "PRON")
        for w in ws:
            if w.low in self._temporal or w.frag:
                continue
            pos = w.pos
            if not pos and self.mode == "lite":
                # without a tagger: a capitalised word inside the turn, or a personal pronoun
                t = w.tok
                pos = "PROPN" if p.words[t][:1].isupper() and t > 0 and w.low != "i" else (
                    "PRON" if self._closed.get(w.low) == "PRON" else "")
            if pos in allowed:
                return True
        return False


def _hesitated(words: list[_Word], a: int, j: int) -> bool:
    """Whether a filled pause ("uh", "um") sits between ``words[a]`` and ``words[j]``."""
    return any(w.et == "filler" for w in words[a + 1:j])


@lru_cache(maxsize=4096)  # few distinct punctuation tokens, each seen many times
def _signal(punct: str) -> str:
    """The boundary a punctuation (or whitespace) token marks: stop, dash, comma or nothing."""
    if "\n" in punct or any(c in _STOP_CHARS or c in _QUOTES for c in punct):
        return "stop"  # a sentence end, a line break or a quotation: a new stretch of talk
    if any(c in _DASH_CHARS for c in punct):
        return "dash"
    return "comma" if "," in punct else ""


def _shape(word: str) -> str:
    return "d" if word[:1].isdigit() else "w"


def _is_subsequence(short: list[str], long: list[str]) -> bool:
    it = iter(long)
    return all(any(x == y for y in it) for x in short)


_ET_RANK = {"weak": 0, "filler": 1, "discourse": 2, "explicit": 3}
