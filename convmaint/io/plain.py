"""Plain-text transcripts: ``Speaker: text`` lines, one conversation per file (``.txt``, ``.transcript``).

Example::

    Interview with Dr. Smith, March 2021
    [00:00:05] Dr. Smith: Shall we start?
    [00:00:09] User 2: Yes.
    I have a question first.

    It is about the schedule.
    Dr. Smith (00:41): Go ahead.

Rules:

- A *speaker line* starts, in the first column, with an optional time (``[00:01:02]``,
  ``00:01:02``), a speaker name, an optional time in brackets (``A (12:03):``), a colon, and
  then whitespace or the end of the line. A name is at most 40 characters and 4 words of letters,
  digits and ``. - _ ' # @ & + /`` (``Dr. Smith``, ``User 2``, ``A``); it must not look like
  sentence text: the words after the first start with a capital or a digit (or are name particles
  such as ``van``, ``de``), and a name of digits only (``1:``) is a list item, not a speaker.
- Any other line — including an indented line, a blank line, and everything inside a ```` ``` ````
  code fence — continues the previous turn; blank lines inside a turn are kept, the turn's text is
  stripped at both ends.
- When the first two speaker names are role names (``User``, ``Human``, ``Assistant``, ``AI``,
  ``Bot``…), the file is a chat log and only role names start turns, so that a model's
  ``Note:`` or ``Step 1:`` lines stay inside its turn.
- Lines before the first speaker line (a title, a header) are kept in
  ``metadata["preamble"]``; a file with no speaker line at all is a :class:`FormatError`.
- Roles: a speaker whose name is a role name (case-insensitive key of
  :data:`~convmaint.io.base.ROLE_ALIASES`) has that role; other speakers get theirs from the role
  map (``ctx.roles``) and otherwise stay unknown.
- Times become the turn's ``timestamp`` in seconds (``h:mm:ss``; two fields are ``mm:ss``) and
  are kept as written in ``metadata["time"]``.
- The conversation id is the file stem.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from convmaint.errors import FormatError
from convmaint.io._json import file_stem
from convmaint.io.base import ROLE_ALIASES, ReadContext, Reader, iter_lines
from convmaint.io.build import RawTurn, make_conversation
from convmaint.io.registry import register_reader
from convmaint.model import Conversation

__all__ = ["PlainReader", "SpeakerLine", "parse_speaker_line"]

MAX_NAME = 40
MAX_WORDS = 4
_TIME = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
_LINE = re.compile(
    rf"(?:\[(?P<t1>{_TIME})\][ \t]*|(?P<t0>{_TIME})[ \t]+)?"
    rf"(?P<name>[^\s:][^:]{{0,{MAX_NAME - 1}}}?)"
    rf"(?:[ \t]*[(\[](?P<t2>{_TIME})[)\]])?"
    r"[ \t]*:(?:[ \t]+(?P<text>.*)|[ \t]*\Z)"
)
_NAME = re.compile(r"\w[\w .'’#@&+/-]*\Z")
_PARTICLES = frozenset({"van", "von", "de", "da", "del", "der", "den", "di", "du", "la", "le", "bin", "ibn", "al", "el"})
_FENCES = ("```", "~~~")
#: Sniffing looks at this many non-empty lines of the head.
_SNIFF_LINES = 400


@dataclass(frozen=True, slots=True)
class SpeakerLine:
    """A parsed speaker line: the speaker, the text after the colon and the time, if any."""

    speaker: str
    text: str
    time: str | None


def _valid_name(name: str) -> bool:
    words = name.split()
    if not words or len(name) > MAX_NAME or len(words) > MAX_WORDS or not _NAME.match(name):
        return False
    if not any(ch.isalpha() for ch in name):
        return False  # "1:", "2.3:" number list items and clock times
    if len(words) == 1:
        return True
    rest = words[1:]
    if all(w[0].isdigit() for w in rest):
        return True  # "user 2", "Speaker 1"
    if not (words[0][0].isupper() or words[0][0].isdigit()):
        return False
    return all(w[0].isupper() or w[0].isdigit() or w.lower() in _PARTICLES for w in rest)


def parse_speaker_line(line: str) -> SpeakerLine | None:
    """The speaker line ``line`` holds, or None when it is continuation text.

    Example:
        >>> parse_speaker_line("[00:01:02] Dr. Smith: Hello there.")
        SpeakerLine(speaker='Dr. Smith', text='Hello there.', time='00:01:02')
        >>> parse_speaker_line("Note that the ratio is 3:1.") is None
        True
    """
    m = _LINE.match(line)
    if m is None:
        return None
    name = " ".join(m["name"].split())
    if not _valid_name(name):
        return None
    return SpeakerLine(name, m["text"] or "", m["t1"] or m["t0"] or m["t2"])


def _seconds(time: str) -> float:
    fields = time.replace(",", ".").split(":")
    total = 0.0
    for f in fields:
        total = total * 60 + float(f)
    return total


def _is_role_name(name: str) -> bool:
    return name.lower() in ROLE_ALIASES


def _scan(lines: list[str]) -> list[tuple[int, SpeakerLine | None]]:
    """Classify lines (index, speaker line or None), honouring code fences."""
    out: list[tuple[int, SpeakerLine | None]] = []
    in_fence = False
    for i, line in enumerate(lines):
        if line.lstrip().startswith(_FENCES):
            in_fence = not in_fence
            out.append((i, None))
            continue
        out.append((i, None if in_fence else parse_speaker_line(line)))
    return out


@register_reader
class PlainReader(Reader):
    name = "plain"
    description = "Plain-text transcripts: 'Speaker: text' lines, one conversation per file"
    extensions = (".txt", ".transcript")

    def sniff(self, path: Path, head: str) -> float:
        lines = head.splitlines()
        if len(head) >= 65536 and lines:
            lines = lines[:-1]  # the last line may be cut short
        nonempty = [line for line in lines if line.strip()][:_SNIFF_LINES]
        names = [sl.speaker for _, sl in _scan(nonempty) if sl is not None]
        n = len(names)
        if n < 2:
            return 0.0
        distinct = {ROLE_ALIASES.get(x.lower(), x) for x in names}  # "User" and "Human" are one party
        if n >= 3 and len(distinct) == n:
            return 0.0  # every "speaker" once: a list of fields (Date:, Time:, Agenda:), not a dialogue
        frac = n / len(nonempty)
        if frac > 0.5:
            return round(0.5 + 0.4 * frac, 3)
        starts_with_speaker = any(sl is not None for _, sl in _scan(nonempty[:2]))
        if _is_role_name(names[0]) and sum(_is_role_name(x) for x in names) >= 2 and starts_with_speaker:
            return 0.5  # a chat log whose long model turns outnumber the speaker lines
        if starts_with_speaker and frac >= 0.2 and len(distinct) * 2 <= n:
            return 0.45  # few speakers taking many long turns
        return 0.0

    def read(self, path: Path, ctx: ReadContext) -> Iterator[Conversation]:
        lines = [line for _, line in iter_lines(path)]
        scanned = _scan(lines)
        found = [sl for _, sl in scanned if sl is not None]
        if not found:
            raise FormatError("no 'Speaker: text' lines found; expected lines like 'A: hello'", path=path)
        role_mode = len(found) >= 2 and _is_role_name(found[0].speaker) and _is_role_name(found[1].speaker)

        preamble: list[str] = []
        raws: list[RawTurn] = []
        body: list[str] = []
        for i, sl in scanned:
            if sl is not None and (not role_mode or _is_role_name(sl.speaker)):
                if raws:
                    raws[-1].text = "\n".join(body).strip()
                body = [sl.text]
                meta = {"time": sl.time} if sl.time else {}
                raws.append(RawTurn(
                    speaker=sl.speaker, text="", role=ROLE_ALIASES.get(sl.speaker.lower()),
                    timestamp=_seconds(sl.time) if sl.time else None, metadata=meta, line=i + 1,
                ))
            elif raws:
                body.append(lines[i])
            else:
                preamble.append(lines[i])
        raws[-1].text = "\n".join(body).strip()
        meta = {}
        if "\n".join(preamble).strip():
            meta["preamble"] = "\n".join(preamble).strip()
        conv = make_conversation(file_stem(path), raws, ctx, path=path, fmt=self.name, metadata=meta)
        if conv is not None:
            yield conv
