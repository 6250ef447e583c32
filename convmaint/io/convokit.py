"""ConvoKit corpus folders: a streaming reader and an atomic writer.

A ConvoKit corpus is a folder::

    utterances.jsonl     one utterance per line: id, speaker, conversation_id, reply-to,
                         timestamp, text, meta (and vectors, ignored)
    speakers.json        {speaker id: {"meta": {...}, "vectors": []}}  (older: {id: {...meta}})
    conversations.json   {conversation id: {"meta": {...}, "vectors": []}}  (older: {id: {...}})
    corpus.json          corpus-level metadata
    index.json           metadata type index

Reading (:class:`ConvokitReader`):

- One :class:`~convmaint.model.Conversation` per ``conversation_id`` (older corpora: ``root``;
  an utterance with neither and no reply-to is its own conversation root). Conversations come in
  order of first appearance; turns in file order. With the option ``order="timestamp"`` the turns
  of a conversation are sorted (stably) by timestamp when every turn has one.
- Memory stays bounded by one conversation plus a small index, never the whole file. The reader
  makes two passes over ``utterances.jsonl``: an index pass that keeps, per conversation id, the
  byte offsets of its *runs* of consecutive lines, then a reading pass that groups each
  conversation's runs. For the usual contiguous file every conversation is one run and the reading
  pass is sequential; for an interleaved file it seeks to each run (slow for an interleaved
  ``utterances.jsonl.gz``, where seeking back decompresses again: unpack it first). The option
  ``contiguous=True`` skips the index pass (one pass, grouped on the fly) and reports a
  :class:`~convmaint.errors.FormatError` for each utterance whose conversation already ended.
- Roles, first match wins: the utterance's ``meta.role`` (written by :func:`write_convokit`), the
  speaker's ``meta.role`` or ``meta.speaker_role`` in ``speakers.json`` (option ``role_key`` names
  another key), then the role map. An unknown role name is reported once per speaker or utterance
  as a :class:`~convmaint.errors.RoleError`, and the role map decides.
- Conversation metadata comes from ``conversations.json`` (a ``format`` key there is kept as
  ``source_format``), with ``corpus.json`` under ``convokit_corpus`` when it is not empty.
- Utterance ``meta`` becomes turn metadata, less the keys convmaint itself writes (``role`` and
  ``convmaint_*``). A timestamp that is not a number is kept as ``metadata["timestamp_raw"]``.
- A bad line (invalid JSON, not an object, bad encoding, no conversation id) is reported with the
  path and line and left out; a missing or invalid ``utterances.jsonl``, ``speakers.json`` or
  ``conversations.json`` as a whole raises.

``speakers.json`` and ``conversations.json`` are single JSON objects and are read whole; of the
speakers only the role is kept.

Writing (:func:`write_convokit`) produces the ConvoKit 3.x layout above (ConvoKit 2.x and later
read it), streaming ``utterances.jsonl`` and ``conversations.json``, into a temporary folder whose
files are then renamed into place.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from convmaint._version import __version__
from convmaint.errors import ConfigError, ConvmaintError, EncodingError, FormatError, ReaderError, RoleError
from convmaint.io.base import ReadContext, Reader, json_loads, parse_role, read_text
from convmaint.io.build import RawTurn, make_conversation
from convmaint.io.native import move_from_dict, move_to_dict
from convmaint.io.registry import register_reader
from convmaint.model import Conversation, Move, Role, Segment, freeze, thaw

__all__ = ["ConvokitReader", "write_convokit"]

UTTERANCES = "utterances.jsonl"
#: Utterance meta keys convmaint writes and reads back into Turn fields (not turn metadata).
_TURN_ID_KEY = "convmaint_turn_id"
_GOLD_KEY = "convmaint_gold"
_MOVES_KEY = "convmaint_moves"
_SEGMENTS_KEY = "convmaint_segments"
_SPEAKER_ROLE_KEYS = ("role", "speaker_role")


@dataclass
class _Run:
    """Consecutive lines of one conversation: where they start and how many lines they span."""

    offset: int
    line: int
    n_lines: int


def _utterances_path(folder: Path) -> Path | None:
    for name in (UTTERANCES, UTTERANCES + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def _open(path: Path) -> IO[bytes]:
    try:
        if path.name.endswith(".gz"):
            return gzip.open(path, "rb")  # type: ignore[return-value]
        return open(path, "rb")
    except OSError as exc:
        raise ReaderError(f"cannot open file: {exc.strerror or exc}", path=path) from None


def _conversation_id(rec: Mapping[str, Any]) -> str | None:
    cid = rec.get("conversation_id", rec.get("root"))
    if cid is None and _reply_to(rec) is None and rec.get("id") is not None:
        cid = rec["id"]  # a root utterance of a corpus without conversation ids
    if cid is None or isinstance(cid, dict | list):
        return None
    return str(cid)


def _reply_to(rec: Mapping[str, Any]) -> Any:
    return rec["reply-to"] if rec.get("reply-to") is not None else rec.get("reply_to")


def _load_side_file(folder: Path, name: str) -> dict[str, Any]:
    """A whole-object side file (speakers.json…), ``{}`` when absent; invalid content raises."""
    path = folder / name
    if not path.is_file():
        return {}
    data = json_loads(read_text(path), path=path)
    if not isinstance(data, dict):
        raise FormatError(f"expected a JSON object keyed by id, got {type(data).__name__}", path=path)
    return data


def _meta_of(entry: Any) -> Any:
    """The metadata of a speakers/conversations entry: new layout ``{"meta", "vectors"}`` or old (bare)."""
    if isinstance(entry, dict) and "meta" in entry and set(entry) <= {"meta", "vectors"}:
        return entry["meta"]
    return entry


def _flag(value: Any, name: str) -> bool:
    """A boolean option, also from CLI/TOML strings (``-o contiguous=true``)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"option {name}={value!r}: expected true or false")


