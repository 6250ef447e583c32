"""Grounding moves: acknowledgements, follow-up questions, repeats, reformulations and completions."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, compress, islice, pairwise
from operator import add, not_
from typing import Any

from convmaint.detect.base import Detector, Mode, register_detector, units
from convmaint.lexicon import Entry, LexiconSet, Match, Matcher
from convmaint.model import Conversation, Move, Turn
from convmaint.nlp.base import ParsedTurn

__all__ = ["GroundingDetector"]

ACK = "grounding.acknowledgement"
FOLLOW_UP = "grounding.follow_up"
REPEAT = "grounding.repeat"
REFORMULATION = "grounding.reformulation"
COMPLETION = "grounding.completion"

# Closed word classes. They are grammar, not tuning knobs, so they live here rather than in a
# lexicon; lite mode (no POS tags) leans on them.
_WH = frozenset({"what", "who", "whom", "whose", "where", "when", "why", "how", "which"})
_AUX = frozenset({"do", "does", "did", "is", "are", "was", "were", "am", "have", "has", "had", "can", "could", "will",
                  "would", "should", "shall", "may", "might", "must", "ca", "wo"})
_NEG = frozenset({"n't", "not"})
_SUBJ = frozenset({"i", "you", "he", "she", "it", "we", "they", "there", "that", "this", "ya", "y'all", "u"})
_DET = frozenset({"the", "a", "an", "this", "that", "these", "those", "my", "your", "his", "her", "its", "our", "their",
                  "any", "some", "all", "every", "no"})
# Words that cannot end a finished unit (the partner stopped mid-syntax): articles, prepositions,
# conjunctions, possessives, auxiliaries, intensifiers, fillers.
_OPEN_END = frozenset({"the", "a", "an", "to", "of", "and", "or", "but", "with", "for", "from", "in", "on", "at", "by",
                       "about", "into", "than", "that", "which", "who", "like", "my", "your", "his", "her", "their",
                       "our", "its", "is", "was", "are", "were", "be", "been", "being", "have", "has", "had", "very",
                       "so", "really", "uh", "um", "because", "as", "if", "when", "where", "this", "these", "those",
                       "some", "more", "most", "just", "kind", "sort", "go", "get", "got", "do", "did", "can", "could",
                       "would", "will", "should", "i", "we", "they", "you", "he", "she", "it's", "'s", "whole",
                       "such", "even", "any", "every", "each"})
# What follows a generic, explanatory "you" ("so you have to…", "so you take the…")
_GENERIC_YOU = frozenset({"have", "can", "could", "would", "should", "need", "gotta", "got", "might", "may", "will",
                          "'ll", "'d", "take", "do", "just", "know", "see", "get", "go", "put", "want", "wanna",
                          "gonna", "'re", "are", "is", "mean", "say", "said", "think"})
_NOT_COMPLETION_START = frozenset({"yeah", "yes", "no", "okay", "ok", "right", "uh-huh", "so", "but", "and", "because",
                                   "which", "who", "then", "like", "i'm", "it's", "that's", "true", "exactly", "well"})
_OPEN_END_POS = frozenset({"DET", "ADP", "CCONJ", "SCONJ", "AUX", "PART"})
# Discourse particles skipped before the first "real" word of a unit.
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
# Function words never counted as shared content (lite mode has no POS tags to tell). A word list
# reads better as text than as a literal of quoted strings.
_STOP = frozenset("""a an the and or but if so of to in on at for with by from as is are was were be been being am
i you he she it we they me him her us them my your his its our their this that these those there here what which who
whom whose when where why how do does did done have has had having not no yes yeah uh um oh well just like really very
can could would should will shall may might must than then too also about up down out over into all any some one ok
okay know think mean get got go going 's n't 're 've 'll 'd 'm s t m re ve ll d don didn doesn isn wasn aren huh mm hm
right sure thing things lot kind sort stuff gonna wanna yep yup guess say said see""".split())  # noqa: SIM905
_CONTENT_POS = frozenset({"NOUN", "PROPN", "VERB", "ADJ", "NUM", "ADV", "X", "INTJ"})
# The first words (after leading particles) with which a unit without a "?" may ask or request
# (see _question_kind).
_QUESTION_START = _WH | _AUX | _REQUEST_START | {"please", "i", "i'd"}
# Question kinds that rule a unit out of a repeat, a reformulation; those a follow-up needs.
_NOT_REPEAT = frozenset({"wh", "polar", "request"})
_NOT_REFORMULATION = _NOT_REPEAT
_FOLLOW_UP_KINDS = frozenset({"wh", "polar", "decl", "tag"})


@dataclass(slots=True)
class _Unit:
    """One unit of a turn, with what the rules ask of it (computed once per conversation)."""

    turn: int
    k: int  # position in the turn
    start: int
    end: int
    words: list[int]  # non-punctuation token indexes
    question: str | None = None  # polar, wh, tag, decl, request
    news_check: bool = False  # a question-form backchannel ("really?", "did you?"): the partner may answer it
    acks: list[Match] = field(default_factory=list)  # backchannel-lexicon matches inside the unit
    opening: bool = True  # only backchannel units before it in its turn
    segmented: bool = False  # the source gave this unit (SwDA utterance, MRDA segment)
    pure: bool = False  # made only of backchannel tokens and fillers, with at least one backchannel
    t0: float | None = None  # speech start and end in seconds, where the source times its segments
    t1: float | None = None
    content: frozenset[str] | None = None  # content words (see _unit_content: found on first use)
    lead: int = -1  # _lead of ``words`` (found with the question kind)
    covered: list[bool] = field(default_factory=list)  # which of ``words`` lie inside one of ``acks``
    frames: list[Match] | None = None  # grounding-frame matches in the unit, found on first use


@register_detector
class GroundingDetector(Detector):
    """Finds grounding moves: acknowledgements, follow-ups, repeats, reformulations, completions.

    Runs after the clarification (order 10) and repair (order 20) detectors, and after topic
    (order 30): a unit claimed as a clarification request is never an acknowledgement, follow-up
    or completion ("really?" is one or the other), and a question that shifts, hands off or
    resumes a topic is not a follow-up.

    Units are the source's segments (SwDA utterances, MRDA dialogue acts) or parser sentences; in
    unsegmented text a backchannel cluster set off by punctuation at the start or end of a
    sentence ("ok got it, but …", "…, thanks") is a unit of its own. What a unit responds to is
    the last unit of another speaker before it, passing over third parties' backchannels; where
    segments are timed (``start_time``/``end_time`` in segment metadata) this follows speaking
    order, so that overlapping meeting speech merged into one turn is read as it was spoken.

    * **Acknowledgement** (``form``: continuer, receipt, question_form): a unit of at most
      ``max_ack_words`` words made only of ``backchannels`` lexicon tokens and fillers, with at
      least one backchannel. Not an acknowledgement when

      - it answers or accepts: a token that can answer ("yeah", "sure", "okay"; lexicon
        ``answer``) after a question or request (wh-word, auxiliary inversion, imperative, tag,
        ``?``) or a question-form backchannel ("really?");
      - it agrees: a "yeah"-type token (lexicon ``agree``) after the speaker's own talk in the
        turn, or followed by a statement of agreement ("Yeah. Me too."), or a "yes" opening a
        longer turn (SWBD-DAMSL codes these aa); units of one-liner agreements ("exactly") or
        assessments ("wow", "perfect") are not acknowledgements unless ``count_agreements`` /
        ``count_assessments`` say so (or thanks come with them: "perfect, thanks");
      - it closes: next to closing cues ("bye", "nice talking") near the end of a conversation;
      - it asks: "right?", "okay?" ask for confirmation;
      - it thanks for something not asked for: thanks alone acknowledge only as the receipt of an
        answer the speaker had asked for ("what time…?" — "eight." — "thanks").

      So an assistant answer opening "Sure! Here is…" after a request complies (no
      acknowledgement), "Great question!" is not in the lexicon (an assessment of the question),
      while "Got it." or "I see." opening a reply acknowledge.
    * **Repeat** (``span``: the echoed material's offsets in the target turn): at most
      ``max_repeat_words`` words besides backchannels, all found in the turn responded to, with at
      least ``repeat_min_content`` content word; not an answer to a question, not a clause with
      its own subject, not a closing exchange. A backchannel mimicking the partner's backchannel
      ("Yeah." after "Yeah.") is a repeat too. In unsegmented text the echo may open a longer
      sentence ("one four, on my way"). A declarative turn-initial repeat is also an
      acknowledgement (SWBD-DAMSL ``b^m``) when ``repeat_acknowledges`` is set.
    * **Reformulation** (``frame``: strong, weak): a unit opening with a ``reformulation_frames``
      frame. Weak frames ("so you", "so it's") also open one's own explanations, so they need the
      unit to open the turn right after the partner and share ``reformulation_min_overlap``
      content words with the partner's turn (two for "so the"), or make the partner the subject
      ("so you travel a lot"). On a unit claimed as a clarification only strong frames count.
    * **Completion** (``kind``: syntactic, word_search): the first unit of a turn right after a
      partner unit that stopped mid-syntax (ends, without a full stop, on an article,
      preposition, conjunction, auxiliary or filler), at most ``completion_max_words`` words and
      not opening a clause or a response of its own; or the word a partner was searching for
      ("schaden something" — "Schadenfreude!").
    * **Follow-up** (``basis``: frame, overlap, reference, partner): a question (syntax or ``?``)
      that is not a clarification request, hand-off, offer or topic shift, is not a
      counter-question to a partner question, and builds on the partner's last turn: a follow-up
      frame ("how come?", "like what?"), ``follow_up_min_overlap`` shared content words, an
      anaphoric pronoun, or a wh-question about the partner ("how are your knees holding up?").

    ``target`` is the turn the move builds on, for every label (for acknowledgements, the turn
    acknowledged).

    Args:
        lexicons: The loaded lexicons (``backchannels``, ``reformulation_frames``,
            ``grounding_frames``).
        mode: ``full`` (tokens, sentences, POS, lemmas) or ``lite`` (tokens and sentences).
        max_ack_words: Longest acknowledgement unit, in words. Default 8.
        max_repeat_words: Most non-backchannel words in a repeat. Default 5.
        repeat_min_content: Fewest content words a repeat must echo. Default 1.
        repeat_acknowledges: Also report a declarative turn-initial repeat as an acknowledgement.
            Default True.
        reformulation_min_overlap: Content words a weak-frame reformulation must share with the
            partner's turn (unless the partner is its subject). Default 1.
        completion_max_words: Longest collaborative completion, in words. Default 10.
        follow_up_min_overlap: Content words a follow-up must share with the partner's turn when
            it has neither a frame nor an anaphoric pronoun. Default 1.
        closing_lookahead: Turns after the current one searched for closing cues. Default 2.
        closing_window: Closing cues count only in the last this many turns of a conversation.
            Default 8.
        pause_reset: Where segments are timed (``start_time``/``end_time`` in segment metadata,
            as in meeting transcripts whose overlapping rows a reader merges into one turn), a
            pause of this many seconds before a unit starts it afresh, as if it opened a turn.
            Default 1.0.
        question_reach: How many sentences at the end of the partner's written message (up to
            the one responded to) are searched for a question or request that a "yeah" or "sure"
            would answer; in transcribed speech only the unit responded to counts. Default 2.
        count_agreements: Count units with one-liner agreement tokens ("exactly"; lexicon
            ``kind = "agreement"``) as acknowledgements. Default False: SWBD-DAMSL codes them as
            agreements (aa).
        count_assessments: Count units with assessment tokens ("wow", "gosh", "perfect"; lexicon
            ``kind = "assessment"``) as acknowledgements. Default False: SWBD-DAMSL and MRDA code
            them as appreciations (ba).

    Example:
        >>> from convmaint.lexicon import load_lexicons
        >>> det = GroundingDetector(lexicons=load_lexicons(), mode="lite")
        >>> det.id
        'grounding.v1'
    """

    name = "grounding"
    version = 1
    labels = (ACK, FOLLOW_UP, REPEAT, REFORMULATION, COMPLETION)
    requires = frozenset({"tokens", "sents", "pos", "lemma"})
    requires_lite = frozenset({"tokens", "sents"})
    order = 40

    def __init__(
        self,
        *,
        lexicons: LexiconSet,
        mode: Mode = "full",
        max_ack_words: int = 8,
        max_repeat_words: int = 5,
        repeat_min_content: int = 1,
        repeat_acknowledges: bool = True,
        reformulation_min_overlap: int = 1,
        completion_max_words: int = 10,
        follow_up_min_overlap: int = 1,
        closing_lookahead: int = 2,
        closing_window: int = 8,
        pause_reset: float = 1.0,
        question_reach: int = 2,
        count_agreements: bool = False,
        count_assessments: bool = False,
    ) -> None:
        super().__init__(lexicons=lexicons, mode=mode)
        self.max_ack_words = max_ack_words
        self.max_repeat_words = max_repeat_words
        self.repeat_min_content = repeat_min_content
        self.repeat_acknowledges = repeat_acknowledges
        self.reformulation_min_overlap = reformulation_min_overlap
        self.completion_max_words = completion_max_words
        self.follow_up_min_overlap = follow_up_min_overlap
        self.closing_lookahead = closing_lookahead
        self.closing_window = closing_window
        self.pause_reset = pause_reset
        self.count_agreements = count_agreements
        self.count_assessments = count_assessments
        # Phrases go through one regex per turn; token patterns (elliptical "did you?", "it is")
        # only ever matter inside short units, so they run there alone.
        ack_entries = lexicons.entries(lexicons=["backchannels"])
        self._ack = Matcher(e for e in ack_entries if e.match == "phrase")
        self._ack_tokens = Matcher(e for e in ack_entries if e.match == "token")
        self._ack_seqs = _TokenSeqs.build(self._ack_tokens.entries)  # the same, as regular expressions
        self._reform = lexicons.matcher(lexicons=["reformulation_frames"], labels=[REFORMULATION])
        # The first two letters of the frames (ASCII, in lower case), for a glance before may_match
        # (None where a frame is a token pattern or does not start with two ASCII letters or digits)
        heads = {str(e.pattern).strip().lower()[:2] for e in self._reform.entries}
        self._reform_heads: frozenset[str] | None = (
            frozenset(heads) if all(e.match == "phrase" for e in self._reform.entries)
            and all(len(h) == 2 and h.isascii() and h.isalnum() for h in heads) else None)
        frame_entries = lexicons.entries(lexicons=["grounding_frames"],
                                         labels=["follow_up", "not_follow_up", "closing", "agreement"])
        self._frames = Matcher(e for e in frame_entries if e.match == "phrase")
        self._frames_tokens = Matcher(e for e in frame_entries if e.match == "token")
        # Cheap necessary conditions for a match, to skip hopeless searches.
        self._closing = Matcher(e for e in self._frames.entries if e.label == "closing")
        self.question_reach = question_reach
        self._excluded_kinds = frozenset(k for k, on in (("agreement", count_agreements),
                                                         ("assessment", count_assessments)) if not on)

    # ------------------------------------------------------------------------------ driver

    def detect(self, conv: Conversation, parsed: Sequence[ParsedTurn], prior: Sequence[Move] = ()) -> list[Move]:
        turns = conv.turns
        n = len(turns)
        if not n:
            return []
        phrases = self._ack_phrases(parsed)
        all_units = [self._units(turns[t], parsed[t], t, phrases[t]) for t in range(n)]
        partner = _previous_partner(turns)
        context = _Context(all_units, turns)
        claimed: dict[int, list[tuple[int, int]]] = {}
        topical: dict[int, list[tuple[int, int]]] = {}
        for m in prior:
            if m.label == "clarification.request":
                claimed.setdefault(m.turn, []).append((m.start, m.end))
            elif m.label in {"topic.shift", "topic.handoff", "topic.resume"}:
                topical.setdefault(m.turn, []).append((m.start, m.end))
        closings = _Closings(self, parsed, n)
        # Whether a unit asks (without, with requests): several units respond to the same one.
        asked_memo: dict[int, tuple[bool, bool]] = {}
        out: list[Move] = []
        for t in range(n):
            p = parsed[t]
            if not p.words:
                continue
            pt = partner[t]
            prev_unit = all_units[pt][-1] if pt is not None and all_units[pt] else None
            pt_parsed = parsed[pt] if pt is not None else None
            closings_here: list[int] | None = None  # where closing cues start in the turn (found on first use)
            claimed_here = claimed.get(t, ())
            topical_here = topical.get(t, ())
            leading = True  # only backchannel units so far in this turn
            own_prev: _Unit | None = None
            tunits = all_units[t]
            for ui, u in enumerate(tunits):
                if not u.words:
                    continue
                question = u.question
                # (what _repeat rules out first, before the questions it asks of the source: a
                # question, or too many words besides backchannels where the echo cannot open a sentence)
                short = len(u.words) - u.covered.count(True) <= self.max_repeat_words
                may_repeat = question not in _NOT_REPEAT and (short or (not u.segmented and u.opening))
                # What the unit responds to: the last thing another speaker said, passing over
                # third parties' backchannels (in a meeting, "yeah" after A's question and C's
                # "mm-hmm" still answers A). Only timing, acknowledgements and repeats ask.
                if u.t0 is not None or u.pure or may_repeat:
                    last_other, responds_to = context.before(u)
                else:
                    last_other = responds_to = None
                if (u.t0 is not None and own_prev is not None and own_prev.t0 is not None
                        and ((last_other is not None and last_other.t0 is not None and last_other.t0 > own_prev.t0)
                             or (own_prev.t1 is not None and u.t0 - own_prev.t1 >= self.pause_reset))):
                    # Timed, overlapping speech: a reader merges a speaker's rows into one turn even
                    # when others took the floor in between; such a unit opens afresh.
                    leading = True
                own_prev = u
                is_claimed = bool(claimed_here) and any(s < u.end and u.start < e for s, e in claimed_here)
                in_unit = u.acks
                ack = None
                if not is_claimed and u.pure:
                    if closings_here is None:
                        closings_here = closings.starts(t)
                    # (an "okay" or "yeah" next to "nice talking to you" closes the call)
                    if not (any(c >= u.end for c in closings_here) or (pt is not None and closings.at(pt))):
                        nxt = next((x for x in tunits[ui + 1:] if x.words), None)
                        asked = responds_to is not None and self._asked_memo(asked_memo, all_units, responds_to)[1]
                        ack = self._acknowledgement(p, u, in_unit, responds_to, asked, closings.near(t), leading,
                                                    nxt, self._asked_before(turns, all_units, u, responds_to))
                        if ack is not None:
                            out.append(ack)
                if leading and not u.pure:  # only fillers keep it leading
                    leading = all(m.label == "filler" for m in in_unit) and all(u.covered)
                # the echo's source: what the unit responds to (in a meeting, past third parties' backchannels)
                src = responds_to if responds_to is not None else prev_unit
                rep = None
                if may_repeat and src is not None and (short or len(parsed[src.turn].words) <= 25):
                    echo = last_other or src
                    asked_q, requested = asked_memo.get(id(src)) or self._asked_memo(asked_memo, all_units, src)
                    rep = self._repeat(p, u, in_unit, src.turn, parsed[src.turn], echo, parsed[echo.turn],
                                       asked_q, requested)
                if rep is not None:
                    out.append(rep)
                    if (ack is None and not is_claimed and self.repeat_acknowledges and u.k == 0 and not asked_q
                            and question is None and rep.target == pt == t - 1 and not closings.near(t)):
                        out.append(self.move(ACK, t, u.start, u.end, cue=rep.cue, target=pt,
                                             attributes={"form": "receipt", "repeat": True}, score=0.6))
                if ack is not None or pt is None:
                    continue
                # (each rule below is called only where its first test passes)
                if question not in _NOT_REFORMULATION:
                    ref = self._reformulation(p, u, in_unit, pt, parsed[pt], all_units[pt], t, is_claimed)
                    if ref is not None:
                        out.append(ref)
                        continue
                if is_claimed:
                    continue
                if u.k == 0 and pt == t - 1 and prev_unit is not None and prev_unit.words:
                    comp = self._completion(p, u, in_unit, pt, pt_parsed, prev_unit, t)
                    if comp is not None:
                        out.append(comp)
                        continue
                if question not in _FOLLOW_UP_KINDS or prev_unit is None:
                    continue
                if topical_here and any(a < u.end and u.start < b for a, b in topical_here):
                    continue  # a question that shifts, hands off or resumes a topic is not a follow-up
                fu = self._follow_up(p, u, pt, parsed[pt], prev_unit, all_units[pt])
                if fu is not None:
                    out.append(fu)
        return out

    # ------------------------------------------------------------------------------ units

    def _ack_phrases(self, parsed: Sequence[ParsedTurn]) -> list[list[Match]]:
        """``self._ack.find(p)`` for each turn ``p`` (its backchannel phrases), from one search
        through the turns' texts joined by "\\x00": no phrase holds it, and as a character that is
        neither a word character, an apostrophe, a hyphen nor white space it edges a phrase as the
        start or end of a text does. (The phrases are matched case-insensitively, or, in ASCII
        text, in the lower-cased text: the same spans, see ``Matcher.find``.)"""
        texts = [p.text for p in parsed]
        joined = "\x00".join(texts)
        if joined.count("\x00") != len(texts) - 1:  # a text holds the separator
            return [self._ack.find(p) for p in parsed]
        out: list[list[Match]] = [[] for _ in texts]
        offs = list(accumulate((len(x) + 1 for x in texts), initial=0))  # where each text starts
        for s, e, entry in self._ack.phrase_spans(joined):  # (in the order find sorts them)
            t = bisect_right(offs, s) - 1
            o = offs[t]
            out[t].append(Match(s - o, e - o, entry))
        return out

    def _units(self, turn: Turn, p: ParsedTurn, t: int, matches: list[Match] | None = None) -> list[_Unit]:
        """The units of turn ``t`` (``matches``: its backchannel phrases, where known)."""
        spans = units(turn, p) if p.words else []
        if not spans:
            return []
        out: list[_Unit] = []
        segmented = bool(turn.segments)
        if matches is None:
            matches = self._ack.find(p)  # the whole turn's backchannel phrases, shared by its units
        # the turn's words (non-punctuation tokens), a unit's words being the stretch in its tokens
        widx = list(compress(range(len(p.words)), map(not_, p.punct)))
        # a token pattern can only match where two tokens in a row are ones it can start with: if
        # no two in the turn are, none are in a unit
        pairs = self._ack_tokens.token_pairs
        lower = p.lower
        tokens_may = pairs is None or not pairs.isdisjoint(zip(lower, islice(lower, 1, None)))
        starts, ends = p.starts, p.ends
        for k, (s, e) in enumerate(spans):
            if e <= s:
                out.append(_Unit(t, k, s, e, []))
                continue
            i = bisect_right(ends, s)  # p.tokens_in(s, e), inline
            j = max(i, bisect_left(starts, e))
            words = widx[bisect_left(widx, i):bisect_left(widx, j)]
            u = _Unit(t, k, s, e, words, segmented=segmented)
            if segmented and k < len(turn.segments):
                meta = turn.segments[k].metadata
                t0, t1 = meta.get("start_time"), meta.get("end_time")
                if isinstance(t0, int | float) and isinstance(t1, int | float):
                    u.t0, u.t1 = float(t0), float(t1)
            if words:
                u.question = self._question_kind(p, u)
                if matches or (tokens_may and len(words) <= self.max_ack_words):
                    self._find_acks(p, u, matches, (i, j), tokens_may)
                else:  # (what _find_acks finds where there is nothing to find)
                    u.covered = [False] * len(words)
            out.append(u)
        if not segmented:
            out = self._split_leading_acks(p, out, matches)
        seen_content = False
        for u in out:
            if u.words:
                u.pure = all(u.covered) and any(m.label == ACK for m in u.acks)
            u.opening = not seen_content
            seen_content = seen_content or (bool(u.words) and not u.pure)
            if u.question is None and p.text[u.start:u.end].rstrip().endswith("?"):
                u.news_check = (any(m.entry.attributes.get("form") == "question_form" for m in u.acks if m.label == ACK)
                                and all(u.covered))
        return out

    def _find_acks(self, p: ParsedTurn, u: _Unit, matches: list[Match], tokens: tuple[int, int] | None = None,
                   tokens_may: bool = True) -> None:
        """Set ``u.acks`` and ``u.covered``: the turn's backchannel phrase ``matches`` inside the
        unit and, in a unit of at most ``max_ack_words`` words, its token-pattern matches
        (``tokens``: the unit's token range, where known; ``tokens_may``: False where the turn
        holds no pair of tokens a pattern can start with)."""
        s, e = u.start, u.end
        acks = [m for m in matches if s <= m.start and m.end <= e] if matches else []
        if tokens_may and len(u.words) <= self.max_ack_words:
            i, j = p.tokens_in(s, e) if tokens is None else tokens
            # a token pattern can only match where two tokens in a row are ones it can start with
            pairs = self._ack_tokens.token_pairs
            lower = p.lower
            if pairs is None or not pairs.isdisjoint(zip(lower[i:j], lower[i + 1:j])):
                found = self._token_acks(p, i, j, s, e)
                if found:
                    acks = sorted(acks + found, key=_position)
        u.acks = acks
        u.covered = _cover(p, u.words, acks) if acks else [False] * len(u.words)

    def _token_acks(self, p: ParsedTurn, i: int, j: int, start: int, end: int) -> list[Match]:
        """``self._ack_tokens.find(p, start, end)`` (tokens ``i`` to ``j``), by regular expression
        where the patterns allow (see :class:`_TokenSeqs`)."""
        found = self._ack_seqs.find(p, i, j) if self._ack_seqs is not None else None
        return self._ack_tokens.find(p, start, end) if found is None else found

    def _split_leading_acks(self, p: ParsedTurn, us: list[_Unit], matches: list[Match]) -> list[_Unit]:
        """In unsegmented text, a backchannel cluster set off by punctuation is a unit of its own.

        "ok got it, but what about the tests?", "after the hospital, ok. is that…" and "that's the
        one, thanks" each hold an acknowledgement beside something else; SwDA and MRDA
        transcribers cut such clusters off as units of their own, a parser's sentences do not. A
        cluster closing a question ("at nine, right?") is a tag and stays where it is.
        """
        if not us:
            return us
        out: list[_Unit] = []
        words = p.words
        for u in us:
            inu, covered = u.acks, u.covered
            n = len(u.words)
            if not inu or all(covered) or not any(covered):
                out.append(u)  # a backchannel unit as it stands ("oh, did you?"), or none at all
                continue
            if _BOUNDARY.isdisjoint(words[u.words[0] + 1:u.words[-1]]):
                out.append(u)  # no punctuation between its words that could set a cluster off
                continue
            asks: bool | None = None  # whether the unit ends with "?" (looked at where it matters)
            cuts: list[tuple[int, int]] = []  # word ranges of clusters set off by punctuation
            i = 0
            while True:
                try:
                    i = covered.index(True, i)  # the next covered word
                except ValueError:
                    break
                if i > 0 and not _boundary_after(p, u.words[i - 1]):
                    i += 1
                    continue
                j = i
                while j < n and covered[j]:
                    j += 1
                # shrink from the right to the last boundary inside the run
                while j > i and j < n and not _boundary_after(p, u.words[j - 1]):
                    j -= 1
                if j == n and asks is None:
                    asks = p.text[u.start:u.end].rstrip().endswith("?")
                if j > i and not (j == n and asks) and any(
                        m.label == ACK and p.starts[u.words[i]] <= m.start and m.end <= p.end(u.words[j - 1]) for m in inu):
                    cuts.append((i, j))
                    i = j
                else:
                    i += 1
            if not cuts:
                out.append(u)
                continue
            pos = 0
            for i, j in cuts + [(n, n)]:
                if i > pos:  # the material before the cluster
                    out.append(self._piece(p, u, p.starts[u.words[pos]] if pos else u.start,
                                           p.end(u.words[i - 1] + 1) if i < n else u.end, u.words[pos:i], matches))
                if j > i:
                    out.append(self._piece(p, u, p.starts[u.words[i]] if i else u.start,
                                           p.end(u.words[j - 1] + 1) if j < n else u.end, u.words[i:j], matches))
                pos = j
        for k, v in enumerate(out):
            v.k = k
        return out

    def _piece(self, p: ParsedTurn, u: _Unit, start: int, end: int, words: list[int], matches: list[Match]) -> _Unit:
        v = _Unit(u.turn, u.k, start, min(end, u.end), words)
        v.question = self._question_kind(p, v)
        self._find_acks(p, v, matches)
        return v

    # ------------------------------------------------------------------------------ features

    def _frames_of(self, p: ParsedTurn, label: str, start: int = 0, end: int | None = None) -> list[Match]:
        return [m for m in self._frames.find(p, start, end) if m.label == label]

    def _unit_frames(self, p: ParsedTurn, u: _Unit, label: str) -> list[Match]:
        """``_frames_of`` over unit ``u`` (searched once for all labels)."""
        if u.frames is None:
            u.frames = self._frames.find(p, u.start, u.end)
        return [m for m in u.frames if m.label == label]

    def _unit_content(self, p: ParsedTurn, u: _Unit) -> frozenset[str]:
        """The content words of unit ``u`` (of parse ``p``), found once."""
        if u.content is None:
            u.content = self._content(p, u.words)
        return u.content

    def _partner_content(self, q: ParsedTurn, pt_units: Sequence[_Unit]) -> frozenset[str]:
        """The content words of the partner's turn (parse ``q``, units ``pt_units``)."""
        return frozenset().union(*(self._unit_content(q, x) for x in pt_units)) if pt_units else frozenset()

    def _content(self, p: ParsedTurn, words: Sequence[int], *, adverbs: bool = True) -> frozenset[str]:
        full = self.mode == "full" and bool(p.pos)
        if not full:
            forms = set(map(p.lower.__getitem__, words)) - _STOP
            return frozenset({low for low in forms if (len(low) >= 2 or low.isdigit()) and not low.endswith("-")})
        out = set()
        for x in words:
            low = p.lower[x]
            if low in _STOP or (len(low) < 2 and not low.isdigit()) or low.endswith("-"):
                continue
            if full and (p.pos[x] not in _CONTENT_POS or (not adverbs and p.pos[x] in {"ADV", "INTJ"})):
                continue
            out.add(p.lemmas[x] if full else low)
        return frozenset(out)

    def _lead(self, p: ParsedTurn, words: Sequence[int]) -> int:
        """Index into ``words`` of the first word after leading discourse particles."""
        k = 0
        while k < len(words) and p.lower[words[k]] in _LEAD:
            k += 1
        if k < len(words) - 1 and p.lower[words[k]] == "you" and p.lower[words[k + 1]] == "know":
            k += 2
        return k

    def _question_kind(self, p: ParsedTurn, u: _Unit) -> str | None:
        """polar / wh / tag / decl (a ``?`` only) / request, or None for a statement.

        Speech transcripts cut sentences into fragments, so a unit opening with "who", "which" or
        a bare verb is as often a relative clause or the tail of an interrupted sentence as a
        question or a command: those count only with a ``?`` or a clear frame.
        """
        w = u.words
        if not w:
            return None
        # a "?" among the last three characters before trailing white space
        text, end = p.text, u.end
        while end > u.start and text[end - 1].isspace():
            end -= 1
        qmark = text.find("?", max(u.start, end - 3), end) >= 0
        low = p.lower
        # (self._lead, inline)
        k, n = 0, len(w)
        while k < n and low[w[k]] in _LEAD:
            k += 1
        if k < n - 1 and low[w[k]] == "you" and low[w[k + 1]] == "know":
            k += 2
        u.lead = k
        if not qmark and (k >= n or low[w[k]] not in _QUESTION_START):
            # without a "?", only a tag is left (the branches below need one of those words first)
            if len(w) >= 3 and low[w[-2]] in _NEG and low[w[-3]] in _AUX and low[w[-1]] in _SUBJ:
                return "tag"
            return None
        full = self.mode == "full" and bool(p.pos)
        # "and what…", "but who…": a conjunction up front marks a continuation, not a new question
        continued = k > 0 and any(low[x] in {"and", "but", "or", "because"} for x in w[:k])
        if k < len(w):
            first = low[w[k]]
            nxt = low[w[k + 1]] if k + 1 < len(w) else None
            nxt2 = low[w[k + 2]] if k + 2 < len(w) else None
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
                if nxt in _AUX and nxt2 is not None and (nxt2 in _SUBJ or nxt2 in _DET or nxt2 in _NEG
                                                         or (full and p.pos[w[k + 2]] in {"PROPN", "NOUN", "PRON"})):
                    return "wh"  # inversion: "what do you think", "where did they go"
                return None
            if first in _AUX and nxt is not None:
                j = k + 1
                if low[w[j]] in _NEG and j + 1 < len(w):
                    j += 1
                subj = low[w[j]]
                if subj in _SUBJ or subj in _DET or (full and p.pos[w[j]] in {"PROPN", "NOUN", "PRON"}):
                    imperative_do = full and first == "do" and p.pos[w[k]] == "VERB" and subj in {"it", "that", "this"}
                    if not imperative_do:
                        return "polar"
            if k == 0 and not qmark and len(w) >= 2 and (first in _REQUEST_START or (first == "i" and nxt in _WANT
                                                                                     and nxt2 in {"you", "help"})):
                return "request"
            if first == "please" or (k == 0 and first in {"i'd", "i"} and nxt == "like" and nxt2 == "you"):
                return "request"
        # tag questions: "…, isn't it", "…, right?", "…, don't you"
        if len(w) >= 3 and low[w[-2]] in _NEG and low[w[-3]] in _AUX and low[w[-1]] in _SUBJ:
            return "tag"
        if qmark and len(w) >= 3 and low[w[-1]] in {"right", "huh", "okay", "ok", "correct", "yeah", "no"}:
            return "tag"
        if qmark:
            return "decl"
        return None

    # ------------------------------------------------------------------------------ labels

    def _asked(self, all_units: Sequence[Sequence[_Unit]], v: _Unit | None, *, requests: bool = True) -> bool:
        """Whether ``v`` or a unit just before it in its turn asks (or, with ``requests``, requests) something.

        A written message often puts its question first and the context after ("Can you
        organise this? Ana is 34…"), so in unsegmented text the last ``question_reach`` units up
        to ``v`` count; in transcribed speech (source segments) only ``v`` itself.
        """
        if v is None:
            return False
        def asks(x: _Unit) -> bool:
            return (x.question is not None and (requests or x.question != "request")) or x.news_check

        if v.segmented:
            return asks(v)  # speech: the turn-final unit is what is answered
        us = [x for x in all_units[v.turn] if x.words and x.start <= v.start]
        return any(map(asks, us[-self.question_reach:]))

    def _asked_memo(self, memo: dict[int, tuple[bool, bool]], all_units: Sequence[Sequence[_Unit]],
                    v: _Unit) -> tuple[bool, bool]:
        """``_asked`` of ``v`` without and with requests, kept in ``memo``."""
        found = memo.get(id(v))
        if found is None:
            if v.segmented:
                found = (self._asked(all_units, v, requests=False), self._asked(all_units, v))
            else:  # both at once: the same units count (see _asked)
                us = [x for x in all_units[v.turn] if x.words and x.start <= v.start][-self.question_reach:]
                found = (any((x.question is not None and x.question != "request") or x.news_check for x in us),
                         any(x.question is not None or x.news_check for x in us))
            memo[id(v)] = found
        return found

    def _asked_before(self, turns: Sequence[Turn], all_units: Sequence[Sequence[_Unit]], u: _Unit,
                      responds_to: _Unit | None) -> bool:
        """Whether the speaker of ``u`` asked or requested something in their turn before ``responds_to``."""
        if responds_to is None:
            return False
        me = turns[u.turn].speaker
        return any(x.question is not None for t in range(responds_to.turn - 1, max(-1, responds_to.turn - 5), -1)
                   if turns[t].speaker == me for x in all_units[t] if x.words)

    def _acknowledgement(self, p: ParsedTurn, u: _Unit, in_unit: list[Match], prev_unit: _Unit | None,
                         asked: bool, closing_near: bool, leading: bool, nxt: _Unit | None,
                         asked_before: bool) -> Move | None:
        """An acknowledgement, given that the unit is made only of backchannel tokens and fillers."""
        if prev_unit is None or len(u.words) > self.max_ack_words:
            return None
        acks = [m for m in in_unit if m.label == ACK]
        kinds = {m.entry.attributes.get("kind") for m in acks}
        if kinds & self._excluded_kinds and "thanks" not in kinds:
            return None  # "exactly.", "oh, wow.": an agreement or an assessment ("perfect, thanks" is a receipt)
        attrs = [m.entry.attributes for m in acks]
        # It answers or accepts: the partner's last unit asked or requested something.
        if any(a.get("answer") for a in attrs) and asked:
            return None
        if all(a.get("kind") == "thanks" for a in attrs) and not asked_before:
            return None  # thanks that receipts no answer thanks (or closes); it does not acknowledge
        if closing_near and all(a.get("closing") for a in attrs):
            return None
        agree_only = all(a.get("agree") for a in attrs)
        if agree_only and not leading:
            return None  # "…, yeah." after one's own talk: a turn exit or an agreement, not a backchannel
        if agree_only and nxt is not None:
            if all(a.get("agree") == "strong" for a in attrs):
                return None  # "Right, …" / "Yes, …" opening a longer turn: agreement
            if self._agreement_follows(p, nxt):
                return None  # "Yeah. Me too.": an agreement (SWBD-DAMSL aa)
        text = p.text[u.start:u.end].rstrip()
        ends_q = text.endswith("?")
        if ends_q and not any(a.get("form") == "question_form" for a in attrs):
            return None  # "right?", "okay?": asks for confirmation (a tag question), not a backchannel
        if any(m.entry.match == "token" for m in acks) and not (ends_q or any(p.lower[x] in {"oh", "really"} for x in u.words)):
            return None  # "it was," "you do": an elliptical echo is a backchannel only as a question or news receipt
        forms = [a.get("form", "continuer") for a in attrs]
        if "question_form" in forms or ends_q:
            form = "question_form"
        elif "receipt" in forms:
            form = "receipt"
        else:
            form = "continuer"
        cue = " ".join(p.text[m.start:m.end] for m in acks)
        return self.move(ACK, u.turn, u.start, u.end, cue=cue, target=prev_unit.turn, attributes={"form": form},
                         score=0.9 if len(u.words) <= 3 else 0.75)

    def _agreement_follows(self, p: ParsedTurn, v: _Unit) -> bool:
        """Whether unit ``v`` opens with a statement of agreement ("me too", "that's true", "it is")."""
        k = self._lead(p, v.words)
        if k >= len(v.words):
            return False
        at = p.starts[v.words[k]]
        found = self._unit_frames(p, v, "agreement")
        if len(v.words) <= 6:
            found += self._frames_tokens.find(p, v.start, v.end)
        for m in found:
            if m.start != at:
                continue
            if not m.entry.attributes.get("whole"):
                return True
            rest = [x for x in v.words if p.starts[x] >= m.end and p.lower[x] not in _LEAD and p.lower[x] not in {"you", "know"}]
            if not rest:
                return True
        return False

    def _repeat(self, p: ParsedTurn, u: _Unit, in_unit: list[Match], pt: int, q: ParsedTurn,
                prev_unit: _Unit, r: ParsedTurn, asked: bool, requested: bool) -> Move | None:
        """A repeat of the partner's words in turn ``pt`` (parse ``q``); ``prev_unit`` (parse ``r``)
        is the partner's last unit, which a backchannel may mimic."""
        if not q.words:
            return None
        if u.question in {"wh", "polar", "request"}:
            return None
        # an echo of at most max_repeat_words words, unless it may open the sentence (below)
        opens = not u.segmented and u.opening and len(q.words) <= 25 and not requested
        if not opens and len(u.words) - u.covered.count(True) > self.max_repeat_words:
            return None
        low = p.lower
        covered = u.covered  # in_unit is u.acks
        if False not in covered:  # no word besides backchannels
            if u.k != 0:
                return None  # (a mimic opens the turn: the first test of the next lines, taken first)
            # a backchannel echoing the partner's backchannel ("Yeah." after "Yeah,"): a mimic
            mine = [low[x] for x in u.words if low[x] not in _LEAD or low[x] in {"yeah", "okay", "ok", "right"}]
            theirs = [r.lower[x] for x in prev_unit.words if r.lower[x] not in _LEAD or r.lower[x] in {"yeah", "okay", "ok", "right"}]
            if not mine or mine != theirs or len(mine) > 2 or u.k != 0:
                return None
            if self._unit_frames(p, u, "closing"):
                return None  # "bye-bye" after "bye": a closing exchange, not a display of hearing
            rest = [x for x in u.words if low[x] in mine]
            attrs: dict[str, Any] = {"span": [r.starts[prev_unit.words[0]], r.end(prev_unit.words[-1])], "echo": "backchannel"}
            s, e = p.starts[rest[0]], p.end(rest[-1])
            return self.move(REPEAT, u.turn, s, e, cue=p.text[s:e], target=prev_unit.turn, attributes=attrs, score=0.4)
        # Every candidate below starts with the first word besides backchannels, which _echoes
        # needs to be found in the partner's turn: without it, there is no repeat.
        x = u.words[covered.index(False)]
        full = self.mode == "full" and bool(p.pos) and bool(q.pos)
        if not (low[x] in q.lower or (full and (low[x] in q.lemmas or p.lemmas[x] in q.lower or p.lemmas[x] in q.lemmas))):
            return None
        rest = [x for x, c in zip(u.words, covered) if not c]
        candidates = [rest]
        # in unsegmented text the echo may open a longer sentence ("one four, on my way"), only
        # where the turn opens with it, after a short partner turn, and naming something
        if opens:
            chunk: list[int] = []
            # (a chunk longer than max_repeat_words echoes nothing: no need to find where it ends)
            for x in rest[:self.max_repeat_words + 1]:
                chunk.append(x)
                if _boundary_after(p, x):
                    break
            nominal = not p.pos or any(p.pos[x] in {"NOUN", "PROPN", "NUM", "ADJ"} for x in chunk)
            if len(chunk) < len(rest) and nominal:
                candidates.append(chunk)
        for cand in candidates:
            if self._echoes(p, u, cand, q, asked):
                rest = cand
                break
        else:
            return None
        if self._unit_frames(p, u, "closing"):
            return None  # "bye-bye" after "bye": a closing exchange, not a display of hearing
        # where the echo sits in the partner's turn: the first occurrence of the first echoed word
        full = self.mode == "full" and bool(p.pos) and bool(q.pos)
        first = low[rest[0]]
        src = next((i for i in range(len(q.words)) if q.lower[i] == first or (full and q.lemmas[i] == p.lemmas[rest[0]])), None)
        attrs = {}
        if src is not None:
            last = low[rest[-1]]
            stop = next((i for i in range(src, len(q.words)) if q.lower[i] == last), src)
            attrs["span"] = [q.starts[src], q.end(stop)]
        s, e = p.starts[rest[0]], p.end(rest[-1])
        return self.move(REPEAT, u.turn, s, e, cue=p.text[s:e], target=pt, attributes=attrs, score=0.6)

    def _echoes(self, p: ParsedTurn, u: _Unit, rest: list[int], q: ParsedTurn, asked: bool) -> bool:
        """Whether words ``rest`` of unit ``u`` all echo the partner's turn ``q`` (and make a repeat)."""
        if len(rest) > self.max_repeat_words:
            return False
        if u.question is None and asked and u.opening:
            return False  # "Northern." after "Southern or Northern California?": an answer
        low = p.lower
        # a clause with a subject of its own ("I was in the military") says something new
        for a, b in pairwise(rest):
            if low[a] in _SUBJ and (low[b] in _AUX or low[b] in {"'s", "'re", "'m", "'ve", "'ll", "'d"}
                                    or (self.mode == "full" and p.pos and p.pos[b] in {"VERB", "AUX"})):
                return False
        full = self.mode == "full" and bool(p.pos) and bool(q.pos)
        q_lower, q_lemmas = q.lower, q.lemmas

        def known(w: str) -> bool:
            return w in q_lower or (full and w in q_lemmas)

        if not all(known(low[x]) or (full and known(p.lemmas[x])) for x in rest):
            return False
        return len(self._content(p, rest, adverbs=False)) >= self.repeat_min_content

    def _reformulation(self, p: ParsedTurn, u: _Unit, in_unit: list[Match], pt: int, q: ParsedTurn,
                       pt_units: list[_Unit], t: int, claimed: bool) -> Move | None:
        if u.question in {"wh", "polar", "request"}:
            return None
        k = u.lead if u.lead >= 0 else self._lead(p, u.words)
        if k >= len(u.words):
            return None
        lead_char = p.starts[u.words[k]]
        if lead_char == u.start and self._reform_heads is not None:
            # a frame can start only at the first real word: its first two letters must be a frame's
            head = p.text[lead_char:lead_char + 2]
            if head.isascii() and head.lower() not in self._reform_heads:
                return None
        if not self._reform.may_match(p.text, u.start, u.end, lead_char):
            return None  # no frame can start before the first real word
        frames = [m for m in self._reform.find(p, u.start, u.end) if u.start <= m.start <= lead_char]
        if not frames:
            return None
        frame = max(frames, key=lambda m: m.end - m.start)
        strong = frame.entry.attributes.get("strength") == "strong"
        if claimed and not strong:
            return None  # "so X?" checking one element: the clarification detector's restricted offer
        if not strong:
            # A weak frame ("so you…", "so it's…") also opens one's own explanations ("so you take
            # the features and…"): it needs the partner's words, right after the partner spoke.
            if not u.opening or pt != t - 1 or len(u.words) < 3:
                return None
            overlap = len(self._unit_content(p, u) & self._partner_content(q, pt_units))
            need = self.reformulation_min_overlap * (2 if frame.entry.pattern == "so the" else 1)
            # "so you travel a lot": the partner as the subject of a candidate understanding (not
            # the generic "you" of an explanation: "so you have to…", "so you take…")
            after = [x for x in u.words if p.starts[x] >= frame.end]
            addresses = (any(p.lower[x] in _SECOND for x in u.words if frame.start <= p.starts[x] < frame.end)
                         and bool(after) and p.lower[after[0]] not in _GENERIC_YOU)
            if overlap < need and not addresses:
                return None
        return self.move(REFORMULATION, u.turn, u.start, u.end, cue=p.text[frame.start:frame.end], target=pt,
                         attributes={"frame": "strong" if strong else "weak"}, score=0.6 if strong else 0.4)

    def _completion(self, p: ParsedTurn, u: _Unit, in_unit: list[Match], pt: int, q: ParsedTurn | None,
                    prev_unit: _Unit | None, t: int) -> Move | None:
        if q is None or prev_unit is None or not prev_unit.words or u.k != 0 or pt != t - 1:
            return None
        if len(u.words) > self.completion_max_words or u.question in {"wh", "polar", "request"}:
            return None
        last = prev_unit.words[-1]
        ptext = q.text[prev_unit.start:prev_unit.end].rstrip()
        # A word search ("it's German, schaden something"; "Paolo something") completed with the
        # word: the completion holds a word that starts like the one the partner left unfinished.
        if q.lower[last] in {"something", "somethin", "whatever", "whatsit", "thingy"} and len(prev_unit.words) >= 2:
            stem = q.lower[prev_unit.words[-2]].rstrip("-")
            if len(stem) >= 3 and any(p.lower[x].startswith(stem) for x in u.words):
                return self.move(COMPLETION, u.turn, u.start, u.end, cue=q.words[last], target=pt,
                                 attributes={"kind": "word_search"}, score=0.6)
        # Otherwise the partner stopped mid-syntax: a sentence that ends on an article,
        # preposition, conjunction, auxiliary or filler, with no final full stop.
        if ptext[-1:] in "?!.":
            return None
        open_end = q.lower[last] in _OPEN_END or (self.mode == "full" and bool(q.pos) and q.pos[last] in _OPEN_END_POS
                                                   and q.tags[last] != "RP")
        if not open_end:
            return None
        # this unit does not start a clause of its own (no subject pronoun up front)
        k = 0
        while k < len(u.words) and p.lower[u.words[k]] in {"uh", "um", "oh", "well"}:
            k += 1
        if k >= len(u.words):
            return None
        first = p.lower[u.words[k]]
        if first in _SUBJ | _NOT_COMPLETION_START or first.endswith("-"):
            return None  # a clause of its own, the speaker's own continuation, or a cut-off word
        if q.lower[last] in _SUBJ:
            return None  # "Well I," — the partner abandoned a clause of their own
        covered = u.covered  # in_unit is u.acks
        if covered[k] or all(covered):
            return None  # "True." "Yeah, …": a response, not a completion
        if self.mode == "full" and p.pos and p.pos[u.words[k]] in {"INTJ", "PRON", "AUX"}:
            return None
        return self.move(COMPLETION, u.turn, u.start, u.end, cue=q.words[last], target=pt,
                         attributes={"kind": "syntactic"}, score=0.4)

    def _follow_up(self, p: ParsedTurn, u: _Unit, pt: int, q: ParsedTurn, prev_unit: _Unit | None,
                   pt_units: list[_Unit]) -> Move | None:
        if u.question not in {"wh", "polar", "decl", "tag"} or prev_unit is None:
            return None
        if prev_unit.question in {"wh", "polar", "decl"} and u.k == 0:
            return None  # a question answering a question is a counter-question, not a follow-up
        k = u.lead if u.lead >= 0 else self._lead(p, u.words)
        head = u.words[k:]
        if not head:
            return None
        if self._unit_frames(p, u, "not_follow_up"):
            return None
        frames = self._unit_frames(p, u, "follow_up")
        overlap = self._unit_content(p, u) & self._partner_content(q, pt_units)
        low = p.lower
        anaphor = any(low[x] in _PRON_REF and (self.mode != "full" or not p.pos or p.pos[x] in {"PRON", "ADV", "DET"})
                      for x in head)
        short_why = len(head) <= 2 and low[head[0]] in {"why", "how"}
        # "how are your knees holding up?" after the partner's news: a wh-question about the
        # partner's own doings (second person) after a partner statement
        about_partner = (u.question == "wh" and prev_unit.question is None
                         and any(low[x] in _SECOND for x in head) and len(head) >= 3)
        if not (frames or short_why or len(overlap) >= self.follow_up_min_overlap or anaphor or about_partner):
            return None
        basis = ("frame" if frames or short_why else "overlap" if overlap else "reference" if anaphor else "partner")
        cue = (p.text[frames[0].start:frames[0].end] if frames else
               " ".join(sorted(overlap)) if overlap else p.text[u.start:u.end][:40])
        return self.move(FOLLOW_UP, u.turn, u.start, u.end, cue=cue, target=pt, attributes={"basis": basis}, score=0.5)


