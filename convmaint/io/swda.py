"""Switchboard Dialog Act corpus (SwDA) ``.utt`` files, with dialogue-act and disfluency gold.

One ``.utt`` file is one telephone conversation between two people (all turns human). A header
block ends at a line of ``=``; then every non-blank line is an utterance::

    qy^d          B.2 utt1: [ [ I guess, +
    +          B.4 utt1: I think, ] + {F uh, } I wonder ] if that worked. /

Structure:

* **Turns** are runs of consecutive utterance lines with the same speaker-turn label (``A.1``,
  ``B.2``…); the label is the turn id. Turn text is the cleaned utterances joined by single spaces.
* **Segments**: every utterance line is a :class:`~convmaint.model.Segment` of its turn, with id
  ``<speaker>.<turn>.utt<n>`` (``B.2.utt1``) and ``metadata={"unit": …, "tag": …}``.
* **Units and the continuation rule**: a line tagged ``+`` (``+@``, ``+*``) continues the same
  speaker's previous, interrupted utterance, often across the partner's turn. It stays a segment
  of its own turn, but shares the *unit* of the piece it continues (unit id = id of the first
  piece) and inherits that piece's tag.

Text normalisation (markup is removed before a detector sees the text, else it leaks the answer):

* annotator comments ``*[[ … ]]`` go first (they contain ``[``, ``]`` and ``+``), then non-speech
  tokens ``<laughter>``, ``<<long pause>>``, ``</noise>``, ``<+ typo: … +>``;
* ``{F uh, }``, ``{D well, }``, ``{E I mean }``, ``{C and }``, ``{A … }``: the words are kept (people
  said them), the brace and its letter go; ``(( … ))`` (uncertain transcription) keeps its words;
* ``[``, ``+`` and ``]`` of disfluency brackets, ``#`` overlap marks, ``/`` slash-unit ends and
  ``-``/``--`` interruption marks are removed; word fragments (``s-``, ``th-``) are kept, since they
  were spoken;
* punctuation left alone by a removed token (``<laughter>.``) is attached to the previous word,
  or dropped when it has none.

Gold moves (``detector="gold:swda"``), per docs/MOVES.md:

* every segment piece gets one move per label its unit's tag maps to (see
  :data:`~convmaint.io.dialogue_acts.SWDA_MAP`), span = the segment, ``cue`` = the tag;
* every disfluency bracket ``[ reparandum + repair ]`` gives a ``repair.self`` move on the segment
  that holds its interruption point ``+``. Brackets nest and may span utterances and turns (a
  stack per speaker). Attributes: ``ip`` (offset of the interruption point in the turn text),
  ``depth`` (0 = outermost) and, when the whole bracket lies inside one segment, ``reparandum``,
  ``editing_term`` (filler, editing or discourse-marker words right after ``+``), ``repair`` as
  ``[start, end]`` turn offsets and a word-based ``kind`` (repetition, insertion, replacement,
  restart). Brackets without ``+`` give no move and a ``]`` with no open bracket is ignored; a
  ``+`` outside any bracket (its ``[`` was left out) still gives a move, with ``unbalanced: true``
  and no spans. All three are counted in ``metadata["disfluency_anomalies"]``.

Non-verbal turns: a turn whose text is empty after cleaning (only ``<Laughter>``, for instance) is
left out, because an empty turn breaks "the partner's previous turn" for detectors; its segments
and their gold are lost (counted in ``metadata["nonverbal_turns"]``, ``["nonverbal_segments"]`` and
``["nonverbal_units"]``, the units none of whose pieces is left). In the development data these are
almost all ``x`` (non-verbal) utterances.
An utterance that is empty inside a turn with text stays a zero-width segment, so its unit stays
reachable.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from convmaint.errors import FormatError
from convmaint.io.base import ReadContext, Reader, iter_lines
from convmaint.io.build import RawTurn, make_conversation
from convmaint.io.dialogue_acts import SWDA_MAP, labels_for
from convmaint.io.registry import register_reader
from convmaint.model import Conversation, FrozenDict, Move, Role, Segment

__all__ = ["SwdaReader", "clean_utterance"]

DETECTOR = "gold:swda"

_UTT = re.compile(
    r"^\s*(?P<tag>\S+)\s+(?P<at>@*)(?P<speaker>[A-Za-z])\.(?P<turn>\d+)\s+utt(?P<utt>\d+)\s*:(?P<text>.*)$"
)
_SEPARATOR = re.compile(r"^\s*={10,}\s*$")
_HEADER_FIELD = re.compile(r"^(?P<key>[A-Z][A-Z_#]*):\s*(?P<value>.*)$")

# "]]+" so that a comment ending in its own "]" ("*[[see [ x ]]]") leaves no stray bracket.
_COMMENT = re.compile(r"\*\[\[.*?\]\]+")
_NONSPEECH = re.compile(r"<<[^<>]*>>|<[^<>]*>")
# A "(" typed for "((" (it still closes with "))"); real parentheses such as "(A)" stay.
_HALF_PAREN = re.compile(r"(?<!\()\((?!\()(?=[^()]*\)\))")
# Markup tokens can be glued to words ("((the))", "that/", "#Okay"), so scan rather than split.
_TOKEN = re.compile(r"\{[A-Za-z]?|\}|\(\(|\)\)|\[|\]|\+|#|/|(?:(?!\(\(|\)\))[^\s{}\[\]+#/])+")
_PUNCT = ".,?!;:"
_ALNUM = re.compile(r"[^\W_]")
#: Brace letters whose words, right after ``+``, form the editing phase of a repair.
_EDITING_BRACES = frozenset("EFD")


@dataclass
class _Piece:
    """One utterance line after cleaning."""

    seg_id: str
    unit: str
    tag: str
    group: int  # index of the speaker turn (run of one turn label) it belongs to
    words: list[str] = field(default_factory=list)
    braces: list[str | None] = field(default_factory=list)  # innermost {X of each word
    start: int = 0  # offset of the piece in its turn text, set when the turn is assembled

    @property
    def text(self) -> str:
        return " ".join(self.words)

    @property
    def length(self) -> int:
        return sum(map(len, self.words)) + len(self.words) - 1 if self.words else 0

    def attach(self, punct: str) -> None:
        if self.words and self.words[-1][-1:] not in _PUNCT:
            self.words[-1] += punct

    def word_start(self, idx: int) -> int:
        """Piece-local offset of word ``idx`` (only brackets need offsets, so none are kept)."""
        return sum(map(len, self.words[:idx])) + idx

    def word_end(self, idx: int) -> int:
        return self.word_start(idx) + len(self.words[idx])

    def offset_before(self, idx: int) -> int:
        """Piece-local offset of the point before word ``idx`` (right after word ``idx - 1``)."""
        return self.word_end(idx - 1) if idx > 0 else 0


@dataclass
class _Bracket:
    """A disfluency bracket ``[ reparandum + repair ]`` as it is being read."""

    opened: tuple[_Piece, int] | None  # None: a "+" whose "[" is missing
    depth: int
    ips: list[tuple[_Piece, int]] = field(default_factory=list)
    closed: tuple[_Piece, int] | None = None


@dataclass
class _SpeakerState:
    """Per-speaker markup state: brackets and braces can span that speaker's utterances."""

    brackets: list[_Bracket] = field(default_factory=list)
    braces: list[str | None] = field(default_factory=list)
    last_piece: _Piece | None = None


