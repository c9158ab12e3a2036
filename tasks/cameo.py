"""CAMEO event codes: names, Goldstein scores, quad classes and the CAMEO -> PLOVER mapping.

Goldstein values are those of the published CAMEO scale (Goldstein 1992 as adapted for CAMEO and
used by GDELT), given per root and refined for the codes the trigger lexicon emits. PLOVER types
follow the CAMEO -> PLOVER table of the PLOVER manual (Open Event Data Alliance), in PLOVER 2
names: the older DEMAND is REQUEST, DISAPPROVE and INVESTIGATE are ACCUSE, FIGHT is ASSAULT.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from wirehouse.schemas.models import CAMEO_ROOTS

TRIGGERS_FILE = Path(__file__).resolve().parent / "data" / "cameo_triggers.tsv"

ROOT_GOLDSTEIN = {
    "01": 0.0, "02": 3.0, "03": 4.0, "04": 1.0, "05": 3.5, "06": 6.0, "07": 7.0, "08": 5.0, "09": -2.0,
    "10": -5.0, "11": -2.0, "12": -4.0, "13": -6.0, "14": -6.5, "15": -7.2, "16": -4.0, "17": -7.0,
    "18": -9.0, "19": -10.0, "20": -10.0,
}
CODE_GOLDSTEIN = {
    "012": -0.4, "013": 0.4, "015": 0.0, "016": -2.0, "018": 3.4, "019": 3.4, "021": 3.4, "023": 3.4,
    "0231": 3.4, "0233": 3.4, "0234": 3.4, "0241": -0.3, "026": 4.0, "027": 4.0, "028": 4.0, "031": 5.2,
    "032": 4.5, "033": 5.2, "034": 7.0, "035": 7.0, "036": 4.0, "037": 5.0, "038": 7.0, "039": 5.0,
    "041": 1.0, "042": 1.9, "043": 2.8, "044": 2.5, "045": 5.0, "046": 7.0, "051": 3.4, "052": 3.5,
    "053": 3.8, "054": 6.0, "055": 7.0, "056": 7.0, "057": 8.0, "061": 6.4, "062": 7.4, "063": 7.4,
    "064": 7.0, "071": 7.4, "072": 8.3, "073": 7.4, "074": 8.5, "075": 7.0, "081": 5.0, "083": 5.0,
    "084": 7.0, "085": 7.0, "086": 9.0, "087": 9.0, "091": -2.0, "104": -5.0, "105": -5.0, "106": -5.0,
    "107": -5.0, "111": -2.0, "112": -2.0, "113": -2.0, "114": -2.0, "115": -2.0, "128": -5.0,
    "129": -5.0, "131": -5.8, "132": -5.8, "133": -5.8, "134": -5.8, "136": -7.0, "137": -7.0,
    "138": -7.0, "139": -7.0, "141": -6.5, "142": -6.5, "143": -6.5, "144": -7.5, "145": -7.5,
    "152": -7.2, "154": -7.2, "155": -7.2, "161": -4.0, "162": -5.6, "163": -8.0, "164": -7.0,
    "165": -7.0, "166": -7.0, "171": -9.2, "172": -5.0, "173": -5.0, "174": -5.0, "175": -9.0,
    "176": -9.0, "181": -9.0, "182": -9.5, "183": -10.0, "185": -8.0, "186": -10.0, "191": -9.5,
    "192": -10.0, "193": -10.0, "194": -10.0, "195": -10.0, "196": -9.5, "201": -9.5, "202": -10.0,
    "203": -10.0, "204": -10.0,
}
# Second-level codes of 08 (yield) that PLOVER files under RETREAT: release, allow international
# involvement, de-escalate militarily.
_RETREAT_CODES = ("084", "086", "087", "0831", "0833")
_ROOT_PLOVER = {
    "01": None, "02": "REQUEST", "03": "AGREE", "04": "CONSULT", "05": "SUPPORT", "06": "COOPERATE",
    "07": "AID", "08": "CONCEDE", "09": "ACCUSE", "10": "REQUEST", "11": "ACCUSE", "12": "REJECT",
    "13": "THREATEN", "14": "PROTEST", "15": "MOBILIZE", "16": "SANCTION", "17": "COERCE",
    "18": "ASSAULT", "19": "ASSAULT", "20": "ASSAULT",
}
# Intent (03x), threat (13x), demand (10x) and rejection (12x) codes for a mood applied to an action root.
INTENT_BY_ROOT = {"02": "030", "04": "036", "05": "032", "06": "031", "07": "033", "08": "035", "09": "030"}
THREAT_BY_ROOT = {
    "12": "131", "16": "132", "14": "133", "17": "137", "18": "138", "19": "138", "20": "138", "15": "138",
    "13": "130", "10": "130", "11": "130", "09": "130",
}
# Threats to do a specific thing have their own codes: to halt talks (134), to halt international
# involvement (136), to use force (138).
THREAT_BY_CODE = {"164": "134", "166": "136", "165": "136", "163": "132", "162": "132", "161": "131", "172": "137", "173": "137"}
DEMAND_BY_ROOT = {"04": "102", "05": "102", "06": "101", "07": "103", "08": "104", "03": "100"}
REJECT_BY_ROOT = {"02": "120", "03": "120", "04": "125", "05": "120", "06": "121", "07": "122", "08": "123"}


@dataclass(frozen=True)
class Trigger:
    code: str
    lemma: str
    noun: bool
    particle: str | None
    object: str | None

    @property
    def specificity(self) -> int:
        return (self.particle is not None) + 2 * (self.object is not None)


def threat_code(code: str) -> str:
    """The 13x code for threatening to do `code`."""
    return THREAT_BY_CODE.get(code) or THREAT_BY_ROOT.get(root(code), "130")


def root(code: str) -> str:
    return code[:2]


def quad_class(code: str) -> int:
    """1 verbal cooperation, 2 material cooperation, 3 verbal conflict, 4 material conflict."""
    r = int(root(code))
    return 1 if r <= 5 else 2 if r <= 8 else 3 if r <= 13 else 4


def goldstein(code: str) -> float:
    return CODE_GOLDSTEIN.get(code, ROOT_GOLDSTEIN[root(code)])


def plover_type(code: str) -> str | None:
    if code.startswith(_RETREAT_CODES):
        return "RETREAT"
    return _ROOT_PLOVER.get(root(code))


def root_name(code: str) -> str:
    return CAMEO_ROOTS[root(code)]


@lru_cache(maxsize=1)
def triggers() -> dict[tuple[bool, str], list[Trigger]]:
    """The lexicon, keyed by (is_noun, first lemma); each list most specific first, file order kept."""
    table: dict[tuple[bool, str], list[Trigger]] = {}
    seen: set[tuple] = set()
    with open(TRIGGERS_FILE, encoding="utf-8") as handle:
        lines = (line for line in handle if line.strip() and not line.startswith("#"))
        for row in csv.DictReader(io.StringIO("".join(lines)), delimiter="\t"):
            code, pattern = row["code"].strip(), row["pattern"].strip()
            noun = pattern.startswith("n:")
            words = pattern[2:].split() if noun else pattern.split()
            obj = next((w[1:] for w in words if w.startswith("+")), None)
            rest = [w for w in words if not w.startswith("+")]
            if obj is not None and words.index("+" + obj) < len(words) - 1:
                obj = " ".join(w.lstrip("+") for w in words[words.index("+" + obj):])
            lemma = rest[0] if not noun else " ".join(rest) if obj is None else rest[0]
            particle = " ".join(rest[1:]) or None if not noun else None
            key = (noun, lemma, particle, obj)   # the whole lemma: "hunger strike" is not "strike"
            if key in seen:
                continue  # the first code given for a pattern wins
            seen.add(key)
            table.setdefault((noun, lemma.split()[-1] if noun else lemma), []).append(
                Trigger(code=code, lemma=lemma, noun=noun, particle=particle, object=obj)
            )
    for entries in table.values():
        entries.sort(key=lambda t: -t.specificity)
    return table