@register_reader
class ConvokitReader(Reader):
    name = "convokit"
    description = "ConvoKit corpus folder (utterances.jsonl, speakers.json, conversations.json)"
    directory = True

    def sniff(self, path: Path, head: str) -> float:
        if not path.is_dir() or _utterances_path(path) is None:
            return 0.0
        return 0.95 if (path / "speakers.json").is_file() or (path / "conversations.json").is_file() else 0.8

    def read(self, path: Path, ctx: ReadContext) -> Iterator[Conversation]:
        utt_path = _utterances_path(path) if path.is_dir() else None
        if utt_path is None:
            raise FormatError(f"not a ConvoKit corpus folder: no {UTTERANCES} in it", path=path)
        order = ctx.option("order", "file")
        if order not in ("file", "timestamp"):
            raise ConfigError(f"option order={order!r}: expected 'file' or 'timestamp'", path=path)
        contiguous = _flag(ctx.option("contiguous", False), "contiguous")
        state = _CorpusState(path, utt_path, ctx)
        with _open(utt_path) as fh:
            if contiguous:
                groups = _groups_one_pass(fh, utt_path, ctx)
            else:
                groups = _groups_two_pass(fh, utt_path, ctx)
            for cid, records in groups:
                conv = state.build(cid, records, order=order)
                if conv is not None:
                    yield conv


# ------------------------------------------------------------------------------------- passes


def _iter_records(
    fh: IO[bytes], path: Path, ctx: ReadContext, *, first_line: int = 1, n_lines: int | None = None, report: bool = True
) -> Iterator[tuple[int, int, dict[str, Any], str]]:
    """Yield ``(offset, line, record, conversation_id)`` from the current position.

    Bad lines are reported (when ``report``) and skipped.
    """
    lineno = first_line - 1
    offset = fh.tell()
    while n_lines is None or lineno < first_line - 1 + n_lines:
        try:
            raw = fh.readline()
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise ReaderError(f"cannot read file: {exc}", path=path, line=lineno + 1) from None
        if not raw:
            return
        lineno += 1
        start, offset = offset, offset + len(raw)
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            if report:
                ctx.report(EncodingError(f"not valid utf-8 text (byte {exc.start} of the line); the line is left out",
                                         path=path, line=lineno))
            continue
        if lineno == 1:
            line = line.lstrip("\ufeff")
        if not line.strip():
            continue
        try:
            rec = json_loads(line, path=path, line=lineno)
            if not isinstance(rec, dict):
                raise FormatError(f"expected a JSON object (an utterance), got {type(rec).__name__}", path=path, line=lineno)
            cid = _conversation_id(rec)
            if cid is None:
                raise FormatError("utterance has no conversation_id (and is not a root: it has a reply-to)",
                                  path=path, line=lineno, record=str(rec.get("id")))
        except ConvmaintError as err:
            if report:
                ctx.report(err)
            continue
        yield start, lineno, rec, cid