def clean_utterance(text: str) -> str:
    """The words of one SwDA utterance with all transcription markup removed.

    Args:
        text: The text part of an utterance line.

    Returns:
        The cleaned text (words joined by single spaces; may be empty).

    Example:
        >>> clean_utterance("{D Well, } [ I, + I ] think so <laughter>. /")
        'Well, I, I think so.'
    """
    piece = _Piece("u", "u", "", 0)
    _scan(text, piece, _SpeakerState(), [], None)
    return piece.text


def _scan(text: str, piece: _Piece, state: _SpeakerState, brackets_out: list[_Bracket], anomalies: dict | None) -> None:
    """Clean ``text`` into ``piece``'s words and update the speaker's bracket and brace stacks."""
    text = _HALF_PAREN.sub(" ", _NONSPEECH.sub(" ", _COMMENT.sub(" ", text)))
    braces = state.braces
    words, word_braces = piece.words, piece.braces
    for tok in _TOKEN.findall(text):
        if tok[0].isalnum() and not tok.endswith("--"):  # the common case: a plain word
            words.append(tok)
            word_braces.append(braces[-1] if braces else None)
            continue
        first = tok[0]
        if first == "{":
            braces.append(tok[1:] or None)
        elif tok == "}":
            if braces:
                braces.pop()
        elif tok == "[":
            bracket = _Bracket(opened=(piece, len(piece.words)), depth=len(state.brackets))
            state.brackets.append(bracket)
            brackets_out.append(bracket)
        elif tok == "+":
            if state.brackets:
                state.brackets[-1].ips.append((piece, len(piece.words)))
            else:
                # Outside comments "+" only marks interruption points: the "[" was left out.
                brackets_out.append(_Bracket(opened=None, depth=0, ips=[(piece, len(piece.words))]))
                if anomalies is not None:
                    anomalies["ip_outside_bracket"] += 1
        elif tok == "]":
            if state.brackets:
                state.brackets.pop().closed = (piece, len(piece.words))
            elif anomalies is not None:
                anomalies["unopened_close"] += 1
        elif tok in ("((", "))", "#", "/"):
            continue
        else:
            word = tok
            # "--" glued to a word is an interruption mark; a single trailing "-" is a fragment.
            if word.startswith("--"):
                word = word.lstrip("-")
            if word.endswith("--"):
                word = word.rstrip("-")
            if not _ALNUM.search(word):
                # Punctuation orphaned by a removed token ("<laughter>.") or a bare "-"/"--" mark.
                punct = [ch for ch in word if ch in _PUNCT]
                if punct:
                    piece.attach(punct[0])
                continue
            words.append(word)
            word_braces.append(braces[-1] if braces else None)


