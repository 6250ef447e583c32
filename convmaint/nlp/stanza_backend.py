"""The stanza backend (optional extra ``convmaint[stanza]``): the same ParsedTurn view from stanza.

Stanza models are never downloaded at run time: point ``model_dir`` at a folder that holds them
(``stanza.download("en", model_dir=...)`` on a machine with network access).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from convmaint.errors import BackendError
from convmaint.nlp.base import ParsedTurn

__all__ = ["PROCESSORS_FOR", "StanzaBackend", "processors_for", "stanza_doc_to_parsed"]

#: Stanza processors each annotation needs.
PROCESSORS_FOR: dict[str, tuple[str, ...]] = {
    "tokens": ("tokenize",),
    "sents": ("tokenize",),
    "pos": ("tokenize", "pos"),
    "lemma": ("tokenize", "pos", "lemma"),
    "dep": ("tokenize", "pos", "lemma", "depparse"),
    "noun_chunks": ("tokenize", "pos", "lemma", "depparse"),
    "ents": ("tokenize", "ner"),
}
_ORDER = ("tokenize", "mwt", "pos", "lemma", "depparse", "ner")

#: Left dependents that belong to a base noun phrase (UD relations), for noun chunks from a UD parse.
_NP_LEFT = {"det", "amod", "compound", "nummod", "nmod:poss", "poss", "flat", "det:poss", "advmod", "case"}
_NP_HEADS = {"NOUN", "PROPN", "PRON"}


def processors_for(requires: Iterable[str]) -> list[str]:
    wanted: set[str] = set()
    for ann in requires:
        wanted.update(PROCESSORS_FOR.get(ann, ()))
    return [p for p in _ORDER if p in wanted]


class StanzaBackend:
    """Parse turns with a local stanza pipeline.

    Args:
        requires: Annotations to provide.
        model_dir: Folder with downloaded stanza resources (``resources.json`` and the ``en/`` models).
        lang: Language code.
        use_gpu: Let stanza use a GPU when there is one.
    """

    name = "stanza"

    def __init__(self, *, requires: Iterable[str] = ("tokens",), model_dir: str | None = None, lang: str = "en",
                 use_gpu: bool = False) -> None:
        try:
            import stanza
        except ImportError:
            raise BackendError("the stanza backend needs the optional extra: pip install 'convmaint[stanza]' "
                               "(install torch==2.13.0 first for a CPU build)") from None
        if not model_dir:
            raise BackendError("the stanza backend needs a local model folder (--model DIR); convmaint never "
                               "downloads models at run time")
        if not Path(model_dir).is_dir():
            raise BackendError(f"stanza model folder not found: {model_dir}")
        self.requires = frozenset(requires) | {"tokens"}
        self.processors = processors_for(self.requires)
        self.model_dir = str(model_dir)
        self.lang = lang
        try:
            self.nlp = stanza.Pipeline(lang=lang, dir=self.model_dir, processors=",".join(self.processors),
                                       download_method=None, use_gpu=use_gpu, logging_level="WARN")
        except Exception as exc:  # noqa: BLE001 -- stanza raises bare exceptions of several kinds for missing resources
            raise BackendError(f"cannot load stanza pipeline from {self.model_dir}: {exc}") from None
        self._provides = provides_for(self.processors)
        self._version = stanza.__version__

    def provides(self) -> frozenset[str]:
        return self._provides

    def info(self) -> dict[str, Any]:
        return {"backend": "stanza", "stanza_version": self._version, "model": self.model_dir, "lang": self.lang,
                "components": list(self.processors), "provides": sorted(self._provides)}

    def parse(self, texts: Iterable[str], *, batch_size: int = 256) -> Iterator[ParsedTurn]:
        import stanza

        batch: list[str] = []
        for text in texts:
            batch.append(text)
            if len(batch) >= batch_size:
                yield from self._run(stanza, batch)
                batch = []
        if batch:
            yield from self._run(stanza, batch)

    def _run(self, stanza: Any, texts: list[str]) -> Iterator[ParsedTurn]:
        docs = self.nlp.bulk_process([stanza.Document([], text=t) for t in texts])
        for doc in docs:
            yield stanza_doc_to_parsed(doc, self._provides)


def provides_for(processors: Iterable[str]) -> frozenset[str]:
    procs = set(processors)
    out = {"tokens", "sents"}
    if "pos" in procs:
        out.add("pos")
    if "lemma" in procs:
        out.add("lemma")
    if "depparse" in procs:
        out |= {"dep", "noun_chunks"}
    if "ner" in procs:
        out.add("ents")
    return frozenset(out)


def stanza_doc_to_parsed(doc: Any, provides: Iterable[str]) -> ParsedTurn:
    """Convert a ``stanza.Document`` into a :class:`ParsedTurn` (words, not multi-word tokens, are tokens).

    Words of a multi-word token share its character span, split in order over its text where the
    parts can be found in it.
    """
    provides = frozenset(provides)
    text = doc.text or ""
    words: list[str] = []
    starts: list[int] = []
    lemmas: list[str] = []
    pos: list[str] = []
    tags: list[str] = []
    deps: list[str] = []
    heads: list[int] = []
    sent_starts: list[int] = []
    for sent in doc.sentences:
        base = len(words)
        sent_starts.append(base)
        for tok in sent.tokens:
            t_start = tok.start_char if tok.start_char is not None else (starts[-1] + len(words[-1]) if words else 0)
            cursor = t_start
            for w in tok.words:
                found = text.find(w.text, cursor, (tok.end_char or len(text)))
                w_start = found if found >= 0 else cursor
                words.append(w.text)
                starts.append(w_start)
                cursor = w_start + (len(w.text) if found >= 0 else 0)
                lemmas.append((w.lemma or w.text).lower())
                pos.append(w.upos or "")
                tags.append(w.xpos or "")
                deps.append(w.deprel or "")
                head = w.head if w.head is not None else 0
                heads.append(base + head - 1 if head > 0 else base + w.id - 1)
    n = len(words)
    has_dep = "dep" in provides
    chunks: list[tuple[int, int]] = []
    if "noun_chunks" in provides and has_dep:
        for i in range(n):
            if pos[i] in _NP_HEADS and not (deps[i] in ("compound", "flat") and heads[i] > i):
                left = i
                while left - 1 >= 0 and heads[left - 1] == i and deps[left - 1].split(":")[0] in {d.split(":")[0] for d in _NP_LEFT} - {"case", "advmod"}:
                    left -= 1
                chunks.append((left, i + 1))
    ents: list[tuple[int, int, str]] = []
    if "ents" in provides:
        for ent in getattr(doc, "ents", ()):
            i = next((k for k in range(n) if starts[k] >= ent.start_char), n)
            j = i
            while j < n and starts[j] < ent.end_char:
                j += 1
            if j > i:
                ents.append((i, j, ent.type))
    return ParsedTurn(
        text=text,
        words=tuple(words),
        starts=tuple(starts),
        lower=tuple(w.lower() for w in words),
        lemmas=tuple(lemmas) if "lemma" in provides else tuple(w.lower() for w in words),
        pos=tuple(pos) if "pos" in provides else (),
        tags=tuple(tags) if "pos" in provides else (),
        deps=tuple(deps) if has_dep else (),
        heads=tuple(heads) if has_dep else (),
        sent_starts=tuple(sent_starts) or (0,),
        noun_chunks=tuple(chunks),
        ents=tuple(ents),
        annotations=provides,
    )
