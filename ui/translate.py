"""English for the Swedish texts the analysis computes: reasons and finding categories.

:mod:`gis` writes one Swedish line per segment, package and luminaire
(:func:`gis.score.reasons`, :func:`gis.led` reasons) and the findings carry Swedish category
labels (:data:`walks.categories.CATEGORIES`). The data keeps Swedish (the CSV/XLSX files and
the yearly report are Swedish); under the English toggle the app shows them through
:func:`reason_text` and :func:`category_text`. The reasons are built from a fixed vocabulary,
so the translation is a fixed, ordered list of phrase rules (longest first); numbers, street,
school and area names pass through unchanged. No Streamlit here.
"""

from __future__ import annotations

import functools
import re

#: Category label -> English (labels as in :data:`walks.categories.CATEGORIES`).
CATEGORY_EN: dict[str, str] = {
    "belysning": "lighting",
    "vegetation/buskage": "vegetation/bushes",
    "skymd sikt/gömställen": "blocked view/hiding places",
    "gångväg/tillgänglighet": "footpath/accessibility",
    "trafiksäkerhet/övergångsställe": "traffic safety/crossing",
    "skadegörelse/klotter/nedskräpning": "vandalism/graffiti/litter",
    "orientering/överblick": "orientation/overview",
    "trygg/positiv plats": "safe/positive place",
    "övrigt": "other",
    "känslig plats": "sensitive place",
}

#: (pattern, English) in the order they are applied; patterns are regular expressions.
_RULES: tuple[tuple[str, str], ...] = (
    # statuses (gis.score.STATUS_SV)
    (r"Belyst med gammal teknik \(Hg/HPS\)", "Lit with old technology (Hg/HPS)"),
    (r"Tillräckligt belyst", "Lit well enough"),
    (r"Okänd belysning,", "Lighting unknown,"),
    (r"\bUnderbelyst", "Under-lit"),
    (r"\bObelyst", "Unlit"),
    # path types (gis.score.PATH_TYPE_SV), longest first
    (r"\bGC-väg\b", "footway/cycleway"),
    (r"\bgångfartsgata\b", "living street"),
    (r"\bgångväg\b", "footway"),
    (r"\btrottoar\b", "sidewalk"),
    (r"\bgågata\b", "pedestrian street"),
    (r"\bgrusväg\b", "track"),
    (r"\btrappa\b", "steps"),
    (r"\bstig\b", "path"),
    # clauses of segment reasons
    (r"(\d) övergångsställen inom 50 m", r"\1 crossings within 50 m"),
    (r"\b1 övergångsställe inom 50 m", "1 crossing within 50 m"),
    (r"skolväg för 1 rutt\b", "on 1 school route"),
    (r"skolväg för ([\d\u202f\u00a0 ]+) rutter", r"on \1 school routes"),
    (r"\b1 synpunkt från trygghetsvandring", "1 safety-walk finding"),
    (r"(\d) synpunkter från trygghetsvandring", r"\1 safety-walk findings"),
    (r" lx, mål ", " lx, target "),
    (r" m från ", " m from "),
    (r" km från ", " km from "),
    # LED reasons (gis.led.SOURCE_SV and clauses)
    (r"Kvicksilverlampa \(förbjuden i EU sedan 2015\)", "Mercury lamp (banned in the EU since 2015)"),
    (r"Okänd ljuskälla: inventera", "Unknown light source: survey it"),
    (r"\bHögtrycksnatrium\b", "High-pressure sodium"),
    (r"\bLågtrycksnatrium\b", "Low-pressure sodium"),
    (r"\bMetallhalogen\b", "Metal halide"),
    (r"\bLysrör\b", "Fluorescent"),
    (r"\bAnnan ljuskälla\b", "Other light source"),
    (r"\bOkänd ljuskälla\b", "Unknown light source"),
    (r", sparar ([\d\u202f\u00a0 ,]+) kWh/år", r", saves \1 kWh/yr"),
    (r", nära skola\b", ", near a school"),
    (r", vid övergångsställe\b", ", at a crossing"),
    # path types that are words elsewhere too, last
    (r"\bövergångsställe\b", "crossing"),
    (r"\bväg\b", "road"),
    (r", i ", ", in "),
)
_COMPILED = tuple((re.compile(p), r) for p, r in _RULES)


@functools.lru_cache(maxsize=65536)
def _reason_en(text: str) -> str:
    for pattern, repl in _COMPILED:
        text = pattern.sub(repl, text)
    return text


def reason_text(text: str, lang: str) -> str:
    """A reason from :mod:`gis` in *lang* (``"sv"``: as it is; ``"en"``: translated).

    Examples
    --------
    >>> reason_text("Obelyst GC-väg 40 m från Strömstiernaskolan, 2 övergångsställen inom "
    ...             "50 m, skolväg för 12 rutter, i Strömsdalen", "en")
    'Unlit footway/cycleway 40 m from Strömstiernaskolan, 2 crossings within 50 m, on 12 school routes, in Strömsdalen'
    """
    return text if lang != "en" or not text else _reason_en(str(text))


def category_text(label: str, lang: str) -> str:
    """A finding category label in *lang* (unknown labels pass through)."""
    return CATEGORY_EN.get(str(label), str(label)) if lang == "en" else str(label)