@lru_cache(maxsize=1024)
def _tag_labels(tag: str) -> tuple[str, ...]:
    return tuple(sorted(labels_for(tag, SWDA_MAP)))


def _norm_words(words: list[str]) -> list[str]:
    out = []
    for w in words:
        w = re.sub(r"[^\w'-]", "", w.lower()).strip("-")
        if w:
            out.append(w)
    return out


def _is_subsequence(short: list[str], long: list[str]) -> bool:
    it = iter(long)
    return all(w in it for w in short)


def _repair_kind(reparandum: list[str], repair: list[str]) -> str:
    rep, fix = _norm_words(reparandum), _norm_words(repair)
    if not fix:
        return "restart"
    if rep == fix:
        return "repetition"
    if len(fix) > len(rep) and _is_subsequence(rep, fix):
        return "insertion"
    return "replacement"


def _parse_header(lines: list[str]) -> dict[str, str]:
    meta: dict[str, str] = {}
    key = None
    for line in lines:
        m = _HEADER_FIELD.match(line.strip())
        if m:
            key = m.group("key").rstrip("#").lower()
            meta[key] = m.group("value").strip()
        elif key is not None and line.strip() and not line.lstrip().startswith("*x*"):
            # REMARKS run over several lines.
            meta[key] = f"{meta[key]} {line.strip()}".strip()
    return meta