def _groups_two_pass(fh: IO[bytes], path: Path, ctx: ReadContext) -> Iterator[tuple[str, list[tuple[int, dict]]]]:
    # Pass 1: the run index. Only ids and offsets are kept, never the records.
    runs: dict[str, list[_Run]] = {}
    current: str | None = None
    for offset, lineno, _rec, cid in _iter_records(fh, path, ctx):
        if cid == current:
            run = runs[cid][-1]
            run.n_lines = lineno - run.line + 1
        else:
            runs.setdefault(cid, []).append(_Run(offset, lineno, 1))
            current = cid
    # Pass 2: read each conversation's runs (sequential for a contiguous file).
    for cid, conv_runs in runs.items():
        records: list[tuple[int, dict]] = []
        for run in conv_runs:
            try:
                if fh.tell() != run.offset:
                    fh.seek(run.offset)
            except (OSError, EOFError, gzip.BadGzipFile) as exc:
                raise ReaderError(f"cannot seek in file: {exc}", path=path, line=run.line) from None
            for _offset, lineno, rec, rec_cid in _iter_records(fh, path, ctx, first_line=run.line,
                                                               n_lines=run.n_lines, report=False):
                if rec_cid == cid:
                    records.append((lineno, rec))
        yield cid, records


def _groups_one_pass(fh: IO[bytes], path: Path, ctx: ReadContext) -> Iterator[tuple[str, list[tuple[int, dict]]]]:
    done: set[str] = set()
    current: str | None = None
    records: list[tuple[int, dict]] = []
    for _offset, lineno, rec, cid in _iter_records(fh, path, ctx):
        if cid == current:
            records.append((lineno, rec))
            continue
        if cid in done:
            ctx.report(FormatError(
                f"conversation {cid!r} reappears after other conversations; with contiguous=True its "
                "utterances must be consecutive (read without that option to regroup them)",
                path=path, line=lineno, record=str(rec.get("id"))))
            continue
        if current is not None:
            yield current, records
            done.add(current)
        current, records = cid, [(lineno, rec)]
    if current is not None:
        yield current, records


# -------------------------------------------------------------------------------- conversion


def _timestamp(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float | str):
        try:
            number = float(value)
        except (ValueError, OverflowError):
            return None
        return number if math.isfinite(number) else None
    return None


