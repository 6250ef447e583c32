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

from collections.abc import Sequence
from typing import Literal

from convmaint.detect.base import Detector, Mode, register_detector, units
from convmaint.lexicon import LexiconSet, Match
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


class _Toks:
    """A turn's normalised lower-case words and punctuation flags, computed once per detect() call."""

    __slots__ = ("norm", "punct")

    def __init__(self, p: ParsedTurn) -> None:
        lower = p.lower
        joined = "".join(lower)
        # _norm() leaves every word as it is when the whole turn has no upper case and no ’
        # (lower-casing is per character but for a final sigma, itself upper case)
        if "\u2019" not in joined and joined.lower() == joined:
            self.norm: Sequence[str] = lower
        else:
            self.norm = [w.lower().replace("\u2019", "'") for w in lower]
        punct = getattr(p, "punct", None)  # the parse's cached column, where it has one
        self.punct: Sequence[bool] = punct if punct is not None else [p.is_punct(k) for k in range(len(lower))]


class _Ctx:
    """Per-turn context: the target turn, the partner's vocabulary and next turn.

    Only the target is computed up front; the rest on first use, since most units are not
    clarification requests and never look at the partner's vocabulary, requests or next turn.
    """

    __slots__ = ("_asked", "_conv", "_det", "_i", "_next_overlap", "_parsed", "_pre_announcement", "_prev", "_recent",
                 "_request", "_to_model", "_vocab", "punctuated", "target", "turn_role")

    def __init__(self, det: ClarificationDetector, conv: Conversation, parsed: Sequence[ParsedTurn], i: int,
                 punctuated: bool) -> None:
        self.target: int | None = None
        self.turn_role = conv.turns[i].role
        self.punctuated = punctuated
        self._det, self._conv, self._parsed, self._i = det, conv, parsed, i
        self._prev: list[int] = []
        self._vocab: frozenset[str] | None = None
        self._recent: frozenset[str] | None = None
        self._asked: bool | None = None
        self._to_model: bool | None = None
        self._request: bool | None = None
        self._next_overlap: bool | None = None
        self._pre_announcement: bool | None = None

    @property
    def vocab(self) -> frozenset[str]:
        """Content words of the target (and of the partner's last turn, when that was only an ack)."""
        if self._vocab is None:
            if self.target is None:
                self._vocab = frozenset()
            else:
                vocab = set(self._det._turn_content(self._parsed, self.target))
                if self._prev[0] != self.target:
                    vocab |= self._det._turn_content(self._parsed, self._prev[0])
                self._vocab = frozenset(vocab)
        return self._vocab

    @property
    def recent(self) -> frozenset[str]:
        """``vocab`` and the content words of the partner's last three turns."""
        if self._recent is None:
            recent = set(self.vocab)
            for k in self._prev[:3]:
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
                self._request = self._det._is_request(self._conv.turns[self.target], tp, to_model) or (
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
        for k, w in enumerate(p.words):
            if p.is_punct(k):
                continue
            n += 1
            if n > 3 or _norm(w) not in _ACKS:
                return False
        return True

    def _is_request(self, turn: Turn, p: ParsedTurn, to_model: bool) -> bool:
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
        ctx = _Ctx(self, conv, parsed, i, punctuated)
        speaker = conv.turns[i].speaker
        prev = [k for k in range(i - 1, max(-1, i - 6), -1) if conv.turns[k].speaker != speaker]
        if not prev:
            return ctx
        target = prev[0]
        if self._ack_only(parsed[target]):
            # "Yeah." then "what was the X you said?": the clarified talk is the partner's turn before
            earlier = [k for k in prev[1:] if conv.turns[k].speaker == conv.turns[target].speaker]
            if earlier and not self._ack_only(parsed[earlier[0]]):
                target = earlier[0]
        ctx.target = target
        ctx._prev = prev
        return ctx

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
        for i, turn in enumerate(conv.turns):
            p = parsed[i]
            if not len(p.words):
                continue
            # a request points back at the partner's turn: with none before, nothing to clarify
            ctx = self._context_for(conv, parsed, i, punctuated)
            if ctx.target is None:
                continue
            tok = self._tokens(parsed, i)
            punct, norm = tok.punct, tok.norm
            text = turn.text
            info = []
            all_words = question_words = 0
            for s, e in units(turn, p):
                ti, tj = p.tokens_in(s, e)
                toks = [k for k in range(ti, tj) if not punct[k]]
                core = self._core(toks, [norm[k] for k in toks])
                n_words = len(toks)
                qmark = "?" in text[s:e]
                info.append((s, e, core, n_words, qmark))
                all_words += n_words
                if qmark or self._interrogative(p, core, norm):
                    question_words += n_words
            if not any(x[2] for x in info):
                continue
            answer_words = all_words - question_words
            matches = self._cues.find(p)
            # Beyond the lexicon frames, every rule of _classify needs a "?", unpunctuated text, an
            # "or" (alternatives), an assistant's turn (specifications) or a closing question word.
            open_turn = not punctuated or "or" in norm or turn.role == Role.MODEL
            lead = 0
            for s, e, core, n_words, qmark in info:
                in_unit = [m for m in matches if m.start >= s and m.end <= e] if core and matches else []
                if core and (in_unit or qmark or open_turn
                             or (lead <= self.max_lead_words and norm[core[-1]] in _WH_FINAL)):
                    found = self._classify(p, s, e, core, qmark, lead, answer_words, ctx, in_unit, norm)
                    if found is not None:
                        fmt, about, cue, score, rule = found
                        attrs = {"format": fmt, "about": about}
                        if self._debug:
                            attrs["rule"] = rule
                        moves.append(self.move(LABEL, i, s, e, cue=cue, target=ctx.target,
                                               attributes=attrs, score=score))
                lead += n_words
        return moves

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
                  norm: Sequence[str] | None = None) -> tuple[str, str, str, float, str] | None:
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

        scoped = [m for m in matches if in_scope(m)]
        excluded = [m for m in scoped if m.label == "clarification.exclude"]
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
            rest = self._content(p, core[1], core[-1] + 1) if n > 1 else set()
            if n == 1 or (rest and rest <= ctx.recent) or low[1:] in (["one"], ["ones"]):
                about = "hearing" if low[0] == "what" else "reference"
                return "restricted_request", about, text[cs:ce], 0.7, "wh_fragment"
        # 4. "what's X?" / "who is X?" about words the partner just used
        if (at_start and qmark and 3 <= n <= 5 and low[0] in ("what", "who")
                and low[1] in ("'s", "is", "are", "was", "'re") and not self._has_verb(p, core[2:])):
            rest = set(self._content(p, core[2], core[-1] + 1))
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
        content = self._content(p, core[0], core[-1] + 1)
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