class _Closings:
    """Which turns hold closing cues ("bye", "nice talking"), looked for on first use.

    Closing cues close only in the last ``closing_window`` turns of a conversation (earlier they
    are talk about leaving), and only backchannels and repeats ask about them.
    """

    def __init__(self, det: GroundingDetector, parsed: Sequence[ParsedTurn], n: int) -> None:
        self.det = det
        self.parsed = parsed
        self.found: list[bool | None] = [None if t >= n - det.closing_window else False for t in range(n)]

    def at(self, t: int) -> bool:
        """Whether turn ``t`` holds closing cues near the end of the conversation."""
        found = self.found[t]
        if found is None:
            p = self.parsed[t]
            found = self.det._closing.may_match(p.text) and bool(self.det._frames_of(p, "closing"))
            self.found[t] = found
        return found

    def near(self, t: int) -> bool:
        """Whether turn ``t`` or one of the ``closing_lookahead`` turns after it holds closing cues."""
        return any(self.at(x) for x in range(len(self.found))[t:t + 1 + self.det.closing_lookahead])

    def starts(self, t: int) -> list[int]:
        """Where the closing cues of turn ``t`` start (none before the end of the conversation)."""
        return [m.start for m in self.det._frames_of(self.parsed[t], "closing")] if self.at(t) else []


