"""CHAT transcripts (CHILDES, TalkBank ``.cha``): turns with clean text and gold self-repairs.

A CHAT file is headers (``@Begin``, ``@Participants:``, ``@ID:``, ``@End``…), main tiers
(``*CHI:<tab>text``) and dependent tiers (``%mor:``, ``%gra:``, ``%com:``…) below their main
tier; a line starting with a tab continues the tier above it. One file is one conversation, named
after the file; every main tier is a turn by its speaker code, and every role is human.

Conversation metadata: ``participants`` (code → ``name``, ``role`` and the ``@ID`` fields
``language``, ``corpus``, ``age``, ``sex``, ``group``, ``ses``, ``education``, ``custom``, where
given) and ``headers`` (every other header with a value; repeated headers become lists). Turn
metadata: ``tiers`` (dependent tier name → text, e.g. ``{"mor": …, "com": …}``), ``chat`` (the
main tier as transcribed), ``terminator`` and ``linkers`` (the CHAT codes), ``time_end``.

The turn text is the main tier with the CHAT codes removed:

- time bullets ``\\x15123_456\\x15`` → removed; the first gives the turn timestamp (seconds), the
  last its ``time_end``;
- fillers ``&-uh`` → ``uh`` (kept: fillers are the editing terms of self-repair); fragments
  ``&+fr`` → ``fr-`` (the orthographic cut-off); older ``&uh`` → ``uh``; events and interposed
  words (``&=laughs``, ``&*MOT:yeah``, ``&~babble``, ``&{l=…``) → removed;
- ``xxx``, ``yyy``, ``www`` (unintelligible, untranscribed) and ``0word`` (omitted) → removed;
- pauses ``(.)`` ``(..)`` ``(...)`` ``(1.5)``, scope brackets ``<`` ``>``, and every bracketed code
  (``[= …]``, ``[* …]``, ``[+ …]``, ``[: …]``, ``[!]``, ``[?]``, ``[>]``, ``[x 3]``…) → removed (so a
  ``[: target]`` replacement keeps the word as spoken);
- terminators → punctuation: ``+...`` → ``...``, ``+..?`` → ``...?``, ``+!?`` → ``?!``, any other
  question form → ``?``, ``!`` → ``!``, every other terminator (``.``, ``+/.``, ``+//.``, ``+"/.``…)
  → ``.``; linkers (``+<``, ``++``, ``+^``, ``+"``, ``+,``) → removed; ``‡`` and ``„`` → ``,``;
- inside words: ``@`` special-form suffixes (``dog@b`` → ``dog``), omitted parts in parentheses
  (``(be)cause`` → ``because``), compound and name joiners ``+`` and ``_`` → space, lengthening
  ``:`` and the CA prosody symbols → removed.

A turn with no word left (``xxx .``, ``0 [=! cries] .``) keeps its place with empty text, because
non-verbal and unintelligible turns still take the floor.

Retracings become gold ``repair.self`` moves (``detector="gold:cha"``, ``cue`` the code):
``[/]`` → ``kind="repetition"``, ``[//]`` → ``replacement``, ``[///]`` and ``[/-]`` (false start)
→ ``restart``; ``[/?]`` (retracing of unclear type) is not turned into a move. Attributes hold
character offsets ``[start, end]`` in the cleaned text:

- ``reparandum``: the ``<…>`` scope just before the code, or else the single word before it;
- ``repair`` (approximate): for repetitions and replacements, the next words up to the number of
  words in the reparandum (exact for repetitions; for replacements assumes an equal-length
  replacement), stopping at the end of the utterance; for restarts, the rest of the utterance;
- ``editing_term``: fillers between the code and the repair (``<the red> [//] &-uh the blue``).

The move spans from the reparandum's start to the end of the repair. Unintelligible words count
as words there but have no characters, so a reparandum or repair may be empty.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convmaint.errors import FormatError
from convmaint.io.base import ReadContext, Reader, iter_lines, strip_gz
from convmaint.io.build import RawTurn, make_conversation
from convmaint.io.registry import register_reader
from convmaint.model import Conversation, Move, Role

__all__ = ["ChaReader", "CleanUtterance", "clean_main_tier"]

DETECTOR = "gold:cha"
#: Retracing code → repair.self kind.
RETRACE_KINDS: dict[str, str] = {"/": "repetition", "//": "replacement", "///": "restart", "/-": "restart"}
_ID_FIELDS = ("language", "corpus", "code", "age", "sex", "group", "ses", "role", "education", "custom")
_UNINTELLIGIBLE = {"xxx", "yyy", "www", "xx", "yy"}
_OLD_FILLERS = {"uh", "um", "er", "erm", "ah", "eh", "mm", "hm", "uhm", "huh"}
# CA and CHAT symbols that mark prosody, overlap or lengthening inside words: not text.
_WORD_SYMBOLS = re.compile("[:^ˈˌ↑↓⇗↗→↘⇘∞≡∙⌈⌉⌊⌋∆∇°▁▔☺♋Ϋ∲§∾↻Ἡ≈≋≠ʔʕ¡¿‹›〔〕⁎()]")
_BULLET_TIMES = re.compile(r"(\d+)_(\d+)\x15$")
_TOKEN = re.compile(
    r"""(?P<bullet>\x15[^\x15]*\x15)
      | (?P<code>\[[^\]\n]*\])
      | (?P<pause>\((?:\.{1,3}|\d[\d:.]*)\))
      | (?P<plus>(?<!\S)\+[^\s\[\]\x15]*)
      | (?P<open><)
      | (?P<close>>)
      | (?P<word>[^\s<>\[\]\x15]+)""",
    re.X,
)
_MAIN = re.compile(r"\*([^:\s]+):(?:[ \t](.*))?$")
_DEPENDENT = re.compile(r"%([^:\s]+):(?:[ \t](.*))?$")


@dataclass
class _Pending:
    """A retracing whose repair is still being read."""

    kind: str
    code: str
    rep: tuple[int, int]  # token range of the reparandum
    need: int | None  # non-filler words the repair takes; None: the rest of the utterance
    count: int = 0
    repair: list[int] = field(default_factory=list)
    editing: list[int] = field(default_factory=list)

    def open(self) -> bool:
        return self.need is None or self.count < self.need


@dataclass
class CleanUtterance:
    """A main tier after cleaning: the text, its retracings and what the codes said."""

    text: str
    moves: list[dict[str, Any]]
    timestamp: float | None = None
    time_end: float | None = None
    terminator: str | None = None
    linkers: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _terminator_text(code: str) -> str:
    if code.startswith("+.."):
        return "...?" if "?" in code else "..."
    if "?" in code and "!" in code:
        return "?!"
    if "?" in code:
        return "?"
    if code == "!":
        return "!"
    return "."


def _clean_word(word: str) -> str:
    word = word.split("@", 1)[0]
    word = _WORD_SYMBOLS.sub("", word).replace("_", " ").replace("+", " ")
    return " ".join(word.split())


def clean_main_tier(tier: str) -> CleanUtterance:
    """Clean a CHAT main tier and find its retracings.

    Args:
        tier: The text after ``*SPK:<tab>``, continuation lines joined with spaces.

    Returns:
        The cleaned utterance; each move is a dict with ``kind``, ``code``, ``start``, ``end`` and
        ``reparandum``/``repair``/``editing_term`` spans in the cleaned text.

    Example:
        >>> u = clean_main_tier("I want <the red> [//] &-uh the blue ball .")
        >>> u.text
        'I want the red uh the blue ball.'
        >>> s, e = u.moves[0]["reparandum"]; u.text[s:e]
        'the red'
    """
    out: list[str] = []
    length = 0
    spans: list[tuple[int, int]] = []  # emitted words and fillers
    filler: list[bool] = []
    result = CleanUtterance(text="", moves=[])
    words_seen = 0  # non-filler words, kept or not: sizes reparanda that hold unintelligible words
    stack: list[tuple[int, int]] = []
    scope: tuple[int, int, int] | None = None  # (first token, end token, words) of a just-closed <…>
    last: tuple[int, int, int] | None = None  # the word before, in the same shape
    pending: list[_Pending] = []
    finished: list[_Pending] = []

    def emit(piece: str, attach: bool) -> tuple[int, int]:
        nonlocal length
        if out and not attach:
            out.append(" ")
            length += 1
        start = length
        out.append(piece)
        length += len(piece)
        return start, length

    def word(piece: str | None, is_filler: bool) -> None:
        nonlocal words_seen, scope, last
        scope = None
        idx = len(spans)
        if piece:
            spans.append(emit(piece, attach=False))
            filler.append(is_filler)
        if not is_filler:
            words_seen += 1
        last = (idx, len(spans), 0 if is_filler else 1)
        for p in pending:
            if not p.open():
                continue
            if is_filler and not p.repair and piece:
                p.editing.append(idx)
                continue
            if piece:
                p.repair.append(idx)
            if not is_filler:
                p.count += 1
        finished.extend(p for p in pending if not p.open())
        pending[:] = [p for p in pending if p.open()]

    for m in _TOKEN.finditer(tier):
        kind, tok = m.lastgroup, m.group()
        if kind == "bullet":
            times = _BULLET_TIMES.search(tok)
            if times:
                if result.timestamp is None:
                    result.timestamp = int(times.group(1)) / 1000
                result.time_end = int(times.group(2)) / 1000
        elif kind == "open":
            stack.append((len(spans), words_seen))
        elif kind == "close":
            if stack:
                first, seen = stack.pop()
                scope = (first, len(spans), words_seen - seen)
        elif kind == "code":
            body = tok[1:-1].strip()
            if body in RETRACE_KINDS:
                rng = scope or last
                if rng is None:
                    result.problems.append(f"retracing code {tok} with nothing before it; no gold move")
                    continue
                need = None if RETRACE_KINDS[body] == "restart" else max(1, rng[2])
                pending.append(_Pending(RETRACE_KINDS[body], tok, (rng[0], rng[1]), need))
        elif kind == "plus":  # terminators (+..., +/.) and linkers (+<, ++, +^)
            if any(c in tok for c in ".?!"):
                result.terminator = tok
                emit(_terminator_text(tok), attach=True)
            else:
                result.linkers.append(tok)
        elif kind == "word":
            if tok in {".", "?", "!"}:
                result.terminator = tok
                emit(_terminator_text(tok), attach=True)
            elif tok in {",", "‡", "„"}:
                if out:
                    emit(",", attach=True)
            elif tok.startswith("&-"):
                word(_clean_word(tok[2:]) or None, True)
            elif tok.startswith("&+"):
                frag = _clean_word(tok[2:])
                word(frag + "-" if frag else None, False)
            elif tok.startswith(("&=", "&*", "&{", "&}", "&~")):
                continue  # events and interposed words are not this speaker's words
            elif tok.startswith("&"):
                piece = _clean_word(tok[1:])
                word(piece or None, piece.lower() in _OLD_FILLERS)
            elif tok.startswith("0"):
                continue  # omitted word: not said
            elif tok.split("@", 1)[0].lower() in _UNINTELLIGIBLE:
                word(None, False)
            else:
                word(_clean_word(tok) or None, False)
        # pauses and other codes leave no text
    finished.extend(pending)
    text = "".join(out)
    if not any(c.isalnum() for c in text):
        result.text = ""
        return result
    result.text = text
    for p in sorted(finished, key=lambda p: p.rep):
        rep = _span(spans, p.rep[0], p.rep[1], length)
        repair = (spans[p.repair[0]][0], spans[p.repair[-1]][1]) if p.repair else (rep[1], rep[1])
        move: dict[str, Any] = {
            "kind": p.kind,
            "code": p.code,
            "start": rep[0],
            "end": max(rep[1], repair[1]),
            "reparandum": [rep[0], rep[1]],
            "repair": [repair[0], repair[1]],
        }
        if p.editing:
            move["editing_term"] = [spans[p.editing[0]][0], spans[p.editing[-1]][1]]
        result.moves.append(move)
    return result


def _span(spans: list[tuple[int, int]], a: int, b: int, length: int) -> tuple[int, int]:
    """Characters of tokens ``a..b``; an empty range sits where token ``a`` is (or at the end)."""
    if a < b:
        return spans[a][0], spans[b - 1][1]
    at = spans[a][0] if a < len(spans) else length
    return at, at


# ------------------------------------------------------------------------------------ reading


@dataclass
class _Tier:
    kind: str  # "@", "*" or "%"
    name: str
    text: str
    line: int


def _tiers(path: Path, ctx: ReadContext) -> Iterator[_Tier]:
    """Whole tiers with continuation lines joined; malformed lines are reported and skipped."""
    current: _Tier | None = None
    seen_first = False
    for lineno, line in iter_lines(path):
        if not line.strip():
            continue
        if not seen_first:
            seen_first = True
            if not line.startswith("@"):
                raise FormatError("not a CHAT file: expected headers (@UTF8, @Begin) first", path=path, line=lineno)
        if line[0] in "\t ":
            if current is None:
                ctx.report(FormatError("continuation line with no tier above it; it is left out", path=path, line=lineno))
            else:
                current.text = f"{current.text} {line.strip()}".strip()
            continue
        if current is not None:
            yield current
            current = None
        head = line[0]
        if head == "@":
            name, _, value = line[1:].partition(":")
            current = _Tier("@", name.strip(), value.strip(), lineno)
        elif head in "*%":
            m = (_MAIN if head == "*" else _DEPENDENT).match(line)
            if m is None:
                ctx.report(FormatError(f"malformed {'main' if head == '*' else 'dependent'} tier: expected "
                                       f"'{head}NAME:' and a tab; it is left out", path=path, line=lineno))
                continue
            current = _Tier(head, m.group(1), (m.group(2) or "").strip(), lineno)
        else:
            ctx.report(FormatError("not a CHAT line (expected @, *, % or a tab first); it is left out",
                                   path=path, line=lineno))
    if current is not None:
        yield current


@dataclass
class _Turn:
    speaker: str
    chat: str
    line: int
    tiers: dict[str, str] = field(default_factory=dict)


@register_reader
class ChaReader(Reader):
    name = "cha"
    description = "CHAT transcript (CHILDES/TalkBank .cha): clean text, participants, retracings as gold self-repairs"
    extensions = (".cha",)

    def sniff(self, path: Path, head: str) -> float:
        start = head.lstrip()[:2000]
        if start.startswith("@") and ("@Begin" in start or "@UTF8" in start):
            return 0.95
        return 0.5

    def read(self, path: Path, ctx: ReadContext) -> Iterator[Conversation]:
        participants: dict[str, dict[str, Any]] = {}
        headers: dict[str, Any] = {}
        turns: list[_Turn] = []
        ended = False
        last_line = 0
        for tier in _tiers(path, ctx):
            last_line = tier.line
            if ended:
                ctx.report(FormatError("content after @End; it is left out", path=path, line=tier.line))
                break
            if tier.kind == "@":
                if tier.name == "End":
                    ended = True
                else:
                    self._header(tier, participants, headers, path, ctx)
            elif tier.kind == "*":
                turns.append(_Turn(tier.name, tier.text, tier.line))
            elif turns:
                turns[-1].tiers.setdefault(tier.name, tier.text)
            else:
                ctx.report(FormatError(f"dependent tier %{tier.name} before any main tier; it is left out",
                                       path=path, line=tier.line))
        if not ended and last_line:
            ctx.report(FormatError("no @End header: the file may be truncated", path=path, line=last_line))
        raws: list[RawTurn] = []
        gold: list[Move] = []
        for t in turns:
            clean = clean_main_tier(t.chat)
            for problem in clean.problems:
                ctx.report(FormatError(problem, path=path, line=t.line, record=f"turn {len(raws)}"))
            meta: dict[str, Any] = {"chat": t.chat}
            if t.tiers:
                meta["tiers"] = t.tiers
            if clean.terminator:
                meta["terminator"] = clean.terminator
            if clean.linkers:
                meta["linkers"] = clean.linkers
            if clean.time_end is not None:
                meta["time_end"] = clean.time_end
            for mv in clean.moves:
                attrs = {k: mv[k] for k in ("kind", "reparandum", "repair", "editing_term") if k in mv}
                gold.append(Move(label="repair.self", turn=len(raws), start=mv["start"], end=mv["end"], cue=mv["code"],
                                 attributes=attrs, detector=DETECTOR))
            raws.append(RawTurn(speaker=t.speaker, text=clean.text, role=Role.HUMAN, timestamp=clean.timestamp,
                                metadata=meta, line=t.line))
        metadata: dict[str, Any] = {"participants": participants}
        if headers:
            metadata["headers"] = headers
        conv_id = Path(strip_gz(path)).stem
        # allow_empty: every turn is kept (untranscribed turns too), so gold turn indexes hold.
        conv = make_conversation(conv_id, raws, ctx, path=path, fmt="cha", metadata=metadata, gold=gold,
                                 line=turns[0].line if turns else None, allow_empty=True)
        if conv is not None:
            yield conv

    @staticmethod
    def _header(tier: _Tier, participants: dict[str, dict[str, Any]], headers: dict[str, Any],
                path: Path, ctx: ReadContext) -> None:
        if tier.name == "Participants":
            for item in tier.text.split(","):
                parts = item.split()
                if not parts:
                    continue
                entry = participants.setdefault(parts[0], {})
                if len(parts) >= 2:
                    entry["role"] = parts[-1]
                if len(parts) >= 3:
                    entry["name"] = " ".join(parts[1:-1])
        elif tier.name == "ID":
            fields = [f.strip() for f in tier.text.split("|")]
            if len(fields) < 3 or not fields[2]:
                ctx.report(FormatError("malformed @ID header: expected language|corpus|code|age|sex|…|role|…; "
                                       "it is left out", path=path, line=tier.line))
                return
            entry = participants.setdefault(fields[2], {})
            for name, value in zip(_ID_FIELDS, fields, strict=False):
                if value and name != "code":
                    entry.setdefault(name, value)
        elif tier.text:
            if tier.name in headers:
                prev = headers[tier.name]
                headers[tier.name] = [*prev, tier.text] if isinstance(prev, list) else [prev, tier.text]
            else:
                headers[tier.name] = tier.text
