"""Cue lexicons: TOML data files with provenance, validated on load, matched against parsed turns.

A lexicon file (``lexicons/<language>/<id>.toml``)::

    [lexicon]
    id = "backchannels"
    version = "1.0"
    language = "en"
    description = "Continuers and receipts"
    source = "Jurafsky, Shriberg & Biasca (1997), SWBD-DAMSL manual; Ward & Tsukahara (2000)"
    licence = "MIT"

    [[entries]]
    pattern = "uh-huh"                      # a phrase: matched case-insensitively on word boundaries
    label = "grounding.acknowledgement"     # a move label or a cue class (e.g. "editing_term")
    match = "phrase"
    attributes = { form = "continuer" }
    note = "the prototypical continuer"

    [[entries]]
    pattern = [{ LOWER = "which" }, { POS = "NOUN", OP = "?" }]   # a token pattern
    label = "clarification.cue"
    match = "token"

Token patterns use a subset of spaCy's Matcher language, evaluated on
:class:`~convmaint.nlp.base.ParsedTurn` so that they work with every backend: keys ``LOWER``,
``TEXT``, ``LEMMA``, ``POS``, ``TAG``, ``DEP``, ``IS_PUNCT``; values a string, ``{IN = [...]}``,
``{NOT_IN = [...]}`` or ``{REGEX = "..."}``; ``OP`` one of ``?``, ``*``, ``+``, ``!``. An empty
dict ``{}`` matches any token.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, AnyStr

from convmaint import _cache, _regex
from convmaint._cache import cache_dir  # noqa: F401 (re-exported: where lexicons are cached)
from convmaint.errors import LexiconError
from convmaint.model import FrozenDict, freeze

__all__ = ["Entry", "Lexicon", "LexiconSet", "Match", "Matcher", "load_lexicons"]

_HEADER_KEYS = ("id", "version", "language", "description", "source", "licence")
_TOKEN_KEYS = {"LOWER", "TEXT", "LEMMA", "POS", "TAG", "DEP", "IS_PUNCT", "OP"}
_OPS = {"?", "*", "+", "!"}


@dataclass(frozen=True, slots=True)
class Entry:
    """One lexicon entry."""

    pattern: str | tuple[Mapping[str, Any], ...]
    label: str
    match: str
    lexicon: str
    attributes: Mapping[str, Any] = field(default_factory=FrozenDict)
    note: str = ""
    source: str = ""

    @property
    def cue(self) -> str:
        if isinstance(self.pattern, str):
            return self.pattern
        return " ".join(str(next(iter(p.values()), "*")) for p in self.pattern)


@dataclass(frozen=True)
class Lexicon:
    """A validated lexicon file."""

    id: str
    version: str
    language: str
    description: str
    source: str
    licence: str
    entries: tuple[Entry, ...]
    path: str
    sha256: str

    @property
    def hash(self) -> str:
        """A short content hash, stamped into every output."""
        return self.sha256[:12]

    def info(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "language": self.language,
            "entries": len(self.entries),
            "hash": self.hash,
            "path": self.path,
            "source": self.source,
            "licence": self.licence,
        }


def _fail(path: Path, msg: str, entry: int | None = None) -> LexiconError:
    return LexiconError(msg, path=path, record=None if entry is None else f"entry {entry}")


def _validate_token_pattern(pattern: Any, path: Path, n: int) -> tuple[Mapping[str, Any], ...]:
    if not isinstance(pattern, list) or not pattern:
        raise _fail(path, "a token pattern must be a non-empty list of tables", n)
    for spec in pattern:
        if not isinstance(spec, Mapping):
            raise _fail(path, f"token spec {spec!r} is not a table", n)
        bad = set(spec) - _TOKEN_KEYS
        if bad:
            raise _fail(path, f"unknown token pattern key(s) {sorted(bad)}; expected {sorted(_TOKEN_KEYS)}", n)
        if "OP" in spec and spec["OP"] not in _OPS:
            raise _fail(path, f"OP must be one of {sorted(_OPS)}, got {spec['OP']!r}", n)
        for key, value in spec.items():
            if key == "OP":
                continue
            if isinstance(value, Mapping):
                if set(value) - {"IN", "NOT_IN", "REGEX"} or len(value) != 1:
                    raise _fail(path, f"{key}: expected one of IN, NOT_IN, REGEX, got {sorted(value)}", n)
                if "REGEX" in value:
                    try:
                        re.compile(value["REGEX"])
                    except re.error as exc:
                        raise _fail(path, f"{key}: bad REGEX {value['REGEX']!r}: {exc}", n) from None
                elif not isinstance(next(iter(value.values())), list):
                    raise _fail(path, f"{key}: IN / NOT_IN take a list", n)
            elif not isinstance(value, str | bool):
                raise _fail(path, f"{key}: expected a string, a boolean or a table, got {value!r}", n)
    return tuple(freeze(spec) for spec in pattern)


def load_lexicon(path: str | Path) -> Lexicon:
    """Load and validate one lexicon file.

    A file already loaded with the same bytes (by this process, or by an earlier run whose
    validated copy is in the cache folder, see :func:`cache_dir`) is not parsed again: parsing and
    validating the bundled TOML takes about 0.1 s, a tenth of a small run's own work
    (:func:`convmaint._cache.cache_dir` says where the cache is and how to move or disable it).

    Raises:
        LexiconError: naming the file and the entry that is wrong.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _fail(path, f"cannot read lexicon: {exc.strerror or exc}") from None
    key = _cache_key(path, raw)
    lex = _LOADED.get(key) or _read_cached(key)
    if lex is None:
        lex = _parse_lexicon(path, raw)
        _write_cached(key, lex)
    _LOADED[key] = lex
    return lex