class _CorpusState:
    """What the reader keeps across conversations: speaker roles, conversation and corpus metadata."""

    def __init__(self, folder: Path, utt_path: Path, ctx: ReadContext) -> None:
        self.folder = folder
        self.path = utt_path
        self.ctx = ctx
        role_keys = ctx.option("role_key")
        self.role_keys = (role_keys,) if isinstance(role_keys, str) else _SPEAKER_ROLE_KEYS
        self.speaker_roles = self._speaker_roles()
        self.convos = _load_side_file(folder, "conversations.json")
        corpus_meta = _meta_of(_load_side_file(folder, "corpus.json"))
        # Frozen once and shared by every conversation (freeze leaves a FrozenDict as it is).
        self.corpus_meta = freeze(corpus_meta) if isinstance(corpus_meta, dict) and corpus_meta else None

    def _speaker_roles(self) -> dict[str, Role | None]:
        spk_path = self.folder / "speakers.json"
        data = _load_side_file(self.folder, "speakers.json")
        roles: dict[str, Role | None] = {}
        for sid, entry in data.items():
            meta = _meta_of(entry)
            if not isinstance(meta, dict):
                continue
            value = next((meta[k] for k in self.role_keys if meta.get(k) is not None), None)
            if value is None or not isinstance(value, str):
                continue
            try:
                roles[sid] = parse_role(value, path=spk_path, record=f"speaker {sid}")
            except RoleError as err:
                self.ctx.report(err)
        return roles

    def conversation_meta(self, cid: str) -> dict[str, Any]:
        meta = _meta_of(self.convos.get(cid))
        if meta is None:
            meta = {}
        elif not isinstance(meta, dict):
            self.ctx.report(FormatError(
                f"conversation metadata must be an object, got {type(meta).__name__}; it is left out",
                path=self.folder / "conversations.json", record=cid))
            meta = {}
        meta = dict(meta)
        if "format" in meta:
            meta["source_format"] = meta.pop("format")
        if self.corpus_meta is not None:
            meta.setdefault("convokit_corpus", self.corpus_meta)
        return meta

    def build(self, cid: str, records: list[tuple[int, dict]], *, order: str) -> Conversation | None:
        ctx, path = self.ctx, self.path
        raws: list[RawTurn] = []
        extras: list[tuple[Any, Any]] = []  # per raw turn: (gold, moves) as stored
        utt_to_turn: dict[str, str] = {}
        used: set[str] = set()
        for pos, (lineno, rec) in enumerate(records):
            uid = None if rec.get("id") is None else str(rec["id"])
            record = f"{cid}/{uid if uid is not None else pos}"
            speaker = rec.get("speaker", rec.get("user"))
            meta = rec.get("meta")
            if speaker is None or isinstance(speaker, dict | list):
                ctx.report(FormatError("utterance has no speaker id; it is left out", path=path, line=lineno, record=record))
                continue
            if meta is None:
                meta = {}
            if not isinstance(meta, dict):
                ctx.report(FormatError(f"'meta' must be an object, got {type(meta).__name__}; the utterance is left out",
                                       path=path, line=lineno, record=record))
                continue
            meta = dict(meta)
            speaker = str(speaker)
            role = self._role(speaker, meta.pop("role", None), lineno, record)
            turn_id = meta.pop(_TURN_ID_KEY, None)
            turn_id = str(turn_id) if turn_id is not None else (uid if uid is not None else str(pos))
            if turn_id in used:
                turn_id = f"{turn_id}#{pos}"
            used.add(turn_id)
            if uid is not None:
                utt_to_turn.setdefault(uid, turn_id)
            gold, moves, segs = meta.pop(_GOLD_KEY, None), meta.pop(_MOVES_KEY, None), meta.pop(_SEGMENTS_KEY, None)
            try:
                segments = tuple(
                    Segment(id=str(s["id"]), start=int(s["start"]), end=int(s["end"]), metadata=s.get("metadata") or {})
                    for s in segs or ()
                )
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                ctx.report(FormatError(f"bad {_SEGMENTS_KEY}: {exc}; segments are left out",
                                       path=path, line=lineno, record=record))
                segments = ()
            ts_value = rec.get("timestamp")
            timestamp = _timestamp(ts_value)
            if timestamp is None and ts_value is not None:
                meta["timestamp_raw"] = ts_value
            reply = _reply_to(rec)
            raws.append(RawTurn(
                speaker=speaker, text=rec.get("text"), role=role, id=turn_id, timestamp=timestamp,  # type: ignore[arg-type]
                reply_to=None if reply is None else str(reply), segments=segments, metadata=meta, line=lineno,
            ))
            extras.append((gold, moves))
        for raw in raws:  # reply-to by utterance id → the turn id used here
            if raw.reply_to is not None:
                raw.reply_to = utt_to_turn.get(raw.reply_to, raw.reply_to)
        if order == "timestamp" and raws and all(r.timestamp is not None for r in raws):
            paired = sorted(zip(raws, extras, strict=True), key=lambda p: p[0].timestamp or 0.0)
            raws, extras = [p[0] for p in paired], [p[1] for p in paired]
        first_line = records[0][0] if records else None
        try:
            conv = make_conversation(cid, raws, ctx, path=path, fmt="convokit", metadata=self.conversation_meta(cid),
                                     line=first_line)
        except ValueError as exc:  # a segment past the text, and similar model checks
            ctx.report(FormatError(str(exc), path=path, line=first_line, record=cid))
            return None
        if conv is None:
            return None
        return self._attach_moves(conv, raws, extras)

    def _role(self, speaker: str, utt_role: Any, lineno: int, record: str) -> Role | None:
        if utt_role is not None:
            try:
                return parse_role(str(utt_role), path=self.path, line=lineno, record=record)
            except RoleError as err:
                self.ctx.report(err)
        return self.speaker_roles.get(speaker)

    def _attach_moves(self, conv: Conversation, raws: list[RawTurn], extras: list[tuple[Any, Any]]) -> Conversation:
        index = {t.id: t.index for t in conv.turns}
        gold: list[Move] = []
        moves: list[Move] = []
        for raw, (g, m) in zip(raws, extras, strict=True):
            if raw.id not in index:
                continue
            for stored, out, default in ((g, gold, "gold:convokit"), (m, moves, "")):
                if stored is not None and not isinstance(stored, list):
                    self.ctx.report(FormatError(
                        f"stored moves must be a list, got {type(stored).__name__}; they are left out",
                        path=self.path, line=raw.line, record=f"{conv.id}/{raw.id}"))
                    continue
                for d in stored or ():
                    try:
                        if not isinstance(d, dict):
                            raise ValueError("a move must be a JSON object")
                        target_id = d.get("target_id")
                        if target_id is not None and str(target_id) not in index:
                            raise ValueError(f"target turn {target_id!r} is not in the conversation")
                        fixed = {**d, "turn": index[raw.id],
                                 "target": None if target_id is None else index[str(target_id)]}
                        out.append(move_from_dict(fixed, default_detector=default))
                    except (KeyError, TypeError, ValueError) as exc:
                        self.ctx.report(FormatError(f"bad stored move: {exc}; it is left out",
                                                    path=self.path, line=raw.line, record=f"{conv.id}/{raw.id}"))
        if gold or moves:
            conv = replace(conv, gold=tuple(gold), moves=tuple(moves))
        return conv


