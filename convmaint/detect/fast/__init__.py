"""The scan detectors of ``--mode fast``: one family each, built for speed over very large corpora.

They read the regular-expression tokenizer's :class:`~convmaint.nlp.base.ParsedTurn` (tokens and
sentences) and the same lexicons as the parse-based detectors, and trade some accuracy (reported
per label in docs/accuracy.md) for a cost of well under a microsecond per word each.
"""