class _Context:
    """All units in speaking order, to find what a unit responds to.

    Speaking order is start time where every unit is timed (overlapping speech in meetings),
    else turn order.
    """

    def __init__(self, all_units: Sequence[Sequence[_Unit]], turns: Sequence[Turn], horizon: int = 30) -> None:
        units = [u for us in all_units for u in us if u.words]
        if units and all(u.t0 is not None for u in units):
            units.sort(key=lambda u: (u.t0, u.turn, u.k))
        self.units = units
        self.pos = {id(u): i for i, u in enumerate(units)}
        self.speakers = [turns[u.turn].speaker for u in units]
        self.horizon = horizon

    def before(self, u: _Unit) -> tuple[_Unit | None, _Unit | None]:
        """The last unit by another speaker before ``u``, and the last one that is not a backchannel.

        The search passes over the speaker's own units until it meets another speaker, then over
        backchannels, and stops at the speaker's own talk again (returning the first found).
        """
        i = self.pos.get(id(u))
        if i is None:
            return None, None
        me = self.speakers[i]
        first: _Unit | None = None
        for j in range(i - 1, max(-1, i - 1 - self.horizon), -1):
            if self.speakers[j] == me:
                if first is not None:
                    break
                continue
            v = self.units[j]
            if first is None:
                first = v
            if not v.pure:
                return first, v
        return first, first


