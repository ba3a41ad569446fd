"""Location → grid resolution (网格定位).

Free text: a spaCy blank ``zh`` pipeline (jieba segmenter, the project's jieba dictionary)
with a PhraseMatcher built from every place, grid and community name and alias in the
registry; rapidfuzz catches typos and partial names (玉林北璐, 长寿院); door numbers and
building numbers after a road or compound pick the grid whose range holds them.
GPS: shapely point-in-polygon.

Candidates are ranked by score; ``status`` says what the dialogue should do:

* ``confident`` — one grid;
* ``ambiguous`` — 2–4 different places could be meant: the resident picks one (by place name;
  grid names mean nothing to residents);
* ``needs_detail`` — one road that runs through several grids, named without a door number:
  ask for the number or a landmark;
* ``area`` — the text names only a community, street or district (or a compound split across
  grids without its building): ``area`` is that unit, and the ticket goes to its queue;
* ``none`` — no place of the registry.

Text is normalised first (traditional → simplified, full-width → half-width), and a unit
named beside an ambiguous place keeps only the candidates inside it.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jieba
import spacy
from rapidfuzz import fuzz
from shapely.geometry import Point
from shapely.strtree import STRtree
from spacy.matcher import PhraseMatcher

from core.textnorm import normalize
from grids.registry import Grid, Place, Registry, Unit

MAX_TEXT = 2000
CONFIDENT = 0.75
MARGIN = 0.2
ASK_MIN = 0.45
MAX_CHOICES = 4
FUZZY_MIN = 66.0
CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
             "七": 7, "八": 8, "九": 9}  # fmt: skip
NUMBER = r"[0-9０-９]+|[零〇一二两三四五六七八九十百]+"
TAIL = re.compile(rf"^[的\s]{{0,2}}({NUMBER})\s*(号楼|号院|号|栋|幢|座|单元|组)")
# Generic endings carry no identity: "小区门口" must not look like a typo of "玉林小区".
GENERIC_END = re.compile(r"(?:小区|花园|社区|公园|广场|大道|路|街|巷|村|组|苑|园|区)$")
MIN_CORE_OVERLAP = 0.5
# After a place name these start something else, not a misspelt rest of a longer name.
LOCATIVE = set("里的内外边旁口门上下前后附这那和与及、，。！？ ")
GENERIC_START = re.compile(r"(?:小区|社区|花园|公园|广场|大道|路|街|巷|村|组|苑|园|区)")


def _typo_of_rest(following: str, rest: str) -> bool:
    """Whether ``following`` (the text after an exact name) reads as a typo of ``rest``."""
    if not following or not GENERIC_END.fullmatch(rest):
        return False
    if following[0] in LOCATIVE or GENERIC_START.match(following):
        return False
    same = sum(a == b for a, b in zip(rest, following, strict=False))
    return len(rest) == 1 or same * 2 >= len(rest)


FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")


def cn_number(text: str) -> int | None:
    """'12', '十二', '一百零五', '３' → int."""
    text = text.translate(FULLWIDTH)
    if text.isdigit():
        return int(text)
    total, current = 0, 0
    for ch in text:
        if ch in CN_DIGITS:
            current = CN_DIGITS[ch]
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        else:
            return None
    return total + current


def building_number(label: str) -> int | None:
    match = re.match(rf"({NUMBER})", label)
    return cn_number(match.group(1)) if match else None


@dataclass(frozen=True)
class Target:
    """What a name in the text can refer to."""

    kind: str  # place | grid | unit
    place: Place | None = None
    grid: str | None = None
    unit: str | None = None  # a community, street or district


@dataclass
class Candidate:
    grid: Grid
    score: float
    matched: str
    span: tuple[int, int]
    place: str
    reason: str

    def as_dict(self, registry: Registry) -> dict[str, Any]:
        chain = registry.chain(self.grid.code)
        return {
            "grid_code": self.grid.code,
            "grid_name": self.grid.name,
            "community": chain[1]["name"],
            "street": chain[2]["name"],
            "district": chain[3]["name"],
            "worker_name": self.grid.worker_name,
            "worker_phone": self.grid.worker_phone,
            "score": round(self.score, 3),
            "matched_text": self.matched,
            "span": list(self.span),
            "place": self.place,
            "reason": self.reason,
        }


@dataclass
class Resolution:
    status: str  # confident | ambiguous | needs_detail | area | none
    candidates: list[Candidate]
    area: Unit | None = None
    area_matched: str = ""  # the words of the text that named the area

    def area_dict(self, registry: Registry) -> dict[str, Any] | None:
        if self.area is None:
            return None
        return {
            "code": self.area.code,
            "name": self.area.name,
            "tier": self.area.tier,
            "full_name": registry.full_name(self.area.code),
            "matched_text": self.area_matched,
        }


UNIT_SPECIFICITY = {"community": 3, "street": 2, "district": 1}


class Resolver:
    def __init__(self, registry: Registry, dictionary: Path | None = None) -> None:
        self.registry = registry
        if dictionary and dictionary.exists():
            jieba.load_userdict(str(dictionary))
        self.nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
        self.matcher = PhraseMatcher(self.nlp.vocab)
        self.targets: dict[str, list[Target]] = {}
        for place in registry.places:
            for name in place.names:
                self._add(name, Target("place", place=place))
        for grid in registry.grids.values():
            for name in (grid.name, *grid.aliases):
                self._add(name, Target("grid", grid=grid.code))
        for unit in registry.units.values():
            for name in unit.names:
                self._add(name, Target("unit", unit=unit.code))
        for name in self.targets:
            self.matcher.add(name, [self.nlp.make_doc(name)])
        self.fuzzy_names = [n for n in self.targets if len(n) >= 3]
        self.polygons = [g.polygon for g in registry.grids.values()]
        self.polygon_grids = list(registry.grids.values())
        self.tree = STRtree(self.polygons)

    def _add(self, name: str, target: Target) -> None:
        if len(name) >= 2:
            self.targets.setdefault(name, []).append(target)

    # -- GPS ------------------------------------------------------------------------------
    def resolve_point(self, longitude: float, latitude: float) -> Resolution:
        point = Point(longitude, latitude)
        for index in self.tree.query(point):
            if self.polygons[int(index)].covers(point):
                grid = self.polygon_grids[int(index)]
                return Resolution("confident", [Candidate(grid, 1.0, "", (0, 0), "", "gps")])
        return Resolution("none", [])

    # -- text -----------------------------------------------------------------------------
    def _mentions(self, text: str) -> list[tuple[str, int, int, float]]:
        """(name, start, end, similarity) of every registry name found in the text."""
        doc = self.nlp.make_doc(text)
        found: dict[tuple[int, int, str], float] = {}
        for match_id, start, end in self.matcher(doc):
            span = doc[start:end]
            found[(span.start_char, span.end_char, self.nlp.vocab.strings[match_id])] = 1.0
        exact = {name for (_, _, name) in found}
        for name in self.fuzzy_names:
            if name in exact:
                continue
            alignment = fuzz.partial_ratio_alignment(name, text, score_cutoff=FUZZY_MIN)
            if alignment is None:
                continue
            # A substituted character falls outside the alignment; the name's length does not.
            end = max(alignment.dest_end, min(len(text), alignment.dest_start + len(name)))
            core = GENERIC_END.sub("", name) or name
            window = text[alignment.dest_start : end]
            if sum(ch in window for ch in core) / len(core) < MIN_CORE_OVERLAP:
                continue
            similarity = min(alignment.score / 100, 0.99 if name not in text else 1.0)
            key = (alignment.dest_start, end, name)
            found[key] = max(found.get(key, 0.0), similarity)
        mentions = [(name, s, e, sim) for (s, e, name), sim in found.items()]
        exact_mentions = [(name, s, e) for name, s, e, sim in mentions if sim >= 1.0]
        # A near-miss of another name where an exact name stands is no typo ("方庄路" is not
        # "方庄东路"), unless the exact one is a shortening of it and the text goes on with a
        # typo of the rest ("玉林北璐" for 玉林北路, but not "白佛村里" or "嘉园小区").
        mentions = [
            m for m in mentions
            if m[3] >= 1.0
            or not any(
                s < m[2] and m[1] < e
                and not (m[0].startswith(name) and _typo_of_rest(text[e:], m[0][len(name):]))
                for name, s, e in exact_mentions
            )
        ]  # fmt: skip
        # Drop a mention inside a longer one that matched at least as well ("玉林" in "玉林北路").
        return [
            m for m in mentions
            if not any(o[1] <= m[1] and m[2] <= o[2] and (o[2] - o[1]) > (m[2] - m[1])
                       and o[3] >= m[3] for o in mentions)
        ]  # fmt: skip

    def resolve_text(self, text: str) -> Resolution:
        text = normalize(text[:MAX_TEXT])
        best: dict[str, Candidate] = {}
        units: dict[str, float] = {}
        unit_text: dict[str, str] = {}

        def offer(grid_code: str, score: float, name: str, span: tuple[int, int], reason: str,
                  place: str) -> None:  # fmt: skip
            grid = self.registry.grids[grid_code]
            if grid_code not in best or best[grid_code].score < score:
                best[grid_code] = Candidate(grid, score, name, span, place, reason)

        for name, start, end, similarity in self._mentions(text):
            tail = TAIL.match(text[end : end + 12])
            number = cn_number(tail.group(1)) if tail else None
            unit = tail.group(2) if tail else None
            span_end = end + tail.end() if tail else end
            matched = text[start:span_end]
            targets = self.targets[name]
            # A name that is a place as well as a unit ("火车南站") means the place.
            has_place = any(t.kind != "unit" for t in targets)
            for target in targets:
                if target.kind == "grid" and target.grid:
                    offer(target.grid, 1.0 * similarity, matched, (start, span_end), "grid", name)
                elif target.kind == "unit" and target.unit and not has_place:
                    if similarity >= units.get(target.unit, 0.0):
                        units[target.unit] = similarity
                        unit_text[target.unit] = matched
                elif target.place is not None:
                    score, reason = self._place_score(target.place, targets, number, unit)
                    offer(target.place.grid_code, score * similarity, matched,
                          (start, span_end), reason, target.place.name)  # fmt: skip
        ranked = sorted(best.values(), key=lambda c: c.score, reverse=True)
        inside = [c for c in ranked if any(c.grid.within(u) for u in units)]
        if inside:
            ranked = inside  # "黉门街社区的黉门街" keeps the grids of that community
        status = self._status(ranked)
        if status == "confident":
            return Resolution(status, ranked[:MAX_CHOICES])
        plausible = [c for c in ranked if c.score >= ASK_MIN]
        if plausible and all(
            c.reason == "spans_several_grids" and c.place == plausible[0].place for c in plausible
        ):
            return self._one_place_in_several_grids(plausible)
        if status == "ambiguous":
            return Resolution(status, ranked[:MAX_CHOICES])
        if units:
            unit = max(units, key=lambda u: (self._specificity(u), units[u]))
            resolution = self._area(unit)
            resolution.area_matched = unit_text[unit]
            return resolution
        return Resolution("none", ranked[:MAX_CHOICES])

    def _specificity(self, unit_code: str) -> int:
        return UNIT_SPECIFICITY.get(self.registry.units[unit_code].tier, 0)

    def _area(self, unit_code: str, candidates: list[Candidate] | None = None) -> Resolution:
        grids = self.registry.grids_within(unit_code)
        if len(grids) == 1:  # a community of one grid: that grid
            return Resolution("confident", [Candidate(grids[0], 0.9, "", (0, 0), "", "area")])
        return Resolution("area", candidates or [], self.registry.units[unit_code])

    def _one_place_in_several_grids(self, candidates: list[Candidate]) -> Resolution:
        """A road without a number: ask for it. A compound without its building: its unit."""
        place_kinds = {p.kind for p in self.registry.places if p.name == candidates[0].place}
        common = self.registry.lowest_common_unit([c.grid.code for c in candidates])
        if "road" in place_kinds or common is None:
            # ``area``: where the ticket goes if the resident cannot say more.
            return Resolution("needs_detail", candidates[:MAX_CHOICES], common)
        return self._area(common.code, candidates[:MAX_CHOICES])

    def _place_score(
        self, place: Place, siblings: list[Target], number: int | None, unit: str | None
    ) -> tuple[float, str]:
        same = [t.place for t in siblings if t.place is not None and t.place.name == place.name]
        if len(same) <= 1:
            return 0.95, place.kind
        if place.kind == "road" and number is not None and unit in ("号", "号院", "号楼"):
            if place.numbers and place.numbers[0] <= number <= place.numbers[1]:
                return 1.0, "door_number"
            return 0.2, "door_number_elsewhere"
        if place.buildings and number is not None:
            numbers = {building_number(b) for b in place.buildings}
            return (1.0, "building") if number in numbers else (0.2, "building_elsewhere")
        return 0.55, "spans_several_grids"

    @staticmethod
    def _status(ranked: list[Candidate]) -> str:
        if not ranked:
            return "none"
        top = ranked[0].score
        second = ranked[1].score if len(ranked) > 1 else 0.0
        if top >= CONFIDENT and top - second >= MARGIN:
            return "confident"
        if len([c for c in ranked if c.score >= ASK_MIN]) >= 2:
            return "ambiguous"
        return "none"


_resolvers: dict[tuple[int, str], Resolver] = {}
_building = threading.Lock()  # one build per registry, even when the warm-up and a page race


def resolver_for(registry: Registry, dictionary: Path | None) -> Resolver:
    key = (id(registry), str(dictionary))
    if key not in _resolvers:
        with _building:
            if key not in _resolvers:
                _resolvers[key] = Resolver(registry, dictionary)
    return _resolvers[key]