#: Lexicons loaded by this process, by :func:`_cache_key`.
_LOADED: dict[str, Lexicon] = {}


def _cache_key(path: Path, raw: bytes) -> str:
    from convmaint._version import __version__

    # The version: a newer convmaint may validate or represent entries differently.
    return hashlib.sha256(f"{__version__}\0{path.resolve()}\0".encode() + raw).hexdigest()


def _read_cached(key: str) -> Lexicon | None:
    """The validated lexicon cached under ``key``, or None."""
    lex = _cache.read("lexicons", key)
    return lex if isinstance(lex, Lexicon) else None


def _write_cached(key: str, lex: Lexicon) -> None:
    _cache.write("lexicons", key, lex)


def _parse_lexicon(path: Path, raw: bytes) -> Lexicon:
    """Parse and validate the TOML ``raw`` read from ``path``."""
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise _fail(path, "lexicon is not UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise _fail(path, f"invalid TOML: {exc}") from None
    head = data.get("lexicon")
    if not isinstance(head, Mapping):
        raise _fail(path, "missing [lexicon] header table")
    missing = [k for k in _HEADER_KEYS if not str(head.get(k, "")).strip()]
    if missing:
        raise _fail(path, f"[lexicon] header lacks {', '.join(missing)} (all of {', '.join(_HEADER_KEYS)} are required)")
    entries_raw = data.get("entries")
    if not isinstance(entries_raw, list) or not entries_raw:
        raise _fail(path, "a lexicon needs at least one [[entries]] table")
    entries = []
    seen: set[tuple[str, str]] = set()
    for n, e in enumerate(entries_raw, start=1):
        if not isinstance(e, Mapping):
            raise _fail(path, "an entry must be a table", n)
        bad = set(e) - {"pattern", "label", "match", "attributes", "note", "source"}
        if bad:
            raise _fail(path, f"unknown entry key(s) {sorted(bad)}", n)
        label = e.get("label")
        if not isinstance(label, str) or not label.strip():
            raise _fail(path, "entry needs a non-empty 'label'", n)
        kind = e.get("match", "phrase")
        if kind == "phrase":
            pattern = e.get("pattern")
            if not isinstance(pattern, str) or not _normalise(pattern):
                raise _fail(path, "a phrase entry needs a non-empty string 'pattern'", n)
            key = (_normalise(pattern), label)
            if key in seen:
                raise _fail(path, f"duplicate phrase {pattern!r} for label {label!r}", n)
            seen.add(key)
        elif kind == "token":
            pattern = _validate_token_pattern(e.get("pattern"), path, n)
        else:
            raise _fail(path, f"match must be 'phrase' or 'token', got {kind!r}", n)
        attrs = e.get("attributes", {})
        if not isinstance(attrs, Mapping):
            raise _fail(path, "'attributes' must be a table", n)
        entries.append(
            Entry(pattern=pattern, label=label, match=kind, lexicon=str(head["id"]), attributes=freeze(attrs),
                  note=str(e.get("note", "")), source=str(e.get("source", "")) or str(head["source"]))
        )
    return Lexicon(
        id=str(head["id"]), version=str(head["version"]), language=str(head["language"]),
        description=str(head["description"]), source=str(head["source"]), licence=str(head["licence"]),
        entries=tuple(entries), path=str(path), sha256=hashlib.sha256(raw).hexdigest(),
    )


# ------------------------------------------------------------------------------------ matching

_WS_RE = re.compile(r"\s+")
# How a character of a normalised phrase is matched in text: any run of spaces for a space, either
# apostrophe for an apostrophe (other characters literally, case-insensitively).
_PHRASE_UNITS = {" ": r"\s+", "'": "['\u2019]"}


def _normalise(text: str) -> str:
    # Typographic apostrophes (common in typed chat) match the ASCII ones of the patterns.
    return _WS_RE.sub(" ", text.strip().lower().replace("\u2019", "'"))


@dataclass(frozen=True, slots=True)
class Match:
    """A lexicon hit: character span in the turn text and the entry that matched."""

    start: int
    end: int
    entry: Entry

    @property
    def label(self) -> str:
        return self.entry.label


def _token_ok(spec: Mapping[str, Any], parsed: Any, i: int) -> bool:
    for key, want in spec.items():
        if key == "OP":
            continue
        if key == "LOWER":
            have = parsed.lower[i]
        elif key == "TEXT":
            have = parsed.words[i]
        elif key == "LEMMA":
            have = parsed.lemmas[i]
        elif key == "POS":
            have = parsed.pos[i] if parsed.pos else ""
        elif key == "TAG":
            have = parsed.tags[i] if parsed.tags else ""
        elif key == "DEP":
            have = parsed.deps[i] if parsed.deps else ""
        else:  # IS_PUNCT
            if bool(want) != parsed.is_punct(i):
                return False
            continue
        if isinstance(want, Mapping):
            if "IN" in want:
                if have not in want["IN"]:
                    return False
            elif "NOT_IN" in want:
                if have in want["NOT_IN"]:
                    return False
            elif not re.search(want["REGEX"], have):
                return False
        elif have != want:
            return False
    return True


def _match_from(specs: Sequence[Mapping[str, Any]], parsed: Any, k: int, i: int, n: int) -> int | None:
    """Greedy-with-backtracking match of specs[k:] at token i; returns the end token or None."""
    if k == len(specs):
        return i
    spec = specs[k]
    op = spec.get("OP")
    if op == "!":
        if i < n and _token_ok(spec, parsed, i):
            return None
        return _match_from(specs, parsed, k + 1, i + 1, n) if i < n else None
    if op in ("*", "+", "?"):
        limit = 1 if op == "?" else n - i
        j = i
        while j < n and j - i < limit and _token_ok(spec, parsed, j):
            j += 1
        lowest = i + 1 if op == "+" else i
        for stop in range(j, lowest - 1, -1):
            end = _match_from(specs, parsed, k + 1, stop, n)
            if end is not None:
                return end
        return None
    if i < n and _token_ok(spec, parsed, i):
        return _match_from(specs, parsed, k + 1, i + 1, n)
    return None


def _lower_words(spec: Mapping[str, Any]) -> set[str] | None:
    """The lower-case words a token spec can match (None: any)."""
    want = spec.get("LOWER")
    if isinstance(want, str):
        return {want}
    if isinstance(want, Mapping) and "IN" in want:
        return set(want["IN"])
    return None


def trie_pattern(keys: Iterable[Iterable[AnyStr]], end: AnyStr) -> AnyStr:
    """One regular expression for keys given as sequences of regex units (escaped characters, or
    small patterns such as ``\\s+``), built as a trie: sibling branches start with different
    units, so the engine goes on with at most one of them, and a branch tries its longer
    continuations before ``end`` (a look-ahead, or empty) closes a key. That is the flat
    alternation's longest-key-first match, without trying every key at every position. Takes str
    or bytes units alike; ``keys`` must not be empty.
    """
    empty = end[:0]
    group, bar, close = ("(?:", "|", ")") if isinstance(end, str) else (b"(?:", b"|", b")")
    root: dict[Any, dict] = {}
    for key in keys:
        node = root
        for unit in key:
            node = node.setdefault(unit, {})
        node[empty] = {}

    def branch(node: dict[Any, dict]) -> Any:
        alts = [unit + branch(child) for unit, child in sorted(node.items()) if unit]
        if empty in node:
            alts.append(end)
        return alts[0] if len(alts) == 1 else group + bar.join(alts) + close

    return branch(root)


def _word_regex(word: str) -> str:
    """One word of a normalised phrase as the phrase regex matches it."""
    return "".join(_PHRASE_UNITS.get(ch) or re.escape(ch) for ch in word)


class Matcher:
    """Finds the entries of some lexicons in parsed turns (phrases by regex, token patterns by tokens).

    Built once (in a detector factory) and reused for every turn.
    """

    def __init__(self, entries: Iterable[Entry]) -> None:
        self.entries = tuple(entries)
        self._phrases: dict[str, list[Entry]] = {}
        self._token: list[Entry] = []
        for e in self.entries:
            if e.match == "phrase":
                self._phrases.setdefault(_normalise(e.pattern), []).append(e)  # type: ignore[arg-type]
            else:
                self._token.append(e)
        self._regex = self._compile(self._phrases)
        # The same trie without IGNORECASE, for ASCII text lower-cased (see find).
        self._lower_regex = (_regex.compile(self._regex.pattern)
                             if self._regex is not None and all(p.isascii() for p in self._phrases) else None)
        self._lowered: tuple[str, str] = ("", "")  # the last text find lower-cased, and its lower-case form
        self._hits: dict[str, tuple[Entry, ...]] = {}
        # Token patterns by the lower-case words they can start with, so that a turn's tokens are
        # looked up once instead of trying every pattern at every token; patterns that can start
        # with any word are tried everywhere.
        self._by_first: dict[str, list[int]] = {}
        self._anywhere: list[int] = []
        for k, e in enumerate(self._token):
            first = self._first_words(e.pattern)  # type: ignore[arg-type]
            if first is None:
                self._anywhere.append(k)
            else:
                for w in first:
                    self._by_first.setdefault(w, []).append(k)

    @staticmethod
    def _first_words(pattern: Sequence[Mapping[str, Any]]) -> frozenset[str] | None:
        spec = pattern[0]
        if spec.get("OP") in ("?", "*", "!"):
            return None
        words = _lower_words(spec)
        return None if words is None else frozenset(words)

    @staticmethod
    def _compile(phrases: Mapping[str, Any]) -> re.Pattern[str] | None:
        """One regex for all phrases, as a trie (prefixes shared).

        A flat alternation ``longest|…|shortest`` makes the regex engine try every phrase at every
        character (4-10 times slower over a large lexicon). In the trie, sibling branches start
        with different characters, so at most one can go on, and a branch tries its longer
        continuations before it ends: the same longest-phrase-first match as the flat alternation.
        """
        if not phrases:
            return None
        # Word edges: a phrase ends where no word character or apostrophe follows.
        body = trie_pattern(([_PHRASE_UNITS.get(ch) or re.escape(ch) for ch in p] for p in phrases), r"(?![\w'’])")
        return _regex.compile(r"(?<![\w'’-])" + body, re.IGNORECASE)

    def find(self, parsed: Any, start: int = 0, end: int | None = None) -> list[Match]:
        """All matches inside characters ``[start, end)`` of the parsed turn, sorted by position."""
        text = parsed.text
        end = len(text) if end is None else end
        out: list[Match] = []
        if self._regex is not None:
            entries_for = self._entries_for
            for m in self._phrase_hits(text, start, end):
                if m.end() > end:
                    continue
                for e in entries_for(m.group(0)):
                    out.append(Match(m.start(), m.end(), e))
        if self._token:
            i0, j0 = parsed.tokens_in(start, end)
            starts: list[tuple[int, int]] = []
            by_first = self._by_first
            if by_first:
                lower = parsed.lower
                for i in range(i0, j0):
                    for k in by_first.get(lower[i], ()):
                        starts.append((k, i))
            for k in self._anywhere:
                starts.extend((k, i) for i in range(i0, j0))
            # Entry by entry, token by token: the order the matches tie in when sorted below.
            starts.sort()
            token = self._token
            for k, i in starts:
                e = token[k]
                stop = _match_from(e.pattern, parsed, 0, i, j0)  # type: ignore[arg-type]
                if stop is not None and stop > i:
                    s, t = parsed.char_span(i, stop)
                    out.append(Match(s, t, e))
        out.sort(key=lambda m: (m.start, -m.end))
        return out

    def _phrase_hits(self, text: str, start: int, end: int) -> Iterator[re.Match[str]]:
        """The phrase trie's matches in ``text[start:end]`` (their group is the text matched, or its
        lower-case form)."""
        if self._lower_regex is not None and text.isascii():
            # For ASCII text and ASCII (lower-case) phrases, matching the lower-cased text
            # case-sensitively finds the same spans (lower() changes only A-Z there, no offset,
            # and no other ASCII character folds to a letter), about 40% faster: the engine can
            # skip a trie branch by its first character.
            if self._lowered[0] is not text:
                self._lowered = (text, text.lower())
            return self._lower_regex.finditer(self._lowered[1], start, end)
        return self._regex.finditer(text, start, end)  # type: ignore[union-attr]

    def phrase_spans(self, text: str) -> list[tuple[int, int, Entry]]:
        """The phrase matches :meth:`find` gives in the whole of ``text``, as ``(start, end, entry)``
        triples (token entries are not looked for); cheaper than :class:`Match` objects where most
        matches are looked at and dropped."""
        if self._regex is None:
            return []
        entries_for, out = self._entries_for, []
        for m in self._phrase_hits(text, 0, len(text)):
            s, e = m.span()
            out.extend((s, e, entry) for entry in entries_for(m.group()))
        return out

    def may_match(self, text: str, start: int = 0, end: int | None = None, last: int | None = None) -> bool:
        """A cheap necessary condition for :meth:`find`: whether the first two words of some phrase
        occur in ``text[start:end]``, starting at or before character ``last`` when given.

        A phrase matches where no word character, apostrophe or hyphen precedes it, so its first
        two words match there alike. Always True for a matcher with token entries or non-ASCII
        phrases (whose case folding this does not follow).
        """
        heads = self._heads
        if heads is None:
            return True
        first, head, longest = heads
        end = len(text) if end is None else end
        # a first word starting by ``last`` ends by ``last + longest``
        bound = end if last is None else min(end, last + longest)
        while (m := first.search(text, start, bound)) is not None and (last is None or m.start() <= last):
            if head.match(text, m.start(), end):
                return True
            start = m.start() + 1
        return False

    @cached_property
    def _heads(self) -> tuple[re.Pattern[str], re.Pattern[str], int] | None:
        """For :meth:`may_match`: the phrases' first words, their first two words, and the longest first word."""
        if self._token or not self._phrases or not all(p.isascii() for p in self._phrases):
            return None
        heads = {tuple(p.split(" ")[:2]) for p in self._phrases}
        firsts = sorted({h[0] for h in heads})
        first = _regex.compile(r"(?<![\w'’-])(?:" + "|".join(map(_word_regex, firsts)) + ")", re.IGNORECASE)
        head = _regex.compile("|".join(r"\s+".join(map(_word_regex, h)) for h in sorted(heads)), re.IGNORECASE)
        return first, head, max(map(len, firsts))

    @cached_property
    def token_pairs(self) -> frozenset[tuple[str, str]] | None:
        """The lower-case pairs of tokens the token entries can start with (a cheap necessary
        condition for a token match); None where a pattern can match one token only, or start
        with any token."""
        pairs: set[tuple[str, str]] = set()
        for e in self._token:
            specs = e.pattern
            if not specs or specs[0].get("OP") is not None:  # type: ignore[union-attr]
                return None
            firsts = _lower_words(specs[0])  # type: ignore[arg-type]
            seconds: set[str] = set()
            for spec in specs[1:]:  # the second token is the first that a later token spec takes
                words = _lower_words(spec)  # type: ignore[arg-type]
                if words is None or spec.get("OP") == "!":  # type: ignore[union-attr]
                    return None
                seconds |= words
                if spec.get("OP") in (None, "+"):  # type: ignore[union-attr]
                    break
            else:
                return None  # the pattern may end after its first token
            if firsts is None:
                return None
            pairs.update((a, b) for a in firsts for b in seconds)
        return frozenset(pairs)

    def may_match_tokens(self, parsed: Any) -> bool:
        """A cheap necessary condition for a token-entry match anywhere in the turn: some pattern
        has all its anchor words (see :attr:`_anchors`) in place. Always True when a pattern has
        no anchor word."""
        anchors = self._anchors
        if anchors is None:
            return True
        for pattern in anchors:
            if any(allowed.isdisjoint(parsed.lower if key == "LOWER" else parsed.words) for _, key, allowed in pattern):
                continue  # a word the pattern needs is not in the turn at all
            starts: set[int] | None = None
            for k, key, allowed in pattern:
                column = parsed.lower if key == "LOWER" else parsed.words
                here = {t - k for t, w in enumerate(column) if w in allowed}
                starts = here if starts is None else starts & here
                if not starts:
                    break
            if starts:
                return True
        return False

    @cached_property
    def _anchors(self) -> list[list[tuple[int, str, frozenset[str]]]] | None:
        """For each token entry, the words it requires at fixed offsets from its first token:
        ``(offset, "LOWER" or "TEXT", allowed)`` for each exact or ``IN`` word test before the first
        spec that may match a varying number of tokens (None when some entry has none)."""
        out = []
        for e in self._token:
            anchors = []
            for k, spec in enumerate(e.pattern):  # type: ignore[arg-type]
                if spec.get("OP") is not None:  # "!" is fixed-width but excludes; "?", "*", "+" vary
                    if spec.get("OP") != "!":
                        break
                    continue
                for key in ("LOWER", "TEXT"):
                    want = spec.get(key)
                    if isinstance(want, str):
                        anchors.append((k, key, frozenset({want})))
                    elif isinstance(want, Mapping) and "IN" in want:
                        anchors.append((k, key, frozenset(want["IN"])))
            if not anchors:
                return None
            out.append(anchors)
        return out

    def find_text(self, text: str) -> list[Match]:
        """Phrase matches in raw text (token entries are skipped): for baselines and fast paths."""
        if self._regex is None:
            return []
        entries_for = self._entries_for
        return [Match(m.start(), m.end(), e) for m in self._regex.finditer(text) for e in entries_for(m.group(0))]

    def _entries_for(self, hit: str) -> Sequence[Entry]:
        """The phrase entries a regex hit stands for (remembered by its exact text: hits repeat)."""
        found = self._hits.get(hit)
        if found is None:
            if len(self._hits) >= 65536:
                self._hits.clear()
            found = self._hits[hit] = tuple(self._phrases.get(_normalise(hit), ()))
        return found


class LexiconSet:
    """All loaded lexicons, by id; the provenance (ids, versions, hashes) of a run."""

    def __init__(self, lexicons: Iterable[Lexicon]) -> None:
        self.lexicons: dict[str, Lexicon] = {}
        for lex in lexicons:
            if lex.id in self.lexicons:
                raise LexiconError(f"lexicon id {lex.id!r} is defined twice (also in {self.lexicons[lex.id].path})", path=lex.path)
            self.lexicons[lex.id] = lex

    def __getitem__(self, lexicon_id: str) -> Lexicon:
        try:
            return self.lexicons[lexicon_id]
        except KeyError:
            raise LexiconError(f"no lexicon {lexicon_id!r}; loaded: {', '.join(sorted(self.lexicons))}") from None

    def __contains__(self, lexicon_id: object) -> bool:
        return lexicon_id in self.lexicons

    def entries(self, *, lexicons: Iterable[str] | None = None, labels: Iterable[str] | None = None) -> list[Entry]:
        ids = list(lexicons) if lexicons is not None else list(self.lexicons)
        wanted = set(labels) if labels is not None else None
        return [e for i in ids for e in self[i].entries if wanted is None or e.label in wanted]

    def matcher(self, *, lexicons: Iterable[str] | None = None, labels: Iterable[str] | None = None) -> Matcher:
        return Matcher(self.entries(lexicons=lexicons, labels=labels))

    @cached_property
    def hashes(self) -> dict[str, str]:
        return {i: lex.hash for i, lex in sorted(self.lexicons.items())}

    def info(self) -> list[dict[str, Any]]:
        return [lex.info() for _, lex in sorted(self.lexicons.items())]


def lexicon_paths(language: str = "en", extra: Iterable[str | Path] = ()) -> list[Path]:
    """Bundled lexicon files for ``language`` plus user files or folders in ``extra``."""
    from convmaint.resources import resource_dir

    paths = sorted((resource_dir("lexicons") / language).glob("*.toml"))
    for item in extra:
        p = Path(item)
        if p.is_dir():
            paths.extend(sorted(p.glob("*.toml")))
        elif p.exists():
            paths.append(p)
        else:
            raise LexiconError("no such lexicon file or folder", path=p)
    return paths


def load_lexicons(language: str = "en", extra: Iterable[str | Path] = ()) -> LexiconSet:
    """Load and validate the bundled lexicons (and user lexicons in ``extra``).

    User lexicons with the id of a bundled one replace it.

    Example:
        >>> lexset = load_lexicons()
        >>> "backchannels" in lexset  # doctest: +SKIP
        True
    """
    loaded: dict[str, Lexicon] = {}
    for path in lexicon_paths(language, extra):
        lex = load_lexicon(path)
        loaded[lex.id] = lex
    return LexiconSet(loaded.values())