def _previous_partner(turns: Sequence[Turn]) -> list[int | None]:
    """For each turn, the index of the latest earlier turn by another speaker (None if there is none)."""
    out: list[int | None] = []
    latest: int | None = None
    latest_other: dict[str, int | None] = {}
    for t, turn in enumerate(turns):
        if latest is not None and turns[latest].speaker != turn.speaker:
            out.append(latest)
        else:
            # the same speaker again: the partner's turn before this run of turns
            out.append(latest_other.get(turn.speaker))
        latest_other[turn.speaker] = out[-1]
        latest = t
    return out


_BOUNDARY = frozenset({",", "!", ".", "?", ";", ":", "—", "–", "...", "!!", "?!", "??"})


def _boundary_after(p: ParsedTurn, x: int) -> bool:
    """Whether token ``x`` is followed by punctuation that can close a backchannel cluster."""
    return x + 1 < len(p.words) and p.words[x + 1] in _BOUNDARY and p.punct[x + 1]


def _cover(p: ParsedTurn, words: Sequence[int], matches: Sequence[Match]) -> list[bool]:
    """Which of ``words`` (ascending token indexes) lie inside some match span."""
    out = [False] * len(words)
    # Tokens do not overlap, so their starts and ends both ascend: the tokens inside a span are a
    # range, and so are the words among them.
    starts, ends = p.starts, p.ends
    for m in matches:
        a = bisect_left(words, bisect_left(starts, m.start))
        b = bisect_left(words, bisect_right(ends, m.end))
        if a < b:
            out[a:b] = [True] * (b - a)
    return out


