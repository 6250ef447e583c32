"""Fast-mode (scan) detector for the grounding family: regular-expression passes over each turn's units."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise
from typing import Any

from convmaint import _regex
from convmaint.detect.base import Detector, Mode, register_detector, units
from convmaint.lexicon import Entry, LexiconSet, Matcher
from convmaint.model import Conversation, FrozenDict, Move, Turn
from convmaint.nlp.base import ParsedTurn
from convmaint.nlp.regex_backend import tokenize

__all__ = ["FastGroundingDetector"]

ACK = "grounding.acknowledgement"
FOLLOW_UP = "grounding.follow_up"
REPEAT = "grounding.repeat"
REFORMULATION = "grounding.reformulation"
COMPLETION = "grounding.completion"

# Closed word classes, as in convmaint/detect/grounding.py (grammar, not tuning knobs).
_WH = frozenset({"what", "who", "whom", "whose", "where", "when", "why", "how", "which"})
_AUX = frozenset({"do", "does", "did", "is", "are", "was", "were", "am", "have", "has", "had", "can", "could", "will",
                  "would", "should", "shall", "may", "might", "must", "ca", "wo"})
_NEG = frozenset({"n't", "not"})
_SUBJ = frozenset({"i", "you", "he", "she", "it", "we", "they", "there", "that", "this", "ya", "y'all", "u"})
_DET = frozenset({"the", "a", "an", "this", "that", "these", "those", "my", "your", "his", "her", "its", "our", "their",
                  "any", "some", "all", "every", "no"})
_CLITIC = frozenset({"'s", "'re", "'m", "'ve", "'ll", "'d"})
# Words that cannot end a finished unit (the partner stopped mid-syntax).
_OPEN_END = frozenset({"the", "a", "an", "to", "of", "and", "or", "but", "with", "for", "from", "in", "on", "at", "by",
                       "about", "into", "than", "that", "which", "who", "like", "my", "your", "his", "her", "their",
                       "our", "its", "is", "was", "are", "were", "be", "been", "being", "have", "has", "had", "very",
                       "so", "really", "uh", "um", "because", "as", "if", "when", "where", "this", "these", "those",
                       "some", "more", "most", "just", "kind", "sort", "go", "get", "got", "do", "did", "can", "could",
                       "would", "will", "should", "i", "we", "they", "you", "he", "she", "whole", "such", "even", "any",
                       "every", "each", "'s"})  # ("it's" is "it" "'s" to the tokenizer)
_WORD_SEARCH = frozenset({"something", "somethin", "whatever", "whatsit", "thingy"})  # "schaden something"
# What follows a generic, explanatory "you" ("so you have to…", "so you take the…")
_GENERIC_YOU = frozenset({"have", "can", "could", "would", "should", "need", "gotta", "got", "might", "may", "will",
                          "'ll", "'d", "take", "do", "just", "know", "see", "get", "go", "put", "want", "wanna",
                          "gonna", "'re", "are", "is", "mean", "say", "said", "think"})
_NOT_COMPLETION_START = frozenset({"yeah", "yes", "no", "okay", "ok", "right", "uh-huh", "so", "but", "and", "because",
                                   "which", "who", "then", "like", "i'm", "it's", "that's", "true", "exactly", "well"})
_LEAD = frozenset({"oh", "well", "so", "and", "but", "uh", "um", "okay", "ok", "yeah", "like", "now", "then", "hey",
                   "right", "see", "anyway", "also", "alright", "hmm", "hm", "ah"})
_PRON_REF = frozenset({"it", "that", "this", "they", "them", "those", "these", "there", "he", "she", "him", "her",
                       "one", "ones", "its", "their"})
_SECOND = frozenset({"you", "your", "yours", "yourself", "you're", "you've", "you'd", "you'll", "u", "ur"})
_REQUEST_START = frozenset({"please", "let's", "help", "tell", "give", "show", "write", "make", "explain",
                            "list", "describe", "find", "create", "send", "check", "add", "fix", "change", "use",
                            "try", "go", "put", "take", "call", "suggest", "recommend", "translate", "summarize",
                            "generate", "provide", "rewrite", "convert", "compare", "calculate", "draw", "imagine",
                            "pretend", "act"})
_WANT = frozenset({"want", "need", "like", "wish"})
_TAG_END = frozenset({"right", "huh", "okay", "ok", "correct", "yeah", "no"})
# Function words never counted as shared content (the parse detector's lite-mode list).
_STOP = frozenset("""a an the and or but if so of to in on at for with by from as is are was were be been being am
i you he she it we they me him her us them my your his its our their this that these those there here what which who
whom whose when where why how do does did done have has had having not no yes yeah uh um oh well just like really very
can could would should will shall may might must than then too also about up down out over into all any some one ok
okay know think mean get got go going 's n't 're 've 'll 'd 'm s t m re ve ll d don didn doesn isn wasn aren huh mm hm
right sure thing things lot kind sort stuff gonna wanna yep yup guess say said see""".split())  # noqa: SIM905

# Facts about a backchannel-lexicon phrase, as bits (read from the entry attributes in __init__).
_B_ACK = 1  # an acknowledgement token (not a filler)
_B_ANSWER = 2  # also answers a question or accepts a request ("yeah", "sure", "okay")
_B_AGREE = 4  # can also state agreement ("yeah": weak)
_B_STRONG = 8  # ... strongly ("yes", "exactly")
_B_CLOSING = 16  # also closes a conversation ("okay", "thanks")
_B_THANKS = 32
_B_EXCLUDED = 64  # a one-liner agreement or an assessment, not counted unless configured
_B_QFORM = 128  # question-form backchannel ("really", "is that right")
_B_RECEIPT = 256
_B_TOKEN = 512  # an elliptical token-pattern entry ("did you?")
_B_OH = 1024  # "oh" or "really": what lets an elliptical echo be a news receipt

_NW = r"[\W_]"  # a character between words
_EDGE_BEFORE = r"(?<![\w'’-])"
_EDGE_AFTER = r"(?![\w'’])"


def _alternation(phrases: Iterable[str]) -> str:
    """Normalised phrases as one trie alternation, each ending at a word edge (no leading edge test).

    The trie is the one :class:`~convmaint.lexicon.Matcher` compiles for a lexicon.
    """
    rx = Matcher._compile(dict.fromkeys(phrases))
    if rx is None:
        return "(?!)"
    if not rx.pattern.startswith(_EDGE_BEFORE):  # pragma: no cover - guards a change in lexicon.py
        raise RuntimeError("unexpected phrase-trie pattern")
    return rx.pattern[len(_EDGE_BEFORE):]


def _token_regex(pattern: Sequence[Mapping[str, Any]]) -> str | None:
    """A raw-text regex for a token pattern made of ``LOWER`` words (None for any other pattern).

    Clitics ("n't") attach to the word before without a space, as the tokenizer splits them off.
    """
    parts = []
    for k, spec in enumerate(pattern):
        want = spec.get("LOWER")
        if set(spec) - {"LOWER", "OP"} or spec.get("OP") not in (None, "?"):
            return None
        words = [want] if isinstance(want, str) else list(want.get("IN", ())) if isinstance(want, Mapping) else []
        if not words:
            return None
        alts = [("" if k == 0 else r"\s*" if w.startswith(("'", "n'")) else r"\s+") + re.escape(w).replace("'", "['’]")
                for w in words]
        part = "(?:" + "|".join(alts) + ")"
        parts.append(part + "?" if spec.get("OP") == "?" else part)
    return "".join(parts) + _EDGE_AFTER


def _first_words(toks: Sequence[str], x: int, j: int) -> tuple[int, str, str] | None:
    """The first token of ``toks[x:j]`` that is not punctuation: its index, it and the token after
    it ("" at ``j``); None when all are punctuation."""
    while x < j and toks[x] in _PUNCT:
        x += 1
    if x == j:
        return None
    return x, toks[x], toks[x + 1] if x + 1 < j else ""


def _words_regex(words: Iterable[str]) -> str:
    """Words as a plain alternation, longest first (no word-edge tests). Words of one length are put
    in alphabetical order (at most one of them can match at a place) so that the pattern, the key
    of its compiled form in the per-user cache, does not change with set order from run to run."""
    return "(?:" + "|".join(re.escape(w).replace("'", "['’]") for w in sorted(words, key=lambda w: (-len(w), w))) + ")"


def _both(pattern: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """A pattern compiled for lower-cased text (case-sensitive: about twice as fast) and for text as is
    (case-insensitive), where lower-casing would move character offsets."""
    return _regex.compile(pattern), _regex.compile(pattern, re.IGNORECASE)


_LEAD_CUT = _LEAD | {w + "-" for w in _LEAD}
_MIMIC_KEEP = frozenset({"yeah", "okay", "ok", "right"})  # discourse particles that a mimicking backchannel keeps
_QUESTION_OPEN = _WH | _AUX
# What a unit's first word can open (FastGroundingDetector._first_kinds): a backchannel or filler
# (the first of one's tokens), a reformulation frame (its first word, or a discourse particle before
# it), a question (-2 in _heads).
_K_ACK, _K_FRAME, _K_QUESTION = 1, 2, 4
# A unit: start, end, what its start says, a reformulation frame, token range (see FastGroundingDetector._heads).
_Head = tuple[int, int, int, "re.Match[str] | None", int, int]
_FORM_ATTRS = {f: FrozenDict({"form": f}) for f in ("continuer", "receipt", "question_form")}
_REPEAT_ACK_ATTRS = FrozenDict({"form": "receipt", "repeat": True})
_FRAME_ATTRS = {True: FrozenDict({"frame": "strong"}), False: FrozenDict({"frame": "weak"})}
_KIND_ATTRS = {k: FrozenDict({"kind": k}) for k in ("syntactic", "word_search")}
_BASIS_ATTRS = {k: FrozenDict({"basis": k}) for k in ("frame", "overlap", "reference", "partner")}


@register_detector
class FastGroundingDetector(Detector):
    """Finds grounding moves with regular-expression passes over each turn (fast mode).

    The fast counterpart of :class:`convmaint.detect.grounding.GroundingDetector`: the same rules
    where they can be read off the text, on tokens and the shared lexicons only. What a unit
    responds to is the last unit of another speaker before its turn, passing over third parties'
    backchannels, in turn order (the parse detector follows the speaking order of timed meeting
    segments; here only a pause before a unit in a merged meeting turn starts it afresh).

    * **Acknowledgement** (``form``: continuer, receipt, question_form): a unit that one pattern
      built from the ``backchannels`` lexicon (phrases, fillers, the elliptical "did you?")
      matches whole, with a backchannel among them and at most ``max_ack_words`` words; in
      unsegmented text also a backchannel cluster set off by punctuation at the start or the end
      of a sentence ("ok, one four", "4pm, got it."). Not when it answers a question or accepts a
      request, agrees ("…, yeah." after one's own talk, "Yes, …" opening a longer turn, "Yeah. Me
      too."), closes the conversation, asks ("right?"), or thanks for no answer asked for; a
      declarative turn-initial repeat acknowledges too (``repeat``: true).
    * **Repeat** (``span``: the echoed words in the target turn): a unit of at most
      ``max_repeat_words`` words besides backchannels, all found in the turn responded to, with
      a content word among them; not a question, an answer, a clause of its own or a closing. A
      backchannel opening a turn that mimics the partner's backchannel ("Yeah." after "Yeah.") is a
      repeat too (``echo``: backchannel).
    * **Reformulation** (``frame``: strong, weak): a unit opening (after discourse particles)
      with a ``reformulation_frames`` frame; weak frames ("so you…") need the unit to open the
      turn right after the partner and share a content word with the partner's turn, or to make
      the partner the subject ("so you travel a lot").
    * **Completion** (``kind``: syntactic, word_search): the first unit of a turn right after a
      partner unit that stopped mid-syntax (no full stop, last word an article, preposition,
      conjunction, auxiliary or filler), at most ``completion_max_words`` words, not opening a
      clause or response of its own; or the word a partner was searching for ("schaden
      something" — "Schadenfreude!").
    * **Follow-up** (``basis``: overlap, reference, frame, partner): a question (a ``?``, or a wh-
      or auxiliary opening: "does it matter much if…") that is no clarification request, hand-off,
      topic shift or counter-question, and builds on the partner's last turn: a shared content
      word, an anaphoric pronoun, a follow-up frame ("how come?"), or a wh-question about the
      partner. (Where a question has both, ``basis`` is "overlap", the parse detector's "frame".)

    ``target`` is the turn the move builds on.

    Args:
        lexicons: The loaded lexicons (``backchannels``, ``reformulation_frames``,
            ``grounding_frames``).
        mode: Always ``fast``.
        max_ack_words: Longest acknowledgement unit, in words. Default 8.
        max_repeat_words: Most non-backchannel words in a repeat. Default 5.
        repeat_acknowledges: Also report a declarative turn-initial repeat as an acknowledgement.
            Default True.
        completion_max_words: Longest collaborative completion, in words. Default 10.
        closing_lookahead: Turns after the current one searched for closing cues. Default 2.
        closing_window: Closing cues count only in the last this many turns. Default 8.
        question_reach: Sentences at the end of a written message searched for the question a
            "yeah" would answer. Default 2.
        pause_reset: Where segments are timed (``start_time``/``end_time`` in segment metadata, as
            in meeting transcripts whose rows a reader merges into one turn), a pause of this many
            seconds before a unit starts it afresh, as if it opened a turn. Default 1.0.
        count_agreements: Count one-liner agreements ("exactly") as acknowledgements. Default False.
        count_assessments: Count assessments ("wow") as acknowledgements. Default False.

    Example:
        >>> from convmaint.lexicon import load_lexicons
        >>> FastGroundingDetector(lexicons=load_lexicons(), mode="fast").id
        'grounding.fast.v1'
    """

    name = "grounding"
    version = 1
    engine = "scan"
    labels = (ACK, FOLLOW_UP, REPEAT, REFORMULATION, COMPLETION)
    requires = frozenset({"tokens", "sents"})
    order = 40

    def __init__(
        self,
        *,
        lexicons: LexiconSet,
        mode: Mode = "fast",
        max_ack_words: int = 8,
        max_repeat_words: int = 5,
        repeat_acknowledges: bool = True,
        completion_max_words: int = 10,
        closing_lookahead: int = 2,
        closing_window: int = 8,
        question_reach: int = 2,
        pause_reset: float = 1.0,
        count_agreements: bool = False,
        count_assessments: bool = False,
    ) -> None:
        super().__init__(lexicons=lexicons, mode=mode)
        self._id = self.id
        self.max_ack_words = max_ack_words
        self.max_repeat_words = max_repeat_words
        self.repeat_acknowledges = repeat_acknowledges
        self.completion_max_words = completion_max_words
        self.closing_lookahead = closing_lookahead
        self.closing_window = closing_window
        self.question_reach = question_reach
        self.pause_reset = pause_reset
        self.count_agreements = count_agreements
        self.count_assessments = count_assessments
        excluded = {k for k, on in (("agreement", count_agreements), ("assessment", count_assessments)) if not on}

        # --- backchannels: a bit mask per phrase; patterns for units made only of them
        self._bits: dict[str, int] = {}
        tokens: list[str] = []
        pattern_words: set[str] = set()
        for e in lexicons.entries(lexicons=["backchannels"]):
            if e.label not in {ACK, "filler"}:
                continue
            if e.match == "phrase":
                key = _norm(e.pattern)  # type: ignore[arg-type]
                self._bits[key] = self._bits.get(key, 0) | _entry_bits(e, excluded)
            elif e.label == ACK and (rx := _token_regex(e.pattern)) is not None:  # type: ignore[arg-type]
                tokens.append(rx)
                pattern_words.update(w for spec in e.pattern for w in _spec_words(spec))  # type: ignore[union-attr]
        # one-word backchannels and fillers, and punctuation: what a repeat's words are besides
        self._ack_words = frozenset(k for k in self._bits if " " not in k)
        self._skip = _cut_offs(self._ack_words) | _PUNCT
        tok = "|".join(tokens) or "(?!)"
        one = rf"(?:{_alternation(self._bits)}|{tok})"  # a backchannel or filler
        acks = _alternation(k for k, b in self._bits.items() if b & _B_ACK)
        # one backchannel: a phrase (the longest, via the trie) or a token pattern (group "tok")
        self._one, self._one_i = _both(rf"{_EDGE_BEFORE}(?:{_alternation(self._bits)}|(?P<tok>{tok}))")
        reform = [e for e in lexicons.entries(lexicons=["reformulation_frames"], labels=[REFORMULATION])
                  if e.match == "phrase"]
        self._strong = frozenset(_norm(e.pattern) for e in reform if e.attributes.get("strength") == "strong")  # type: ignore[arg-type]
        # What a unit's edges say (each pattern matched at the unit's start, but "tail"):
        # - "whole": it is made only of backchannels and fillers;
        # - "lead" (unsegmented text): it opens with a backchannel cluster set off by punctuation
        #   ("ok, …", "got it — here…"), which SwDA and MRDA transcribers cut off as a unit;
        # - "f": it opens with a reformulation frame, up to its first real word ("so you're
        #   saying", "oh, in other words");
        # - "tail" (unsegmented text): it closes with a backchannel cluster after punctuation
        #   ("4pm, got it.", "…, thanks"; not "at nine, right?", a tag question).
        whole = rf"{_NW}*{one}(?:{_NW}*{one})*{_NW}*\Z"
        frame = (rf"(?:{_words_regex(_LEAD)}{_EDGE_AFTER}{_NW}*)*?"
                 rf"(?P<f>{_alternation(_norm(e.pattern) for e in reform)})")  # type: ignore[arg-type]
        lead = rf"{_NW}*(?P<lead>{one}(?:{_NW}*{one})*)(?:(?P<whole>{_NW}*)\Z|[ \t]*(?:[,.!;:…—–]+|-+\s))"
        self._whole, self._lead_or_whole, self._frame = _both(rf"(?P<whole>{whole})"), _both(lead), _both(frame)
        self._tail = _both(rf"[,;:—–][ \t]*(?P<tc>(?:{acks})(?:{_NW}*(?:{acks}))*)[^\w?]*\Z")
        # Cheap necessary tests on a unit's tokens before those patterns are tried: its first
        # token (or first two) can start a backchannel or filler; a frame starts with one of these
        # pairs of tokens (after discourse particles); its last tokens can close a backchannel.
        # (The tokenizer keeps a cut-off word's hyphen, "yeah-", which the patterns read as "yeah" "-".)
        phrase_toks = {k: tuple(w for w in tokenize(k)[0]) for k in self._bits}
        self._first1 = _cut_offs(ts[0] for ts in phrase_toks.values() if len(ts) == 1)
        self._first2 = _cut_off_pairs({ts[:2] for ts in phrase_toks.values() if len(ts) > 1} | _token_pairs(
            e.pattern for e in lexicons.entries(lexicons=["backchannels"]) if e.label == ACK and e.match == "token"))
        self._ack_tail = _cut_offs(w for k, ts in phrase_toks.items() if self._bits[k] & _B_ACK for w in ts)
        self._frame_pairs = _cut_off_pairs(tuple(tokenize(_norm(e.pattern))[0][:2]) for e in reform)  # type: ignore[arg-type]
        self._lead_words = _run_words(self._bits, pattern_words)
        # what a unit's first word can open (bits _K_*), looked up once a unit in _heads
        self._first_kinds: dict[str, int] = {}
        for words, bit in ((self._first1 | {a for a, _ in self._first2}, _K_ACK),
                           ({a for a, _ in self._frame_pairs} | _LEAD_CUT | _PUNCT, _K_FRAME), (_QUESTION_OPEN, _K_QUESTION)):
            for w in words:
                self._first_kinds[w] = self._first_kinds.get(w, 0) | bit

        # --- frames
        frames = lexicons.entries(lexicons=["grounding_frames"])

        def phrases(label: str, whole: bool | None = None) -> list[str]:
            return [_norm(e.pattern) for e in frames if e.label == label and e.match == "phrase"  # type: ignore[arg-type]
                    and (whole is None or bool(e.attributes.get("whole")) == whole)]

        lead = rf"(?:{_words_regex(_LEAD)}{_EDGE_AFTER}{_NW}*)*(?:you\s+know{_EDGE_AFTER}{_NW}*)?"
        self._closing_i = _regex.compile(_EDGE_BEFORE + _alternation(phrases("closing")), re.IGNORECASE)
        self._closing_hints = all(any(h in c for h in _CLOSING_HINTS) for c in phrases("closing"))
        whole_tok = [rx for e in frames if e.label == "agreement" and e.match == "token"
                     and (rx := _token_regex(e.pattern)) is not None]  # type: ignore[arg-type]
        rest = rf"(?:{_NW}+{_words_regex(_LEAD | {'you', 'know'})}{_EDGE_AFTER})*{_NW}*\Z"
        # a unit opening with a statement of agreement ("me too"; "it is" only as the whole unit)
        # (the discourse particles are passed over for good: the statement starts at the first real word)
        self._agreement, self._agreement_i = _both(
            rf"(?>{lead})(?:{_alternation(phrases('agreement', False))}"
            rf"|(?:{_alternation(phrases('agreement', True))}|{'|'.join(whole_tok) or '(?!)'}){rest})")
        # follow-up frames, looked up in a question's words (a regex search through the text is slower)
        self._follow_frames = _phrase_table(phrases("follow_up"))
        self._not_follow = _phrase_table(phrases("not_follow_up"))

    # ------------------------------------------------------------------------------ driver

    def detect(self, conv: Conversation, parsed: Sequence[ParsedTurn], prior: Sequence[Move] = ()) -> list[Move]:
        turns = conv.turns
        n = len(turns)
        if not n:
            return []
        st = _State(self, turns, parsed, prior)
        det_id = self._id
        closing_from = st.closing_from
        max_ack_words = self.max_ack_words
        # a repeat has at most max_repeat_words words besides backchannels and punctuation
        max_repeat = self.max_repeat_words
        repeat_chars = 12 * max_repeat + 8
        bits_of = self._bits
        skip = self._skip
        speakers = st.speakers
        lows = st.lows
        out: list[Move] = []
        append = out.append
        pt: int | None = None  # the latest earlier turn by another speaker
        latest: int | None = None
        unstopped = -1  # the latest turn whose last unit has no full stop (see _State.open_end)
        for t in range(n):
            p = parsed[t]
            if not p.words:
                continue
            if latest is not None and speakers[latest] != speakers[t]:
                pt = latest  # (the same speaker again: the partner turn before the run stays)
            latest = t
            text = p.text
            low = text.lower()
            if len(low) == len(text):
                ci = 0
            else:  # lower-casing moved offsets: match the text as is, ignoring case
                low, ci = text, 1
            lows[t] = low
            turn = turns[t]
            segmented = bool(turn.segments)
            heads = self._heads(p, low, units(turn, p) if segmented else _sentence_units(p), segmented, ci)
            st.spans[t] = heads
            np_here = -1  # the last unit that is no backchannel (none yet: the turn is "leading")
            claimed_here = st.claimed.get(t)
            topical_here = st.topical.get(t)
            qlow = lows[pt] if pt is not None else None
            # (an echo may open a longer unsegmented sentence of a reply to a short turn)
            short_pt = not segmented and pt is not None and len(parsed[pt].words) <= 25
            question = "?" in text
            toks = p.lower
            for k, (s, e, b, rf, i, j) in enumerate(heads):
                claimed = claimed_here is not None and any(a < e and s < z for a, z in claimed_here)
                if b > 0 or b == -1:
                    if b > 0:  # one phrase ("Uh-huh.", "Yeah.")
                        if not b & _B_ACK:
                            continue  # (fillers only, "uh", "so": the turn stays leading)
                        any_b = all_b = b
                        cue = text[s:e].rstrip(".,!?")
                    else:  # backchannels and fillers
                        # made only of backchannels and fillers: which?
                        any_b, all_b, cues = 0, -1, []
                        for m in (self._one_i if ci else self._one).finditer(low, s, e):
                            b = bits_of.get(m.group())
                            if b is None:
                                b = _B_TOKEN | _B_ACK | _B_QFORM if m.lastgroup == "tok" else bits_of.get(_norm(m.group()), 0)
                            if b & _B_ACK:
                                any_b |= b
                                all_b &= b
                                cues.append(m.span())
                        if not any_b:
                            continue
                        if text.count(" ", s, e) + text.count("-", s, e) >= max_ack_words:
                            continue
                        cue = " ".join(text[a:z] for a, z in cues)
                    if k == 0 and e - s <= 24 and (rep := self._mimic(st, t, s, e, heads[0][2] > 0)) is not None:
                        append(rep)
                    if claimed:
                        continue
                    prev = st.responds_to(t)[1]
                    if prev is not None and not ((t >= closing_from or (pt is not None and pt >= closing_from))
                                                 and st.closing_here(t, e, pt)):
                        form = self._ack_form(st, t, s, e, any_b, all_b, prev, np_here < 0, heads, k)
                        if form is not None:
                            append(Move(ACK, t, s, e, cue, prev[0], _FORM_ATTRS[form], det_id, 0.9 if e - s <= 20 else 0.75))
                    continue
                opening = np_here < 0  # only backchannels before it in the turn
                np_here = k
                if qlow is None:
                    continue
                # repeat: a short unit whose words besides backchannels all occur in the partner's
                # turn (first a cheap necessary test: in the partner's text); in unsegmented text
                # the echo may end at the first punctuation ("one four, on my way")
                if e - s <= repeat_chars or (opening and short_pt):
                    opens = opening and short_pt
                    words = cut = 0
                    for x in range(i, j):
                        w = toks[x]
                        if w not in skip:
                            if w not in qlow or words == max_repeat:
                                break
                            words += 1
                        elif opens and words and not cut and w in _BOUNDARY:
                            cut = x
                    else:
                        x = j
                    if (words and x == j) or cut:
                        rep = self._repeat(st, t, opening, s, e, toks[i:j] if x == j else None, toks[i:cut] if cut else None)
                        if rep is not None:
                            append(rep)
                            if (self.repeat_acknowledges and k == 0 and not claimed and rep.target == pt == t - 1
                                    and st.qkind(t, s, e) is None and not st.closing_near(t)):
                                append(Move(ACK, t, s, e, rep.cue, pt, _REPEAT_ACK_ATTRS, det_id, 0.6))
                if rf is not None:
                    ref = self._reformulation(st, t, s, e, rf, pt, opening, claimed)  # type: ignore[arg-type]
                    if ref is not None:
                        append(ref)
                        continue
                if claimed:
                    continue
                # (a completion needs the partner's last unit to stop mid-syntax)
                if k == 0 and pt == t - 1 == unstopped and (end := st.open_end(pt)) is not None:
                    comp = self._completion(st, t, s, e, pt, end)
                    if comp is not None:
                        append(comp)
                        continue
                # (a question that shifts, hands off or resumes a topic is no follow-up)
                if ((question and "?" in text[e - 3:e]) or b == -2) and (
                        topical_here is None or not any(a < e and s < z for a, z in topical_here)):
                    fu = self._follow_up(st, t, k, s, e, pt)  # type: ignore[arg-type]
                    if fu is not None:
                        append(fu)
            if np_here >= 0:
                st.last_np[t] = heads[np_here][:2]
            # (open_end's first test)
            unstopped = t if heads and text[heads[-1][1] - 1] not in ".?!" else -1
        return out

    # ------------------------------------------------------------------------------ units

    def _heads(self, p: ParsedTurn, low: str, spans: list[Any], segmented: bool, ci: int) -> list[_Head]:
        """The units of a turn, each with what its start says: ``(start, end, bits, frame, i, j)``
        where ``bits`` is the backchannel phrase's bits for a unit of one phrase, -1 for a unit
        made only of backchannels and fillers, -2 for one opening with a wh-word or an auxiliary,
        0 otherwise; ``frame`` a reformulation-frame match; ``i``, ``j`` its token range. ``spans``:
        the segments' character spans in segmented text (their token ranges are found here), else
        the sentences (not empty) with their token ranges, ``(start, end, i, j)``.

        In unsegmented text a backchannel cluster set off by punctuation at the start or the end
        of a sentence is a unit of its own ("ok got it, but …", "…, thanks").
        """
        out: list[_Head] = []
        bits = self._bits
        starts, toks = p.starts, p.lower
        first1, first2, frame_pairs, kinds = self._first1, self._first2, self._frame_pairs, self._first_kinds
        max_chars = 7 * self.max_ack_words  # (a longer unit cannot be so few backchannels)
        ascii_ = self._lead_words is not None and low.isascii()  # (where _no_lead can tell)
        # (a closing cluster follows a comma, a semicolon, a colon or a dash; searched in the text:
        # no such character, no such token)
        tails = not segmented and ("," in low or ";" in low or ":" in low or "—" in low or "–" in low)
        i = 0
        for u in spans:
            if segmented:
                s, e = u
                if e <= s:
                    continue
                i = bisect_left(starts, s, i)
                j = bisect_left(starts, e, i)
            else:
                s, e, i, j = u
            # the commonest backchannel unit is one phrase and a full stop ("Uh-huh.", "Yeah."):
            # looked up whole before any pattern is tried
            if e - s <= 16 and low[s].isalpha():
                b = bits.get(low[s:e].rstrip(".,!?"))
                if b is not None:
                    out.append((s, e, b or -1, None, i, j))
                    continue
            if i < j and (w0 := toks[i]) not in _PUNCT:  # (the common case, inline)
                x, w1 = i, toks[i + 1] if i + 1 < j else ""
            else:
                first = _first_words(toks, i, j)
                if first is None:
                    out.append((s, e, 0, None, i, j))
                    continue
                x, w0, w1 = first
            # what the first word can open, in one look-up (most words open nothing tested below)
            f = kinds.get(w0, 0)
            if f & _K_ACK and (w0 in first1 or (w0, w1) in first2):
                m = (self._whole if segmented else self._lead_or_whole)[ci].match(low, s, e) \
                    if (e - s <= max_chars or not segmented) and not (ascii_ and self._no_lead(low, toks, starts, x, j, s, e)) \
                    else None
                if m is not None:
                    if m.start("whole") >= 0:
                        out.append((s, e, -1, None, i, j))
                        continue
                    if self._has_ack(low, m.start("lead"), m.end("lead"), ci):
                        c = m.end()
                        out.append((s, c, -1, None, i, bisect_left(starts, c, i)))
                        while c < e and low[c].isspace():
                            c += 1
                        if c >= e:
                            continue
                        s, i = c, bisect_left(starts, c, i)
                        first = _first_words(toks, i, j)
                        if first is None:
                            out.append((s, e, 0, None, i, j))
                            continue
                        x, w0, w1 = first
                        f = kinds.get(w0, 0)
            # a reformulation frame after discourse particles ("so you're saying", "oh, in other words")
            # (it starts with a frame's first word, or discourse particles come first)
            if f & _K_FRAME:
                framed = (w0, w1) in frame_pairs
                while not framed and (w0 in _LEAD_CUT or w0 in _PUNCT) and x + 1 < j:
                    x += 1
                    w0, w1 = w1, toks[x + 1] if x + 1 < j else ""
                    framed = (w0, w1) in frame_pairs
                if framed and (m := self._frame[ci].match(low, s, e)) is not None:
                    out.append((s, e, 0, m, i, j))
                    continue
                f = kinds.get(w0, 0)  # (the first word after the particles)
            if tails and low[e - 1] != "?":
                # a cluster closing the sentence after punctuation ("at nine, right?" asks: a tag)
                y = j - 1
                while y > x and toks[y] in _PUNCT:
                    y -= 1
                z = y
                while z > x and toks[z] in self._ack_tail:
                    z -= 1
                if z < y and toks[z] in _CLOSERS and (m := self._tail[ci].search(low, max(s, e - 40), e)) is not None \
                        and m.start() > s and self._has_ack(low, m.start("tc"), m.end("tc"), ci):
                    c = m.start("tc")
                    out.append((s, m.start() + 1, 0, None, i, z + 1))
                    out.append((c, e, -1, None, bisect_left(starts, c, i), j))
                    continue
            # (-2: it opens like a question, "does it matter…", "how much is…", even without a "?")
            out.append((s, e, -2 if f & _K_QUESTION else 0, None, i, j))
        return out

    def _no_lead(self, low: str, toks: Sequence[str], starts: Sequence[int], x: int, j: int, s: int, e: int) -> bool:
        """Whether unit ``[s, e)`` of ASCII text, whose first word is token ``x``, has a word that no
        backchannel or filler has before any punctuation that can end a backchannel cluster: then
        the unit neither is nor opens with a cluster, and the patterns need not be tried.

        (Where the patterns match, the cluster's words are whole words of the phrases and token
        patterns, and only ``[ \t]`` or punctuation without letters follows it. The word is looked
        for among the first tokens; the text confirms it is a whole word before such punctuation.)
        """
        words = self._lead_words
        y = x
        while y < j:
            w = toks[y]
            if w in words:
                y += 1
                continue
            if not w.isalnum():
                return False
            a = starts[y]
            b = a + len(w)
            return (b <= e and low.startswith(w, a) and (a == 0 or not low[a - 1].isalnum())
                    and (b == len(low) or not low[b].isalnum()) and _CLUSTER_END.search(low, s, a) is None)
        return False

    def _has_ack(self, low: str, s: int, e: int, ci: int) -> bool:
        """Whether backchannels (not only fillers) lie in ``low[s:e]``."""
        bits = self._bits
        return any(m.lastgroup == "tok" or bits.get(_norm(m.group()), 0) & _B_ACK
                   for m in (self._one_i if ci else self._one).finditer(low, s, e))

    # ------------------------------------------------------------------------------ labels

    def _ack_form(self, st: _State, t: int, s: int, e: int, any_b: int, all_b: int, prev: tuple[int, int, int],
                  leading: bool, spans: list[_Head], k: int) -> str | None:
        """The form of the acknowledgement a backchannel unit makes, or None where it does something else."""
        if any_b & _B_EXCLUDED and not any_b & _B_THANKS:
            return None  # "exactly.", "oh, wow.": an agreement or an assessment
        if any_b & _B_ANSWER and st.asked(prev)[1]:
            return None  # it answers or accepts
        if all_b & _B_THANKS and not st.asked_before(t, prev):
            return None  # thanks that receipt no answer thank
        if all_b & _B_CLOSING and st.closing_near(t):
            return None
        if all_b & _B_AGREE:
            if not leading and not st.after_pause(t, s):
                return None  # "…, yeah." after one's own talk: an exit or an agreement
            if k + 1 < len(spans):
                if all_b & _B_STRONG:
                    return None  # "Yes, …" opening a longer turn: agreement
                ns, ne = spans[k + 1][:2]
                low = st.lows[t]
                if (self._agreement_i if low is st.parsed[t].text else self._agreement).match(low, ns, ne) is not None:
                    return None  # "Yeah. Me too.": an agreement
        ends_q = "?" in st.parsed[t].text[e - 2:e]
        if ends_q and not any_b & _B_QFORM:
            return None  # "right?": asks for confirmation
        if any_b & _B_TOKEN and not (ends_q or any_b & _B_OH):
            return None  # "it was,": an elliptical echo is a backchannel only as a question or news receipt
        if any_b & _B_QFORM or ends_q:
            return "question_form"
        return "receipt" if any_b & _B_RECEIPT else "continuer"

    def _mimic(self, st: _State, t: int, s: int, e: int, single: bool) -> Move | None:
        """A backchannel opening a turn that echoes the partner's backchannel ("Yeah." after "Yeah.",
        "Right." after "right?"): a repeat. ``single``: the unit is one backchannel phrase."""
        echo = st.responds_to(t)[0]
        if echo is None:
            return None
        et, es, ee = echo
        kind = st.spans[et][-1][2]  # (how the echoed unit is made: see _heads)
        if kind == 0 or kind == -2:
            return None  # the partner's unit is no backchannel
        if single and kind > 0:
            key = st.lows[t][s:e].rstrip(".,!?")  # type: ignore[index]
            if key != st.lows[et][es:ee].rstrip(".,!?") or (key in _LEAD and key not in _MIMIC_KEEP) \
                    or key.count(" ") + key.count("-") > 1:  # type: ignore[index]
                return None
        else:
            mine = [w for w in st.tokens(t, s, e) if w not in _PUNCT and (w not in _LEAD or w in _MIMIC_KEEP)]
            if not mine or len(mine) > 2 or mine != [w for w in st.tokens(et, es, ee)
                                                     if w not in _PUNCT and (w not in _LEAD or w in _MIMIC_KEEP)]:
                return None
        text = st.parsed[t].text
        if self._closing_i.search(text, s, e) is not None:
            return None  # "bye-bye" after "bye": a closing exchange
        return Move(REPEAT, t, s, e, text[s:e], et, {"span": [es, ee], "echo": "backchannel"}, self._id, 0.4)

    def _repeat(self, st: _State, t: int, opening: bool, s: int, e: int, whole: Sequence[str] | None,
                chunk: Sequence[str] | None) -> Move | None:
        """A repeat of the words of the turn responded to: the unit's tokens (``whole``), else those
        up to its first punctuation, where an echo opens a longer unsegmented sentence (``chunk``);
        ``opening``: only backchannels before the unit in its turn."""
        src = st.source(t)
        if src is None:
            return None
        pt = src[0]
        skip = self._skip
        qset = st.wordset(pt)
        rest = [w for w in whole if w not in skip] if whole is not None else None
        if not rest or not qset.issuperset(rest):
            if chunk is None or st.asked(src)[1] or len(st.parsed[pt].words) > 25:  # (src may not be the partner turn)
                return None  # an echo opening a reply to a request, or to a long message, is no repeat
            rest = [w for w in chunk if w not in skip]
            if not rest or not qset.issuperset(rest):
                return None
        q = st.qkind(t, s, e)
        if q in {"wh", "polar", "request"}:
            return None
        if q is None and opening and st.asked(src)[0]:
            return None  # "Northern." after "Southern or Northern California?": an answer
        for a, b in pairwise(rest):
            if a in _SUBJ and (b in _AUX or b in _CLITIC):
                return None  # a clause with a subject of its own says something new
        if _CONTENT_STOP.issuperset(rest):
            return None  # no content word
        text = st.parsed[t].text
        if self._closing_i.search(text, s, e) is not None:
            return None  # "bye-bye" after "bye": a closing exchange
        # the span: from the first echoed word to the last, here and in the partner's turn
        low = st.low(t)
        a = _find_word(low, rest[0], s, e)
        z = _find_word(low, rest[-1], a, e, last=True) if a >= 0 else -1
        if a < 0 or z < 0:
            a, z = s, e
        qlow = st.low(pt)
        attrs: dict[str, Any] = {}
        qa = _find_word(qlow, rest[0], 0, len(qlow))
        if qa >= 0:
            qz = _find_word(qlow, rest[-1], qa, len(qlow), last=True)
            attrs["span"] = [qa, qz if qz >= 0 else qa + len(rest[0])]
        return Move(REPEAT, t, a, z, text[a:z], pt, attrs, self._id, 0.6)

    def _reformulation(self, st: _State, t: int, s: int, e: int, m: re.Match[str], pt: int, opening: bool,
                       claimed: bool) -> Move | None:
        """A unit opening with reformulation frame ``m``."""
        if st.qkind(t, s, e) in {"wh", "polar", "request"}:
            return None
        fs, fe = m.span("f")
        frame = _norm(m.group("f"))
        strong = frame in self._strong
        if claimed and not strong:
            return None  # "so X?" checking one element: the clarification detector's
        if not strong:
            # A weak frame ("so you…", "so it's…") also opens one's own explanations: it needs
            # the partner's words, right after the partner spoke.
            words = st.words(t, s, e)
            if not opening or pt != t - 1 or len(words) < 3:
                return None
            overlap = len(st.wordset(pt).intersection(words) - _CONTENT_STOP)
            after = st.words(t, fe, e)
            addresses = not _SECOND.isdisjoint(st.tokens(t, fs, fe)) and bool(after) and after[0] not in _GENERIC_YOU
            if overlap < (2 if frame == "so the" else 1) and not addresses:
                return None
        return Move(REFORMULATION, t, s, e, st.parsed[t].text[fs:fe], pt, _FRAME_ATTRS[strong], self.id,
                    0.6 if strong else 0.4)

    def _completion(self, st: _State, t: int, s: int, e: int, pt: int, end: tuple[str, int]) -> Move | None:
        """A completion of the partner's last unit (turn ``pt``), which stopped mid-syntax (``end``: see
        :meth:`_State.open_end`)."""
        last, li = end
        words = st.words(t, s, e)
        if not words or len(words) > self.completion_max_words:
            return None
        if st.qkind(t, s, e, words) in {"wh", "polar", "request"}:
            return None
        qp = st.parsed[pt]
        cue = qp.words[li]
        if last in _WORD_SEARCH:
            # a word search ("it's German, schaden something") completed with the word
            y = li - 1
            while y >= 0 and qp.lower[y] in _PUNCT:
                y -= 1
            stem = qp.lower[y].rstrip("-") if y >= 0 else ""
            if len(stem) >= 3 and any(w.startswith(stem) for w in words):
                return Move(COMPLETION, t, s, e, cue, pt, _KIND_ATTRS["word_search"], self._id, 0.6)
            return None
        if last in _SUBJ:
            return None  # "Well I," — the partner abandoned a clause of their own
        x = 0
        while x < len(words) and words[x] in {"uh", "um", "oh", "well"}:
            x += 1
        if x >= len(words):
            return None
        first = words[x]
        if first in _SUBJ or first in _NOT_COMPLETION_START or first in self._ack_words:
            return None  # a clause of its own, the speaker's own continuation, or a response
        toks = st.tokens(t, s, e)
        at = toks.index(first)
        if at + 1 < len(toks) and toks[at + 1] == "-":
            return None  # a cut-off first word ("th-"): a false start
        return Move(COMPLETION, t, s, e, cue, pt, _KIND_ATTRS["syntactic"], self._id, 0.4)

    def _follow_up(self, st: _State, t: int, k: int, s: int, e: int, pt: int) -> Move | None:
        """A question (ending with "?", or opening like one) building on the partner's last turn ``pt``."""
        pspans = st.spans[pt]
        if not pspans:
            return None
        ps, pe = pspans[-1][:2]
        pq: str | None = ""  # the question kind of the partner's last unit (found where needed)
        if k == 0:
            pq = "decl" if "?" in st.parsed[pt].text[max(ps, pe - 3):pe] else st.qkind(pt, ps, pe)
            if pq in {"wh", "polar", "decl"}:
                return None  # a question answering a question is a counter-question
        p = st.parsed[t]
        starts = p.starts
        i = bisect_left(starts, s)
        toks = p.lower[i:bisect_left(starts, e, i)]  # (punctuation is in no word list below)
        if "?" not in p.text[max(s, e - 3):e] and st.qkind(t, s, e, toks) not in {"wh", "polar", "tag"}:
            return None  # no question
        x = 0
        while x < len(toks) and (toks[x] in _LEAD or toks[x] in _PUNCT):
            x += 1
        if x < len(toks) - 1 and toks[x] == "you" and toks[x + 1] == "know":
            x += 2
        head = toks[x:]
        if not head or head[0] == "please" or (x == 0 and head[:3] in (("i'd", "like", "you"), ("i", "like", "you"))):
            return None  # a request
        # what it builds on (the cheap tests first; fast mode reports "overlap" rather than "frame"
        # where a question has both)
        shared = st.wordset(pt).intersection(toks)
        frame = None
        if not _CONTENT_STOP.issuperset(shared):
            basis = "overlap"
        elif not _PRON_REF.isdisjoint(head):
            basis = "reference"
        elif (frame := _find_phrase(toks, self._follow_frames)) is not None or (
                head[0] in {"why", "how"} and len([w for w in head if w not in _PUNCT]) <= 2):
            basis = "frame"
        elif (not _SECOND.isdisjoint(head) and len([w for w in head if w not in _PUNCT]) >= 3
              and st.qkind(t, s, e, toks) == "wh"
              and (pq if pq != "" else "decl" if "?" in st.parsed[pt].text[max(ps, pe - 3):pe]
                   else st.qkind(pt, ps, pe)) is None):
            basis = "partner"  # "how are your knees holding up?": a wh-question about the partner's news
        else:
            return None
        if _find_phrase(toks, self._not_follow):
            return None  # "what about you?", "does that make sense?"
        cue = " ".join(sorted(shared - _CONTENT_STOP)) if basis == "overlap" else frame or p.text[s:e][:40]
        return Move(FOLLOW_UP, t, s, e, cue, pt, _BASIS_ATTRS[basis], self._id, 0.5)


class _State:
    """What one conversation's pass knows about its turns; most of it is found on first use."""

    def __init__(self, det: FastGroundingDetector, turns: Sequence[Turn], parsed: Sequence[ParsedTurn],
                 prior: Sequence[Move]) -> None:
        n = len(turns)
        self.det = det
        self.turns = turns
        self.parsed = parsed
        self.n = n
        self.speakers = [t.speaker for t in turns]
        self.spans: list[list[_Head]] = [[]] * n  # the units of the turns done so far (each set once)
        self.last_np: list[tuple[int, int] | None] = [None] * n  # each turn's last unit that is no backchannel
        self.lows: list[str | None] = [None] * n  # lower-cased texts (the text itself where that moves offsets)
        self.closing_from = n - det.closing_window
        self._closings: dict[int, list[int]] = {}
        self._asked: dict[tuple[int, int], tuple[bool, bool]] = {}
        self._responds: dict[int, tuple[tuple[int, int, int] | None, tuple[int, int, int] | None]] = {}
        self._open_ends: dict[int, tuple[str, int] | None] = {}
        self._qkind: dict[tuple[int, int], str | None] = {}
        self._wordsets: dict[int, frozenset[str]] = {}
        self.claimed: dict[int, list[tuple[int, int]]] = {}
        self.topical: dict[int, list[tuple[int, int]]] = {}  # the spans of topic shifts, hand-offs, resumptions
        for m in prior:
            if m.label == "clarification.request":
                self.claimed.setdefault(m.turn, []).append((m.start, m.end))
            elif m.label in {"topic.shift", "topic.handoff", "topic.resume"}:
                self.topical.setdefault(m.turn, []).append((m.start, m.end))

    def low(self, t: int) -> str:
        low = self.lows[t]
        if low is None:
            text = self.parsed[t].text
            low = text.lower()
            if len(low) != len(text):
                low = text
            self.lows[t] = low
        return low

    def responds_to(self, t: int) -> tuple[tuple[int, int, int] | None, tuple[int, int, int] | None]:
        """The last unit ``(turn, start, end)`` by another speaker before turn ``t``, and the last
        one that is not a backchannel (passing over third parties' backchannels, stopping at the
        speaker's own talk)."""
        found = self._responds.get(t)
        if found is None:
            found = self._responds[t] = self._walk_back(t)
        return found

    def source(self, t: int) -> tuple[int, int, int] | None:
        """The unit turn ``t`` responds to: the last unit by another speaker that is not a backchannel."""
        return self.responds_to(t)[1]

    def _walk_back(self, t: int, horizon: int = 20) -> tuple[tuple[int, int, int] | None, tuple[int, int, int] | None]:
        me = self.speakers[t]
        first = None
        for j in range(t - 1, max(-1, t - 1 - horizon), -1):
            if self.speakers[j] == me:
                if first is not None:
                    break
                continue
            spans = self.spans[j]
            if not spans:
                continue
            if first is None:
                first = (j, spans[-1][0], spans[-1][1])
            np = self.last_np[j]
            if np is not None:
                return first, (j, *np)
        return first, first

    def tokens(self, t: int, s: int, e: int) -> tuple[str, ...]:
        """The lower-case tokens of turn ``t`` that start in characters ``[s, e)``."""
        p = self.parsed[t]
        starts = p.starts
        i = bisect_left(starts, s)
        return p.lower[i:bisect_left(starts, e, i)]

    def words(self, t: int, s: int, e: int) -> list[str]:
        """:meth:`tokens` without punctuation."""
        return [w for w in self.tokens(t, s, e) if w not in _PUNCT]

    def qkind(self, t: int, s: int, e: int, words: Sequence[str] | None = None) -> str | None:
        """The question kind of unit ``[s, e)`` of turn ``t`` (whose ``words`` may be given)."""
        key = (t, s)
        if key in self._qkind:
            return self._qkind[key]
        p = self.parsed[t]
        if words is None:
            starts = p.starts
            i = bisect_left(starts, s)
            words = p.lower[i:bisect_left(starts, e, i)]
        found = self._qkind[key] = _question_kind(words, "?" in p.text[max(s, e - 3):e])
        return found

    def asked(self, v: tuple[int, int, int]) -> tuple[bool, bool]:
        """Whether unit ``v`` (or, in written text, a unit just before it) asks: without, with requests."""
        key = (v[0], v[1])
        found = self._asked.get(key)
        if found is None:
            t, s, e = v
            if self.turns[t].segments:
                q = self.qkind(t, s, e)  # speech: only the unit responded to
                found = (q is not None and q != "request", q is not None)
            else:  # writing: a question may come before some context ("Can you…? Ana is 34…")
                kinds = [self.qkind(t, x[0], x[1]) for x in [x for x in self.spans[t] if x[0] <= s][-self.det.question_reach:]]
                found = (any(q is not None and q != "request" for q in kinds), any(q is not None for q in kinds))
            self._asked[key] = found
        return found

    def asked_before(self, t: int, prev: tuple[int, int, int]) -> bool:
        """Whether the speaker of turn ``t`` asked or requested something shortly before ``prev``."""
        me = self.speakers[t]
        return any(self.speakers[x] == me and any(self.qkind(x, u[0], u[1]) is not None for u in self.spans[x])
                   for x in range(prev[0] - 1, max(-1, prev[0] - 5), -1))

    def open_end(self, t: int) -> tuple[str, int] | None:
        """The last word of turn ``t`` and its token index, where its last unit stopped mid-syntax
        (no full stop; an article, preposition, conjunction, auxiliary or filler last) or in a word
        search ("schaden something")."""
        if t in self._open_ends:
            return self._open_ends[t]
        found = None
        spans = self.spans[t]
        if spans:
            p = self.parsed[t]
            s, e = spans[-1][:2]
            if p.text[e - 1] not in ".?!":
                starts, lower = p.starts, p.lower
                i = bisect_left(starts, s)
                x = bisect_left(starts, e, i) - 1
                while x >= i and lower[x] in _PUNCT:
                    x -= 1
                if x >= i and (lower[x] in _OPEN_END or (lower[x] in _WORD_SEARCH and x > i)):
                    found = (lower[x], x)
        self._open_ends[t] = found
        return found

    def after_pause(self, t: int, s: int) -> bool:
        """Whether the unit of turn ``t`` starting at ``s`` follows the speaker's previous unit after
        a pause of ``pause_reset`` seconds or more (where segments are timed: a reader merges a
        speaker's meeting rows into one turn, and after a pause the speaker starts afresh)."""
        segs = self.turns[t].segments
        text = self.parsed[t].text
        for x in range(1, len(segs)):
            a = segs[x].start
            while a < segs[x].end and text[a].isspace():
                a += 1
            if a == s:
                t0, t1 = segs[x].metadata.get("start_time"), segs[x - 1].metadata.get("end_time")
                return isinstance(t0, int | float) and isinstance(t1, int | float) and t0 - t1 >= self.det.pause_reset
        return False

    def closings(self, t: int) -> list[int]:
        """Where closing cues ("bye", "nice talking") start in turn ``t`` (none before the last turns)."""
        if t < self.closing_from or t >= self.n:
            return []
        found = self._closings.get(t)
        if found is None:
            text = self.parsed[t].text
            low = self.low(t)
            # (a necessary condition first: every closing cue holds one of these)
            found = ([m.start() for m in self.det._closing_i.finditer(text)]
                     if not self.det._closing_hints or any(x in low for x in _CLOSING_HINTS) else [])
            self._closings[t] = found
        return found

    def closing_here(self, t: int, e: int, pt: int | None) -> bool:
        """A closing cue after ``e`` in turn ``t`` or in the partner's turn ``pt``."""
        if t < self.closing_from and (pt is None or pt < self.closing_from):
            return False
        return any(c >= e for c in self.closings(t)) or (pt is not None and bool(self.closings(pt)))

    def closing_near(self, t: int) -> bool:
        """A closing cue in turn ``t`` or one of the ``closing_lookahead`` turns after it."""
        if t + self.det.closing_lookahead < self.closing_from:
            return False
        return any(self.closings(x) for x in range(t, min(self.n, t + 1 + self.det.closing_lookahead)))

    def wordset(self, t: int) -> frozenset[str]:
        """The lower-case tokens of turn ``t``."""
        found = self._wordsets.get(t)
        if found is None:
            found = self._wordsets[t] = frozenset(self.parsed[t].lower)
        return found


_CLOSERS = frozenset({",", ";", ":", "—", "–"})  # (punctuation before a closing backchannel cluster)
_BOUNDARY = frozenset({",", "!", ".", "?", ";", ":", "—", "–", "...", "!!", "?!", "??"})
# The punctuation tokens of the regex tokenizer: single symbols, runs of dots or dashes, emoticons.
_PUNCT = frozenset(set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~…—–“”‘’«»•·")
                   | {"." * k for k in range(2, 12)} | {"-" * k for k in range(2, 12)}
                   | {a + b + c for a in ":;=" for b in ("", "-") for c in "()dp/\\|"})
# Every closing cue of the grounding_frames lexicon holds one of these (checked in __init__).
_CLOSING_HINTS = ("bye", "talk", "care", "have a", "see y", "night")
# What is never a content word: function words, punctuation, single letters.
_CONTENT_STOP = _STOP | _PUNCT | frozenset("abcdefghijklmnopqrstuvwxyz")


def _find_word(low: str, w: str, s: int, e: int, *, last: bool = False) -> int:
    """Where word ``w`` starts (``last``: where its last occurrence ends) in ``low[s:e]``, at word
    edges; -1 if nowhere."""
    n = len(w)
    x = low.rfind(w, s, e) if last else low.find(w, s, e)
    while x >= 0:
        if (x == 0 or not low[x - 1].isalnum() or not w[0].isalnum()) and (x + n >= len(low) or not low[x + n].isalnum()):
            return x + n if last else x
        x = low.rfind(w, s, x + n - 1) if last else low.find(w, x + 1, e)
    return -1


_PhraseTable = tuple[frozenset[str], dict[str, list[tuple[tuple[str, ...], str]]]]


def _sentence_units(p: ParsedTurn) -> list[tuple[int, int, int, int]]:
    """The units of unsegmented text: the character spans of a parse's sentences, as
    :meth:`ParsedTurn.sentence_spans` gives them, with their token ranges ``(start, end, i, j)``.

    Found from token starts and sentence starts alone: a sentence ends where the next begins, less
    white space, and its tokens are those up to the next sentence start. (``sentence_spans`` builds
    every token's end first, and the token ranges would take two bisections per unit: most of the
    cost of this detector on chat, where no other fast detector asks for sentences first.)
    """
    ss = p.sent_starts
    if "sents" not in p.annotations or not ss or ss[0] != 0:
        return _token_ranges(p, p.sentence_spans())
    text, starts = p.text, p.starts
    n = len(starts)
    if len(ss) == 1:  # one sentence: a third of chat turns
        s = starts[0] if n else 0
        e = s + len(text[s:].rstrip())
        return [(s, e, 0, n)] if n and starts[-1] < e else _token_ranges(p, p.sentence_spans())
    out = []
    last = len(ss) - 1
    for k, i in enumerate(ss):
        if i >= n:
            break
        j = ss[k + 1] if k < last else n
        if j <= i:  # sentence starts out of order: as sentence_spans takes them
            return _token_ranges(p, p.sentence_spans())
        if j >= n:
            j = n
            e = len(text)
        else:
            e = starts[j]
        s = starts[i]
        e = s + len(text[s:e].rstrip())
        if starts[j - 1] < e:
            out.append((s, e, i, j))
        elif e > s:  # (a token of white space, which the regex tokenizer never makes, ends the unit)
            out.append((s, e, i, bisect_left(starts, e, i)))
    if k < last and list(ss) != sorted(set(ss)):  # (the starts left over must be in order too)
        return _token_ranges(p, p.sentence_spans())
    return out


def _token_ranges(p: ParsedTurn, spans: Iterable[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """Character spans (not empty) with their token ranges ``(start, end, i, j)``: the tokens that start
    in ``[start, end)``."""
    starts = p.starts
    out = []
    i = 0
    for s, e in spans:
        if e > s:
            i = bisect_left(starts, s, i)
            out.append((s, e, i, bisect_left(starts, e, i)))
    return out


# What may end a backchannel cluster that opens a unit (ASCII): see the "lead" pattern.
_CLUSTER_END = re.compile(r"[,.!;:-]")
_ALNUM_RUN = re.compile(r"[a-z0-9]+")


def _run_words(phrases: Iterable[str], pattern_words: Iterable[str]) -> frozenset[str] | None:
    """The whole words (letter and digit runs) that text matched by the backchannel phrases and
    token patterns can hold: their own, and a word joined to a following "n't" ("didn't"). None
    where a phrase is not ASCII (case-insensitive matching could then equate other letters)."""
    phrases, pattern_words = list(phrases), list(pattern_words)
    if not all(w.isascii() and w == w.lower() for w in phrases + pattern_words):
        return None
    runs = {r for w in phrases + pattern_words for r in _ALNUM_RUN.findall(w)}
    runs |= {found[-1] + "n" for w in pattern_words if (found := _ALNUM_RUN.findall(w))}
    return frozenset(runs)


def _cut_offs(words: Iterable[str]) -> frozenset[str]:
    """Words, and the same cut off ("yeah-"), as the tokenizer keeps them."""
    words = set(words)
    return frozenset(words | {w + "-" for w in words})


def _cut_off_pairs(pairs: Iterable[tuple[str, ...]]) -> frozenset[tuple[str, ...]]:
    """Pairs of words, and the same with either or both cut off."""
    return frozenset((a + x, b + y) for a, b in pairs for x in ("", "-") for y in ("", "-"))


def _token_pairs(patterns: Iterable[Any]) -> frozenset[tuple[str, str]]:
    """The pairs of lower-case tokens that ``LOWER`` token patterns can start with."""
    pairs: set[tuple[str, str]] = set()
    for pattern in patterns:
        firsts = _spec_words(pattern[0])
        seconds: set[str] = set()
        for spec in pattern[1:]:  # the second token: the next spec's, or past an optional one
            seconds |= _spec_words(spec)
            if spec.get("OP") != "?":
                break
        pairs.update((a, b) for a in firsts for b in seconds)
    return frozenset(pairs)


def _spec_words(spec: Mapping[str, Any]) -> set[str]:
    want = spec.get("LOWER")
    return {want} if isinstance(want, str) else set(want.get("IN", ())) if isinstance(want, Mapping) else set()


def _phrase_table(phrases: Iterable[str]) -> _PhraseTable:
    """Phrases as token tuples (as the regex tokenizer cuts them, punctuation left out) by first
    token, longest first; with the set of first tokens (for a cheap necessary test)."""
    table: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for phrase in phrases:
        toks = tuple(w for w in tokenize(phrase)[0] if w not in _PUNCT)
        if toks:
            table.setdefault(toks[0], []).append((toks, phrase))
    for found in table.values():
        found.sort(key=lambda x: len(x[0]), reverse=True)
    return frozenset(table), table


def _find_phrase(toks: tuple[str, ...], phrases: _PhraseTable) -> str | None:
    """A phrase of table ``phrases`` in a unit's tokens ``toks``."""
    firsts, table = phrases
    for w in firsts.intersection(toks):
        x = toks.index(w)
        n = toks.count(w)
        while True:
            for found, joined in table[w]:
                if toks[x:x + len(found)] == found:
                    return joined
            n -= 1
            if not n:
                break
            x = toks.index(w, x + 1)
    return None


def _entry_bits(e: Entry, excluded: set[str]) -> int:
    if e.label != ACK:
        return 0
    a = e.attributes
    bits = _B_ACK
    if a.get("answer"):
        bits |= _B_ANSWER
    agree = a.get("agree")
    if agree:
        bits |= _B_AGREE | (_B_STRONG if agree == "strong" else 0)
    if a.get("closing"):
        bits |= _B_CLOSING
    kind = a.get("kind")
    if kind == "thanks":
        bits |= _B_THANKS
    elif kind in excluded:
        bits |= _B_EXCLUDED
    form = a.get("form", "continuer")
    if form == "question_form":
        bits |= _B_QFORM
    elif form == "receipt":
        bits |= _B_RECEIPT
    if e.match == "token":
        bits |= _B_TOKEN
    elif e.pattern in ("oh", "really"):
        bits |= _B_OH
    return bits


_WS = re.compile(r"\s+")


def _norm(text: str) -> str:
    return _WS.sub(" ", text.strip().lower().replace("\u2019", "'"))


# The first words of questions and requests (and "you" of "you know, …").
_QUESTION_START = _WH | _AUX | _REQUEST_START | {"i", "you"}


def _question_kind(toks: Sequence[str], qmark: bool) -> str | None:
    """polar / wh / tag / decl (a ``?`` only) / request, or None: the parse detector's lite-mode
    rules on a unit's tokens ``toks`` (``qmark``: a "?" ends the unit).

    Only the first words (after discourse particles) and the last three are looked at.
    """
    n = len(toks)
    k = 0
    continued = False  # "and what…", "but who…": a conjunction up front marks a continuation
    while k < n:
        w = toks[k]
        if w in _LEAD:
            continued = continued or w == "and" or w == "but"
        elif w not in _PUNCT:
            break
        k += 1
    if k < n and toks[k] in _QUESTION_START:
        first = toks[k]
        x = k + 1
        while x < n and toks[x] in _PUNCT:
            x += 1
        nxt = toks[x] if x < n else None
        if first == "you" and nxt == "know":  # "you know, what…": the words after it
            words = [w for w in toks[x + 1:x + 8] if w not in _PUNCT]
            first, nxt, nxt2, k = (words + ["", None, None])[0], (words + [None, None])[1], (words + [None, None, None])[2], -1
        elif first == "i" and nxt not in _WANT:
            first = ""  # "i think…": no question and no request
            nxt2 = None
        else:
            x += 1
            while x < n and toks[x] in _PUNCT:
                x += 1
            nxt2 = toks[x] if x < n else None
        if first in _WH:
            if qmark:
                return "wh"
            if first in {"who", "whom", "whose", "which"} or continued:
                return None
            if nxt is None:
                return "wh" if first in {"why", "how"} else None
            if nxt in {"about", "come", "else"}:
                return "wh"
            if first == "how" and nxt2 in _AUX:
                return "wh"  # "how long have you…"
            if nxt in _AUX and nxt2 is not None and (nxt2 in _SUBJ or nxt2 in _DET or nxt2 in _NEG):
                return "wh"  # inversion: "what do you think", "where did they go"
            return None
        if first in _AUX and nxt is not None:
            subj = nxt2 if nxt in _NEG and nxt2 is not None else nxt
            if subj in _SUBJ or subj in _DET:
                return "polar"
        if k == 0 and not qmark and nxt is not None and (first in _REQUEST_START or (first == "i" and nxt in _WANT
                                                                                     and nxt2 in {"you", "help"})):
            return "request"
        if first == "please" or (k == 0 and first == "i" and nxt == "like" and nxt2 == "you"):
            return "request"
    elif k == n and all(w in _PUNCT for w in toks):
        return None  # no words at all
    # tag questions: "…, isn't it", "…, right?" (in a unit of three words or more)
    x = n - 1
    while x >= 0 and toks[x] in _PUNCT:
        x -= 1
    last = toks[x] if x >= 0 else ""
    if (qmark and last in _TAG_END) or last in _SUBJ:
        tail = [w for w in toks[-8:] if w not in _PUNCT][-3:]
        if len(tail) == 3 and (qmark and last in _TAG_END or (tail[1] in _NEG and tail[0] in _AUX and last in _SUBJ)):
            return "tag"
    return "decl" if qmark else None