# ------------------------------------------------------------------------------------ writing


def _type_name(value: Any) -> str:
    return str(type(value))  # ConvoKit's index stores types as "<class 'str'>"


def _note_types(index: dict[str, list[str]], meta: Mapping[str, Any]) -> None:
    for key, value in meta.items():
        types = index.setdefault(key, [])
        name = _type_name(value)
        if name not in types:
            types.append(name)


def write_convokit(conversations: Iterable[Conversation], folder: str | os.PathLike) -> int:
    """Write conversations as a ConvoKit corpus folder; returns how many conversations were written.

    ``utterances.jsonl`` and ``conversations.json`` are streamed. Each turn's role goes into its
    utterance ``meta.role`` and into its speaker's ``meta.role`` (a speaker with turns of several
    roles gets ``meta.roles`` instead); gold and detected moves go into utterance meta under
    ``convmaint_gold`` and ``convmaint_moves`` (``target`` as ``target_id``, a turn id), segments
    under ``convmaint_segments``. Utterance ids must be unique in a ConvoKit corpus, so a turn's
    utterance id is ``"<conversation id>/<turn id>"`` with the turn id kept in
    ``meta.convmaint_turn_id``; conversations read from a ConvoKit corpus keep their utterance
    ids. A conversation id written before gets a ``#2``, ``#3``… suffix.

    Files are written into a temporary folder beside ``folder`` and renamed into place.

    Args:
        conversations: Any iterable of conversations, consumed once.
        folder: The corpus folder to write (created if needed; existing corpus files are replaced).

    Returns:
        The number of conversations written.

    Example:
        >>> import convmaint
        >>> convmaint.save(convmaint.load("corpora/"), "corpus_out", to="convokit")  # doctest: +SKIP
    """
    out = Path(folder)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists() and not out.is_dir():
        raise ReaderError("cannot write a ConvoKit corpus: the path exists and is not a folder", path=out)
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)  # a leftover of an interrupted run by this pid
    tmp.mkdir()
    try:
        n = _write_into(conversations, tmp)
        if not out.exists():
            os.replace(tmp, out)  # the whole folder appears at once
        else:
            for name in (UTTERANCES, "conversations.json", "speakers.json", "corpus.json", "index.json"):
                os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return n