@register_reader
class SwdaReader(Reader):
    """Reads SwDA ``.utt`` files: one conversation each, with segments, units and gold moves."""

    name = "swda"
    description = "Switchboard Dialog Act corpus .utt files (dialogue-act tags and disfluency gold)"
    extensions = (".utt",)

    def sniff(self, path: Path, head: str) -> float:
        lines = head.splitlines()[:400]
        if any(_UTT.match(line) for line in lines):
            return 0.95
        if any(line.startswith("FILENAME:") for line in lines) and any(_SEPARATOR.match(line) for line in lines):
            return 0.6
        return 0.0

    def read(self, path: Path, ctx: ReadContext) -> Iterator[Conversation]:
        conv = self._read_file(path, ctx)
        if conv is not None:
            yield conv

    def _read_file(self, path: Path, ctx: ReadContext) -> Conversation | None:
        stem = path.name[:-3] if path.name.lower().endswith(".gz") else path.name
        stem = stem.rsplit(".", 1)[0]
        header: list[str] = []
        in_header = True
        pieces: list[_Piece] = []
        groups: list[tuple[str, str, int]] = []  # (speaker, turn label, first line)
        states: dict[str, _SpeakerState] = {}
        brackets: list[_Bracket] = []
        anomalies = {"ip_outside_bracket": 0, "unopened_close": 0}
        seg_ids: set[str] = set()
        conv_id = stem
        header_meta: dict[str, str] | None = None
        for lineno, line in iter_lines(path):
            if in_header:
                if _SEPARATOR.match(line):
                    in_header = False
                    continue
                if not _UTT.match(line):
                    header.append(line)
                    continue
                in_header = False  # a file without a header block starts with its utterances
            if header_meta is None:
                header_meta = _parse_header(header)
                conv_id = header_meta.get("filename") or stem
            if not line.strip():
                continue
            m = _UTT.match(line)
            if m is None:
                # The line itself is not quoted: error messages never carry transcript text.
                ctx.report(FormatError(
                    "not an utterance line; expected 'TAG  A.1 utt1: text' (tag, speaker.turn, utterance number)",
                    path=path, line=lineno, record=conv_id))
                continue
            speaker, label = m.group("speaker"), f"{m.group('speaker')}.{m.group('turn')}"
            if not groups or groups[-1][:2] != (speaker, label):
                groups.append((speaker, label, lineno))
            seg_id = f"{label}.utt{m.group('utt')}"
            if seg_id in seg_ids:
                seg_id = f"{seg_id}#{lineno}"  # a few files repeat a label; ids must stay unique
            seg_ids.add(seg_id)
            state = states.setdefault(speaker, _SpeakerState())
            tag = m.group("tag")
            unit, unit_tag = seg_id, tag
            if tag.startswith("+"):
                if state.last_piece is not None:
                    unit, unit_tag = state.last_piece.unit, state.last_piece.tag
                else:
                    ctx.report(FormatError(
                        f"continuation '{tag}' of speaker {speaker} has no earlier utterance to continue; "
                        "it is kept as a unit of its own", path=path, line=lineno, record=f"{conv_id}/{seg_id}"))
            else:
                # Braces never outlive an utterance except into its continuation.
                state.braces.clear()
            piece = _Piece(seg_id, unit, unit_tag, len(groups) - 1)
            _scan(m.group("text"), piece, state, brackets, anomalies)
            state.last_piece = piece
            pieces.append(piece)
        if not pieces:
            raise FormatError("no utterance lines (expected 'tag  A.1 utt1: text' after the header)", path=path)
        return self._build(path, ctx, conv_id, header_meta or {}, groups, pieces, brackets, anomalies)

    def _build(
        self,
        path: Path,
        ctx: ReadContext,
        conv_id: str,
        header_meta: dict[str, str],
        groups: list[tuple[str, str, int]],
        pieces: list[_Piece],
        brackets: list[_Bracket],
        anomalies: dict[str, int],
    ) -> Conversation | None:
        by_group: list[list[_Piece]] = [[] for _ in groups]
        for p in pieces:
            by_group[p.group].append(p)
        raw_turns: list[RawTurn] = []
        turn_of_group: dict[int, int] = {}
        lost_turns = lost_segments = 0
        for g, members in enumerate(by_group):
            speaker, label, first_line = groups[g]
            pos = 0
            for p in members:
                if p.words:
                    if pos:
                        pos += 1
                    p.start = pos
                    pos += p.length
                else:
                    p.start = pos  # zero-width segment: the unit stays reachable
            text = " ".join(p.text for p in members if p.words)
            if not text:
                lost_turns += 1
                lost_segments += len(members)
                continue
            segments = tuple(
                Segment(id=p.seg_id, start=p.start, end=p.start + p.length,
                        metadata=FrozenDict(unit=p.unit, tag=p.tag))
                for p in members
            )
            turn_of_group[g] = len(raw_turns)
            raw_turns.append(RawTurn(speaker=speaker, text=text, role=Role.HUMAN, id=label,
                                     segments=segments, line=first_line))
        gold = self._gold(pieces, brackets, turn_of_group)
        metadata = {
            **{k: v for k, v in header_meta.items() if k != "filename"},
            "file": path.name,
            "nonverbal_turns": lost_turns,
            "nonverbal_segments": lost_segments,
            # A unit is lost only when none of its pieces is in a kept turn.
            "nonverbal_units": len({p.unit for p in pieces} - {p.unit for p in pieces if p.group in turn_of_group}),
            "disfluency_anomalies": {**anomalies, "no_ip": sum(1 for b in brackets if not b.ips)},
        }
        return make_conversation(conv_id, raw_turns, ctx, path=path, fmt="swda", metadata=metadata, gold=gold, corpus="swda")

    def _gold(self, pieces: list[_Piece], brackets: list[_Bracket], turn_of_group: dict[int, int]) -> list[Move]:
        gold: list[Move] = []
        for p in pieces:
            turn = turn_of_group.get(p.group)
            if turn is None:
                continue
            end = p.start + p.length
            labels = _tag_labels(p.tag)
            if labels:
                attrs = FrozenDict(unit=p.unit, tag=p.tag)
                for label in labels:
                    gold.append(Move(label=label, turn=turn, start=p.start, end=end, cue=p.tag,
                                     attributes=attrs, detector=DETECTOR))
        for b in brackets:
            for ip_piece, ip_idx in b.ips:
                turn = turn_of_group.get(ip_piece.group)
                if turn is None:
                    continue
                gold.append(self._repair_move(b, ip_piece, ip_idx, turn))
        gold.sort(key=lambda m: (m.turn, m.start, m.end, m.label))
        return gold

    @staticmethod
    def _repair_move(b: _Bracket, p: _Piece, ip_idx: int, turn: int) -> Move:
        end = p.start + p.length
        attrs: dict = {"unit": p.unit, "tag": p.tag, "ip": p.start + p.offset_before(ip_idx), "depth": b.depth}
        cue = None
        if b.opened is None:
            attrs["unbalanced"] = True
        elif b.closed is not None and b.opened[0] is p and b.closed[0] is p and len(b.ips) == 1:
            open_idx = b.opened[1]
            close_idx = b.closed[1]
            rep_words = p.words[open_idx:ip_idx]
            k = ip_idx
            while k < close_idx and p.braces[k] in _EDITING_BRACES:
                k += 1
            fix_words = p.words[k:close_idx]

            def span(i: int, j: int) -> tuple[int, int]:
                if j > i:
                    return (p.start + p.word_start(i), p.start + p.word_end(j - 1))
                at = p.start + p.offset_before(i)
                return (at, at)

            attrs["reparandum"] = span(open_idx, ip_idx)
            if k > ip_idx:
                attrs["editing_term"] = span(ip_idx, k)
            attrs["repair"] = span(k, close_idx)
            attrs["kind"] = _repair_kind(rep_words, fix_words)
            cue = " ".join(p.words[open_idx:close_idx]) or None
        # Already frozen (spans are tuples), so the model does not deep-copy it again.
        return Move(label="repair.self", turn=turn, start=p.start, end=end, cue=cue,
                    attributes=FrozenDict(attrs), detector=DETECTOR)