def _position(m: Match) -> tuple[int, int]:
    """Sort key of matches: by start, longer first (as ``Matcher.find`` sorts)."""
    return m.start, -m.end


class _TokenSeqs:
    """Token-pattern entries made of lower-case words (``LOWER``, a word or ``IN`` words, each spec
    once or optional), as regular expressions over a turn's lower-case tokens joined by "\\x01":
    the matches :meth:`Matcher.find` gives for them, without a step in Python per token and spec.

    An entry's expression, tried at each token, takes a token for each spec (a spec's words, then
    the "\\x01" that ends a token), the optional ones greedily: the order in which ``Matcher.find``
    tries them, backtracking, so the first match is the same. The tokens of the search are those
    of the unit only (the joined string is cut there), as ``Matcher.find`` reads none after them.
    """

    def __init__(self, seqs: list[tuple[re.Pattern[str], Entry]]) -> None:
        self.seqs = seqs
        self._joined: tuple[ParsedTurn | None, str, list[int]] = (None, "", [])  # the last turn joined

    @classmethod
    def build(cls, entries: Sequence[Entry]) -> _TokenSeqs | None:
        """The expressions of ``entries`` (all token entries), or None where one is not of that kind."""
        seqs = []
        for e in entries:
            body = []
            if e.match != "token" or not e.pattern:
                return None
            for k, spec in enumerate(e.pattern):
                op = spec.get("OP")  # type: ignore[union-attr]
                want = spec.get("LOWER")  # type: ignore[union-attr]
                if set(spec) - {"LOWER", "OP"} or op not in (None, "?") or (k == 0 and op is not None):
                    return None  # another key, a repeated or excluded spec, or an optional first one
                if isinstance(want, str):
                    words: Sequence[Any] = (want,)
                elif isinstance(want, Mapping) and set(want) == {"IN"}:
                    words = tuple(want["IN"])
                else:
                    return None
                if not words or not all(isinstance(w, str) and w and "\x01" not in w for w in words):
                    return None
                alt = "(?:" + "|".join(map(re.escape, words)) + ")\x01"
                body.append(alt if op is None else f"(?:{alt})?")
            seqs.append((re.compile("\x01(?=(" + "".join(body) + "))"), e))
        return cls(seqs)

    def find(self, p: ParsedTurn, i: int, j: int) -> list[Match] | None:
        """The matches among tokens ``i`` to ``j`` of ``p``, sorted as ``Matcher.find`` sorts them
        (None where a token holds the separator)."""
        cached = self._joined  # (read once: another thread may replace it)
        if cached[0] is not p:
            lower = p.lower
            joined = "\x01" + "\x01".join(lower) + "\x01"
            # where each token starts in the joined string (and, last, its length)
            offs = list(map(add, accumulate(map(len, lower), initial=0), range(1, len(lower) + 2)))
            if joined.count("\x01") != len(lower) + 1:
                offs = []  # a token holds the separator: the matcher decides
            cached = self._joined = (p, joined, offs)
        _, joined, offs = cached
        if not offs:
            return None
        out: list[Match] = []
        starts, ends = p.starts, p.ends
        for rx, e in self.seqs:  # entry by entry, token by token: the order Matcher.find ties them in
            for m in rx.finditer(joined, offs[i] - 1, offs[j]):
                x = bisect_left(offs, m.start() + 1)
                out.append(Match(starts[x], ends[x + m.group(1).count("\x01") - 1], e))
        if len(out) > 1:
            out.sort(key=_position)
        return out