def _write_into(conversations: Iterable[Conversation], tmp: Path) -> int:
    speakers: dict[str, set[str]] = {}
    conv_ids: set[str] = set()
    utt_index: dict[str, list[str]] = {}
    conv_index: dict[str, list[str]] = {}
    n = 0
    with open(tmp / UTTERANCES, "w", encoding="utf-8") as uf, open(tmp / "conversations.json", "w", encoding="utf-8") as cf:
        cf.write("{")
        for conv in conversations:
            cid = conv.id
            k = 1
            while cid in conv_ids:
                k += 1
                cid = f"{conv.id}#{k}"
            conv_ids.add(cid)
            keep_ids = conv.metadata.get("format") == "convokit"
            utt_ids = {t.id: (t.id if keep_ids else f"{cid}/{t.id}") for t in conv.turns}
            gold_by_turn: dict[int, list[dict]] = {}
            moves_by_turn: dict[int, list[dict]] = {}
            for moves, by_turn in ((conv.gold, gold_by_turn), (conv.moves, moves_by_turn)):
                for m in moves:
                    d = move_to_dict(m)
                    turn = d.pop("turn")
                    target = d.pop("target")
                    d["target_id"] = None if target is None or target >= len(conv.turns) else conv.turns[target].id
                    by_turn.setdefault(turn, []).append(d)
            for t in conv.turns:
                meta: dict[str, Any] = dict(thaw(t.metadata))
                meta["role"] = t.role.value
                if not keep_ids:
                    meta[_TURN_ID_KEY] = t.id
                if t.segments:
                    meta[_SEGMENTS_KEY] = [{"id": s.id, "start": s.start, "end": s.end, "metadata": thaw(s.metadata)}
                                           for s in t.segments]
                if t.index in gold_by_turn:
                    meta[_GOLD_KEY] = gold_by_turn[t.index]
                if t.index in moves_by_turn:
                    meta[_MOVES_KEY] = moves_by_turn[t.index]
                _note_types(utt_index, meta)
                speakers.setdefault(t.speaker, set()).add(t.role.value)
                utt = {
                    "id": utt_ids[t.id],
                    "conversation_id": cid,
                    "text": t.text,
                    "speaker": t.speaker,
                    "meta": meta,
                    "reply-to": None if t.reply_to is None else utt_ids.get(t.reply_to, t.reply_to),
                    "timestamp": t.timestamp,
                    "vectors": [],
                }
                uf.write(json.dumps(utt, ensure_ascii=False) + "\n")
            conv_meta = {k: v for k, v in thaw(conv.metadata).items() if k != "format"}
            if conv.source is not None:
                conv_meta.setdefault("convmaint_source", conv.source)
            _note_types(conv_index, conv_meta)
            cf.write(("," if n else "") + "\n" + json.dumps(cid, ensure_ascii=False) + ": "
                     + json.dumps({"meta": conv_meta, "vectors": []}, ensure_ascii=False))
            n += 1
        cf.write("\n}\n")
    speaker_index: dict[str, list[str]] = {}
    speaker_out: dict[str, Any] = {}
    for sid, roles in speakers.items():
        meta = {"role": next(iter(roles))} if len(roles) == 1 else {"roles": sorted(roles)}
        _note_types(speaker_index, meta)
        speaker_out[sid] = {"meta": meta, "vectors": []}
    corpus_meta = {"convmaint_version": __version__}
    index = {
        "utterances-index": utt_index,
        "speakers-index": speaker_index,
        "conversations-index": conv_index,
        "overall-index": {k: [_type_name(v)] for k, v in corpus_meta.items()},
        "version": 1,
        "vectors": [],
    }
    for name, data in (("speakers.json", speaker_out), ("corpus.json", corpus_meta), ("index.json", index)):
        with open(tmp / name, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False)
            fh.write("\n")
    return n
