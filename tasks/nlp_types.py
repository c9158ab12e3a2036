"""What the NLP stage's parts share: entities and mentions, their ids and names, office titles,
and a parsed doc's index of sentences and model entities."""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass

# Office titles: cut from a person's name, kept as the role; the value is the CAMEO-style sector.
TITLE_SECTORS = {
    "president": "GOV", "vice president": "GOV", "prime minister": "GOV", "premier": "GOV",
    "chancellor": "GOV", "minister": "GOV", "foreign minister": "GOV", "deputy foreign minister": "GOV",
    "defense minister": "GOV/MIL", "defence minister": "GOV/MIL", "defense secretary": "GOV/MIL",
    "defence secretary": "GOV/MIL", "interior minister": "GOV", "finance minister": "GOV",
    "secretary of state": "GOV", "secretary": "GOV", "secretary-general": "IGO", "secretary general": "IGO",
    "ambassador": "GOV", "envoy": "GOV", "special envoy": "GOV", "presidential envoy": "GOV",
    "diplomat": "GOV", "spokesman": "GOV", "spokeswoman": "GOV", "spokesperson": "GOV",
    "king": "GOV", "queen": "GOV", "prince": "GOV", "crown prince": "GOV", "emir": "GOV",
    "sultan": "GOV", "governor": "GOV", "mayor": "GOV", "official": "GOV", "leader": "GOV",
    "supreme leader": "GOV", "general": "MIL", "gen.": "MIL", "lt. gen.": "MIL", "maj. gen.": "MIL",
    "admiral": "MIL", "colonel": "MIL", "col.": "MIL", "commander": "MIL", "chief of staff": "MIL",
    "senator": "LEG", "sen.": "LEG", "rep.": "LEG", "congressman": "LEG", "congresswoman": "LEG",
    "lawmaker": "LEG", "speaker": "LEG", "mp": "LEG", "judge": "JUD", "justice": "JUD",
    "prosecutor": "JUD", "attorney general": "JUD", "chairman": "BUS", "chief executive": "BUS",
    "ceo": "BUS", "mediator": "IGO", "negotiator": "GOV", "representative": "GOV", "commissioner": "GOV",
    "pope": "REL", "cardinal": "REL", "archbishop": "REL", "ayatollah": "REL",
}
TITLE_WORDS = frozenset(
    w for title in TITLE_SECTORS for w in title.split()
) | frozenset(
    {
        "deputy", "vice", "acting", "former", "foreign", "defense", "defence", "interior", "finance",
        "economy", "trade", "energy", "justice", "health", "presidential", "special", "chief", "head",
        "top", "senior", "first", "state", "national", "security", "adviser", "advisor", "army",
        "military", "navy", "air", "force", "lieutenant", "major", "ministry", "spokesman", "spokeswoman",
        "junior", "mediator", "negotiator", "representative", "delegate", "commissioner", "observer",
        "opposition", "rebel", "party", "-", "secretary-general", "lt.", "maj.", "brig.", "gen.", "col.", "capt.", "sgt.",
    }
)
TITLE_HEADS = frozenset(t.split()[-1] for t in TITLE_SECTORS)
_SPACES = re.compile(r"\s+")
_LEADING_THE = re.compile(r"^the\s+", re.IGNORECASE)


@dataclass
class Entity:
    """One real-world thing, as linked."""

    entity_id: str
    name: str
    type: str
    country_code: str | None = None
    geonames_id: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    igo_code: str | None = None
    sector: str | None = None
    role: str | None = None


@dataclass
class Mention:
    start: int
    end: int
    text: str
    label: str
    sentence: int
    sentence_start: int
    sentence_end: int
    entity: Entity
    token_start: int = 0
    token_end: int = 0


def entity_name(surface: str) -> str:
    """The canonical name of a mention: whitespace collapsed, no leading 'the', no possessive."""
    name = _SPACES.sub(" ", surface).strip()
    if name.endswith(("'s", "’s")):
        name = name[:-2]
    return _LEADING_THE.sub("", name).strip()


def entity_id(key: str, kind: str) -> str:
    """Stable id: hash of a kind ('country', 'geonames', 'org' or an entity type) and a key."""
    return hashlib.sha256(f"{kind}|{key.casefold()}".encode("utf-8")).hexdigest()[:16]


class DocIndex:
    """A parsed doc's sentences and model entities, read once.

    spaCy rebuilds `doc.ents` from every token on each read, `span.ents` reads `doc.ents`, and
    `span.sent` walks the sentence: read per mention or per event, they made annotation
    quadratic in the text's length. Everything here is built in one pass over the doc.
    """

    def __init__(self, doc) -> None:
        self.sents = list(doc.sents)
        self._starts = [s.start for s in self.sents]
        self._ent_at: dict[int, object] = {}
        self._sent_ents: list[list] = [[] for _ in self.sents]
        for ent in doc.ents:
            for i in range(ent.start, ent.end):
                self._ent_at[i] = ent
            index = self.sentence_index(ent.start)
            if ent.end <= self.sents[index].end:   # as `sent.ents`: entities wholly inside the sentence
                self._sent_ents[index].append(ent)

    def sentence_index(self, token_i: int) -> int:
        """The index of the sentence holding token `token_i`."""
        return max(bisect.bisect_right(self._starts, token_i) - 1, 0)

    def sentence(self, token_i: int):
        """The sentence holding token `token_i` (as `doc[token_i].sent`)."""
        return self.sents[self.sentence_index(token_i)]

    def entity_at(self, token_i: int):
        """The model entity covering token `token_i`, or None."""
        return self._ent_at.get(token_i)

    def sentence_entities(self, index: int) -> list:
        """The model entities wholly inside sentence `index`, in order (as `sent.ents`)."""
        return self._sent_ents[index]
