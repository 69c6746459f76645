"""Finding categories as data: the Boverket/Brå safety-walk checklist.

Categories are rows of data (:class:`Category`), not an enum hard-coded in the UI: each has
a label (the stored value), an ``active`` flag (retired categories stay readable but are no
longer offered or mapped to), a ``staff_only`` flag (never shown publicly, see
:mod:`walks.public`), Swedish and English synonyms for importing other tools' free-text
categories, and the checklist questions the protocol prints for the category.

The checklist follows the topics of Boverket's *Plats för trygghet* and Brå's guidance on
trygghetsvandringar: lighting, vegetation, hidden places and sight lines, walkways and
accessibility, traffic safety, vandalism and litter, orientation, and safe places worth
keeping.

Synonym matching (:func:`map_category`) is case- and diacritic-insensitive
(``"MÖRKT"`` = ``"morkt"``) and works on whole words; a synonym written ``"*belysning"``
also matches words that *end* in it (Swedish compounds such as ``gatubelysning``) and
``"lamp*"`` matches words that *start* with it. When several categories match, the longest
matched synonym wins (``"traffic light"`` beats ``"light"``).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

#: Label of the fallback category; unknown categories go here and are never dropped.
OTHER = "övrigt"


@dataclass(frozen=True)
class Category:
    """One finding category.

    Attributes
    ----------
    label : str
        Stored value and display text, e.g. ``"belysning"``.
    active : bool
        False for retired categories: kept so old findings stay valid, but not offered for
        new findings and never the result of :func:`map_category`.
    staff_only : bool
        True for categories that must never reach a public output.
    synonyms : tuple of str
        Swedish and English words that map to this category (see module docstring for the
        ``*`` stem syntax). The label and its ``/``-separated parts are always synonyms.
    questions : tuple of str
        Checklist questions (Swedish) printed in the walk protocol.
    """

    label: str
    active: bool = True
    staff_only: bool = False
    synonyms: tuple[str, ...] = ()
    questions: tuple[str, ...] = field(default=())


#: The default categories, in checklist order. Replace or extend with your own tuple of
#: :class:`Category` and pass it to the functions below.
CATEGORIES: tuple[Category, ...] = (
    Category(
        "belysning",
        synonyms=(
            "ljus", "belysning", "*belysning", "lampa", "lampan", "lampor", "*lampa", "*lampan",
            "*lampor", "lykta", "*lykta", "*lyktor", "gatljus", "armatur", "*armatur", "stolpe",
            "belysningsstolpe", "mörkt", "mörk", "mörker", "släckt", "trasig lampa",
            "lighting", "light", "lights", "street light", "streetlight", "street lamp",
            "lamp", "lamps", "lamp post", "lamppost", "dark", "darkness", "unlit",
            "broken light", "illumination",
        ),
        questions=(
            "Är platsen tillräckligt belyst för att man ska kunna se ansikten på 10 meters "
            "avstånd?",
            "Finns det trasiga, släckta eller bländande armaturer?",
            "Lyser belysningen på gångytan, eller skyms den av träd och buskar?",
            "Finns det mörka partier mellan belysningspunkterna?",
        ),
    ),
    Category(
        "vegetation/buskage",
        synonyms=(
            "vegetation", "buskage", "buskar", "buske", "busk", "häck", "häckar", "träd",
            "grenar", "sly", "igenvuxen", "igenväxt", "växtlighet", "*buskar", "*häck",
            "bushes", "bush", "shrubs", "shrub", "hedge", "hedges", "trees", "tree",
            "branches", "overgrown", "greenery", "undergrowth",
        ),
        questions=(
            "Skymmer buskar eller träd sikten eller belysningen?",
            "Behöver vegetationen gallras eller beskäras?",
            "Kan man se in i och ut ur grönområdet från gångvägen?",
        ),
    ),
    Category(
        "skymd sikt/gömställen",
        synonyms=(
            "skymd sikt", "skymd", "gömställe", "gömställen", "dålig sikt", "sikt",
            "undangömd", "tunnel", "gångtunnel", "undergång", "prång", "återvändsgränd",
            "blind corner", "blind spot", "hiding place", "hiding places", "hidden",
            "poor visibility", "visibility", "underpass", "subway", "alley", "dead end",
        ),
        questions=(
            "Finns det platser där någon kan gömma sig?",
            "Kan man se vad som finns runt hörnet eller i slutet av tunneln?",
            "Finns det alternativa vägar om man känner sig otrygg?",
        ),
    ),
    Category(
        "gångväg/tillgänglighet",
        synonyms=(
            "gångväg", "gångvägen", "gångbana", "*gångväg", "*gångvägen", "gc-väg",
            "trottoar", "tillgänglighet", "trappa", "trappan", "trappor", "ledstång", "ramp",
            "kantsten", "hål", "gropar", "ojämn", "halt", "halka", "rullstol", "barnvagn",
            "rollator", "framkomlighet", "beläggning",
            "walkway", "footpath", "footway", "sidewalk", "pavement", "path", "accessibility",
            "accessible", "stairs", "steps", "handrail", "curb", "kerb", "pothole", "uneven",
            "slippery", "wheelchair", "pram", "stroller",
        ),
        questions=(
            "Är gångytan jämn, hel och fri från hinder?",
            "Kan man ta sig fram med rullstol, rollator och barnvagn?",
            "Finns ledstänger vid trappor och ramper där de behövs?",
            "Sköts snöröjning och halkbekämpning?",
        ),
    ),
    Category(
        "trafiksäkerhet/övergångsställe",
        synonyms=(
            "trafik", "trafiksäkerhet", "övergångsställe", "övergångsstället", "passage",
            "korsning", "trafikljus", "hastighet", "fart", "bilar", "farthinder",
            "busshållplats", "*övergångsställe", "cykelbana", "skolväg",
            "traffic", "traffic safety", "traffic light", "traffic lights", "crossing",
            "pedestrian crossing", "zebra crossing", "crosswalk", "intersection", "junction",
            "speed", "speeding", "cars", "speed bump", "bus stop",
        ),
        questions=(
            "Är övergångsstället tydligt, belyst och säkert att korsa?",
            "Håller fordonen låg hastighet här?",
            "Är sikten fri för både gående och förare?",
        ),
    ),
    Category(
        "skadegörelse/klotter/nedskräpning",
        synonyms=(
            "skadegörelse", "klotter", "klottrat", "nedskräpning", "nedskräpat", "skräp",
            "sopor", "krossat glas", "glas", "vandalisering", "förstörd", "sönder",
            "papperskorg", "*skräp",
            "vandalism", "vandalised", "vandalized", "graffiti", "tags", "litter", "littering",
            "rubbish", "trash", "garbage", "broken glass", "damage", "damaged", "dumping",
        ),
        questions=(
            "Finns det klotter, skadegörelse eller nedskräpning?",
            "Åtgärdas skadegörelse snabbt?",
            "Finns papperskorgar och töms de?",
        ),
    ),
    Category(
        "orientering/överblick",
        synonyms=(
            "orientering", "överblick", "överblickbar", "skylt", "skyltar", "skyltning",
            "vägvisning", "karta", "hitta", "vilse", "oöverskådlig",
            "orientation", "overview", "wayfinding", "signage", "sign", "signs", "map",
            "lost", "confusing",
        ),
        questions=(
            "Är det lätt att hitta och se vart vägen leder?",
            "Finns skyltar, kartor och tydliga riktmärken?",
            "Kan man överblicka platsen och se andra människor?",
        ),
    ),
    Category(
        "trygg/positiv plats",
        synonyms=(
            "trygg", "trygg plats", "positiv", "positiv plats", "bra plats", "trivsam",
            "trevlig", "mötesplats", "levande",
            "safe", "safe place", "positive", "good place", "nice", "pleasant",
            "meeting place",
        ),
        questions=(
            "Vad gör att platsen känns trygg eller trivsam?",
            "Vad är viktigt att bevara här?",
        ),
    ),
    Category(
        OTHER,
        synonyms=("övrigt", "annat", "övriga", "other", "misc", "miscellaneous"),
        questions=("Finns det något annat som påverkar tryggheten på platsen?",),
    ),
    Category(
        "känslig plats",
        staff_only=True,
        synonyms=("känslig", "känslig plats", "sensitive", "sensitive place", "internal"),
        questions=(
            "Finns uppgifter om platsen som inte ska publiceras (t.ex. utsatta personer, "
            "pågående polisärenden)?",
        ),
    ),
)


def normalize_text(text: object) -> str:
    """Lower-case, diacritic-free, punctuation-free form of *text* used for matching.

    Examples
    --------
    >>> normalize_text("  Mörkt / Gatubelysning! ")
    'morkt gatubelysning'
    """
    if text is None:
        return ""
    s = unicodedata.normalize("NFKD", str(text).casefold())
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    s = re.sub(r"[^0-9a-z]+", " ", s)
    return " ".join(s.split())


def category_labels(categories: Sequence[Category] = CATEGORIES,
                    include_inactive: bool = False) -> tuple[str, ...]:
    """Labels of the (active, unless *include_inactive*) categories, in checklist order."""
    return tuple(c.label for c in categories if include_inactive or c.active)


def get_category(label: str, categories: Sequence[Category] = CATEGORIES) -> Category:
    """The :class:`Category` with exactly this *label*.

    Raises
    ------
    KeyError
        If no category has the label; the message lists the labels.
    """
    for c in categories:
        if c.label == label:
            return c
    raise KeyError(f"unknown category {label!r}; use one of: "
                   f"{', '.join(category_labels(categories, include_inactive=True))}")


def staff_only_labels(categories: Sequence[Category] = CATEGORIES) -> frozenset[str]:
    """Labels of categories that must never be published."""
    return frozenset(c.label for c in categories if c.staff_only)


def checklist(categories: Sequence[Category] = CATEGORIES) -> dict[str, tuple[str, ...]]:
    """Checklist questions per active category label, for the walk protocol (Swedish)."""
    return {c.label: c.questions for c in categories if c.active}


def _patterns(category: Category) -> list[tuple[re.Pattern[str], int]]:
    words = [category.label, *category.label.split("/"), *category.synonyms]
    out = []
    for w in words:
        prefix = w.startswith("*")
        suffix = w.endswith("*")
        core = normalize_text(w.strip("*"))
        if not core:
            continue
        body = re.escape(core)
        left = r"[0-9a-z]*" if prefix else ""
        right = r"[0-9a-z]*" if suffix else ""
        out.append((re.compile(rf"(?<![0-9a-z]){left}{body}{right}(?![0-9a-z])"), len(core)))
    return out


def map_category(text: object,
                 categories: Sequence[Category] = CATEGORIES) -> tuple[str, bool]:
    """Map a free-text category (Swedish or English) to a category label.

    Parameters
    ----------
    text : str or None
        Category text from another tool, e.g. ``"Street light"``, ``"Buskar"``,
        ``"belysning"`` or a sentence containing such a word.
    categories : sequence of Category
        The categories to map to; only active ones are candidates.

    Returns
    -------
    (str, bool)
        The label and whether it was recognised. Unknown or empty text gives
        ``("övrigt", False)``: the caller warns, the finding is never dropped.

    Examples
    --------
    >>> map_category("Street light")
    ('belysning', True)
    >>> map_category("MÖRKT")
    ('belysning', True)
    >>> map_category("klotter på väggen")
    ('skadegörelse/klotter/nedskräpning', True)
    >>> map_category("ufo")
    ('övrigt', False)
    """
    norm = normalize_text(text)
    active = [c for c in categories if c.active]
    if not norm:
        return OTHER, False
    for c in active:
        if normalize_text(c.label) == norm:
            return c.label, True
    best: tuple[int, int, str] | None = None  # (matched length, -order, label)
    for order, c in enumerate(active):
        for pattern, _length in _patterns(c):
            m = pattern.search(norm)
            if m is None:
                continue
            key = (len(m.group(0)), -order, c.label)
            if best is None or key[:2] > best[:2]:
                best = key
    if best is None:
        logger.debug("category %r not recognised; mapped to %s", text, OTHER)
        return OTHER, False
    return best[2], True
