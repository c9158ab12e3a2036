"""One sentence as the event coder reads it, and the word classes more than one of the coder's
parts (triggers and mood, actors, place and date) reads."""

from __future__ import annotations

from datetime import date

from wirehouse.tasks.nlp_types import Mention

FUTURE_AUX = frozenset({"will", "would", "shall", "'ll", "wo"})
DEMAND_GOVERNORS = frozenset({"demand", "urge", "insist", "press", "ask", "call", "order", "tell", "instruct", "require"})
LOCATIVE_PREPS = frozenset({"in", "at", "near", "inside", "outside"})
PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})
CLAUSE_DEPS = frozenset({"relcl", "acl", "advcl", "ccomp", "xcomp", "punct", "mark", "csubj", "parataxis"})
# Verbs whose direct object is the topic, not a party: "discussed bilateral relations".
TOPIC_OBJECT_VERBS = frozenset({"discuss", "negotiate", "sign", "ratify", "debate", "consider", "review", "examine", "study", "conclude", "reach", "investigate", "probe"})


class Sentence:
    """A parsed sentence with what the coder reads around it."""

    def __init__(
        self, doc, sent, index: int, by_token: dict[int, Mention], published: date | None, date_ents: list,
        entity_ids: frozenset[str] = frozenset(),
    ):
        self.doc = doc
        self.entity_ids = entity_ids   # the article's entities: an actor derived from a name points to one only if named
        self.sent = sent
        self.index = index
        self.by_token = by_token     # token index -> the linked mention covering it
        self.published = published   # anchors relative dates
        self.date_ents = date_ents   # the sentence's DATE entities, from the doc's DocIndex
        self._text: str | None = None
        self._countries: list[str] | None = None

    @property
    def text(self) -> str:
        """The sentence's text, built once (each event of the sentence carries it)."""
        if self._text is None:
            self._text = self.sent.text.strip()
        return self._text

    def countries(self) -> list[str]:
        """The countries of the sentence's mentions in order of first mention; one pass per sentence."""
        if self._countries is None:
            self._countries = []
            for i in range(self.sent.start, self.sent.end):
                mention = self.by_token.get(i)
                code = mention.entity.country_code if mention is not None else None
                if code and code not in self._countries:
                    self._countries.append(code)
        return self._countries
