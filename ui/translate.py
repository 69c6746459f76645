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

import datetime as dt
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

#: Finding state label -> English (labels as in :data:`walks.model.FINDING_STATES`).
STATE_EN: dict[str, str] = {
    "ny": "new",
    "bedömd": "assessed",
    "planerad": "planned",
    "åtgärdad": "fixed",
    "avslutad utan åtgärd": "closed without action",
}

#: Responsible party -> English (:data:`walks.model.RESPONSIBLE_PARTIES`; names of
#: authorities stay as they are).
RESPONSIBLE_EN: dict[str, str] = {
    "kommun gata/park": "municipality, streets/parks",
    "kommun fastighet": "municipality, property",
    "Trafikverket": "Trafikverket",
    "bostadsbolag": "housing company",
    "privat fastighetsägare": "private property owner",
}

#: Walk states, light conditions and participant groups -> English
#: (:data:`walks.model.WALK_STATES`, :data:`~walks.model.LIGHT_CONDITIONS`,
#: :data:`~walks.model.PARTICIPANT_GROUPS`) and milestone steps
#: (:data:`promises.milestones.STEPS`).
WALK_EN: dict[str, str] = {
    "planerad": "planned",
    "genomförd": "held",
    "protokoll publicerat": "protocol published",
    "dagsljus": "daylight",
    "skymning": "dusk",
    "mörker": "darkness",
    "boende": "residents",
    "kvinnor": "women",
    "män": "men",
    "unga": "young people",
    "barn": "children",
    "äldre": "older people",
    "personer med funktionsnedsättning": "people with disabilities",
    "personal": "staff",
    "polis": "police",
    "förtroendevalda": "elected representatives",
    "fastighetsägare": "property owners",
    "föreningar": "associations",
    "övriga": "others",
    "påbörjat": "started",
    "genomfört": "done",
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


def state_text(label: str, lang: str) -> str:
    """A finding state label in *lang* (unknown labels pass through)."""
    return STATE_EN.get(str(label), str(label)) if lang == "en" else str(label)


def responsible_text(party: str, lang: str) -> str:
    """A responsible party (:data:`walks.model.RESPONSIBLE_PARTIES`) in *lang*."""
    return RESPONSIBLE_EN.get(str(party), str(party)) if lang == "en" else str(party)


def label_text(label: str, lang: str) -> str:
    """Any fixed label of the data model in *lang*: a finding state or category, a
    responsible party, a walk state, light condition, participant group or milestone step
    (unknown labels pass through)."""
    if lang != "en":
        return str(label)
    key = str(label)
    for table in (STATE_EN, CATEGORY_EN, RESPONSIBLE_EN, WALK_EN):
        if key in table:
            return table[key]
    return key


_MONTHS_SV = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
              "september", "oktober", "november", "december")
_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")
_MONTHS_SHORT_SV = ("jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt",
                    "nov", "dec")
_MONTHS_SHORT_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                    "Nov", "Dec")
_NUM = r"[\d\u202f\u00a0 ,.]+"
_MONTH = "(" + "|".join(_MONTHS_SV) + ")"

#: Phrases of the follow-up report and the lägesbild (:mod:`promises.report`,
#: :mod:`promises.progress`, :mod:`promises.lagesbild`): (pattern, English), applied in
#: order. Register texts (promise wording, units, place names) pass through unchanged.
_REPORT_RULES: tuple[tuple[str, str], ...] = (
    # chart titles and text alternatives
    (r"^Fynd per månad (\d{4})$", r"Findings per month \1"),
    (r"^Åtgärdade fynd per månad (\d{4})$", r"Fixed findings per month \1"),
    (r"^Armaturer per ljuskälla, före och efter$", "Luminaires by light source, before and after"),
    (r"^Mörker under skolvägen per månad$", "Darkness on the way to school by month"),
    (r"Stapeldiagram över offentliga fynd per månad (\d{4})\.",
     r"Bar chart of public findings per month \1."),
    (r"Stapeldiagram över fynd som åtgärdades per månad (\d{4})\.",
     r"Bar chart of findings fixed per month \1."),
    (r"Flest i " + _MONTH + r" \((\d+)\)\.", r"Most in \1 (\2)."),
    (r"Inga under året\.", "None during the year."),
    (r"Stapeldiagram över armaturer per ljuskälla\. LED-armaturer: (\d+) före och (\d+) "
     r"efter; (\d+) armaturer byttes till LED\.",
     r"Bar chart of luminaires by light source. LED luminaires: \1 before and \2 after; "
     r"\3 luminaires were converted to LED."),
    (r"Stapeldiagram över andelen av skolvägstiden \(([^)]*) och ([^)]*)\) som är mörk\. "
     r"Mörkast i " + _MONTH + ": (" + _NUM + ") procent\\.",
     r"Bar chart of the share of the school commute (\1 and \2) that is dark. Darkest in "
     r"\3: \4 per cent."),
    *((r"Karta över gång- och cykelvägar färgade efter belysning " + sv + r" årets arbete "
       r"\(([^)]*)\), i utsnittet där mest förbättrades\. Delsträckor som fick godkänd "
       r"belysning under året \(totalt (" + _NUM + r") km i hela kommunen\) är markerade "
       r"med blå bakgrund\.",
       r"Map of walking and cycle paths coloured by lighting " + en + r" the year's work "
       r"(\1), in the part where most was improved. Stretches that got adequate lighting "
       r"during the year (\2 km in the whole municipality) are marked with a blue "
       r"background.") for sv, en in (("före", "before"), ("efter", "after"))),
    (r"^Karta före: ", "Map before: "), (r"^Karta efter: ", "Map after: "),
    # table headings of the charts
    (r"^Månad$", "Month"), (r"^Fynd$", "Findings"), (r"^Åtgärdade$", "Fixed"),
    (r"^Ljuskälla$", "Light source"), (r"^Morgon, %$", "Morning, %"),
    (r"^Eftermiddag, %$", "Afternoon, %"),
    # promise progress
    (r"^milstolpar: påbörjat, genomfört$", "milestones: started, done"),
    (r"^ej påbörjat$", "not started"),
    (r"^påbörjat ", "started "), (r"^genomfört ", "done "),
    (r"^genomföra under året$", "carry out during the year"),
    (r"^genomfört$", "done"), (r"^inte genomfört$", "not done"),
    (r"^(" + _NUM + r") tillfällen (\d{4}) enligt aktivitetsloggen$",
     r"\1 occasions in \2 according to the activity log"),
    (r"^Inom (" + _NUM + r") m från skola: ", r"Within \1 m of a school: "),
    (r"^Inom (" + _NUM + r") m från övergångsställe: ", r"Within \1 m of a crossing: "),
    (r"^I (.+): (" + _NUM + r") km$", r"In \1: \2 km"),
    (r"^Sparar (" + _NUM + r") kWh, (" + _NUM + r") (\S+) och (" + _NUM + r") kg CO₂ per år$",
     r"Saves \1 kWh, \2 \3 and \4 kg CO₂ per year"),
    (r"^(\d+) av bytena gällde armaturer med okänd ljuskälla: inte med i besparingen$",
     r"\1 of the conversions were luminaires with an unknown light source: not in the "
     r"saving"),
    (r" per år$", " per year"),
    (r"(\d) kr\b", r"\1 SEK"),
    (r"^Belysningsregister saknas för årets början eller slut\.$",
     "Lighting inventory missing for the start or end of the year."),
    (r"^(" + _NUM + r") deltagare och (" + _NUM + r") offentliga fynd$",
     r"\1 participants and \2 public findings"),
    (r"^Vid ", "At "),
    (r"^Utsedda skolor: ", "Designated schools: "),
    # sources and inventory labels
    (r"^Löftesregister: ", "Promise register: "),
    (r"^Trygghetsvandringar och fynd: kommunens fyndregister \(endast offentliga fynd\)$",
     "Safety walks and findings: the municipality's findings register (public findings "
     "only)"),
    (r"^Aktiviteter: aktivitetsloggen för medborgarlöftena$",
     "Activities: the activity log of the promises"),
    (r"^Belysning: (.+) och (.+), rangordnade med samma belysningsmodell \(EN 13201-2\)$",
     r"Lighting: \1 and \2, ranked with the same lighting model (EN 13201-2)"),
    (r"Belysningsregister vid årsskiftet (\d{4})/(\d{4})",
     r"Lighting inventory at the turn of the year \1/\2"),
    # lägesbild changes
    (r"^fler än tidigare månader$", "more than in earlier months"),
    (r"^som tidigare månader$", "as in earlier months"),
    (r"^ungefär som snittet för de (\d+) månaderna före \(([^)]*)\)$",
     r"about the average of the \1 months before (\2)"),
    (r"^(" + _NUM + r") procent fler än snittet för de (\d+) månaderna före \(([^)]*)\)$",
     r"\1 per cent more than the average of the \2 months before (\3)"),
    (r"^(" + _NUM + r") procent färre än snittet för de (\d+) månaderna före \(([^)]*)\)$",
     r"\1 per cent fewer than the average of the \2 months before (\3)"),
    # school day of the darkness table ("08:10–14:20, 25 min resa")
    (r", (\d+) min resa$", r", \1 min travel"),
)
#: Owners of a promise (:data:`promises.register.OWNER_LABELS`) in English.
OWNER_EN: dict[str, str] = {"polisen": "The police", "kommunen": "The municipality",
                            "båda": "The municipality and the police"}

_REPORT_COMPILED = tuple((re.compile(p), r) for p, r in _REPORT_RULES)
_MONTH_WORD = re.compile(r"\b(" + "|".join(_MONTHS_SV) + r")\b")


@functools.lru_cache(maxsize=4096)
def _report_en(text: str) -> str:
    for pattern, repl in _REPORT_COMPILED:
        text = pattern.sub(repl, text)
    text = _MONTH_WORD.sub(lambda m: _MONTHS_EN[_MONTHS_SV.index(m.group(1))], text)
    if text in _MONTHS_SHORT_SV:
        return _MONTHS_SHORT_EN[_MONTHS_SHORT_SV.index(text)]
    return label_text(text, "en")


def report_text(text: str, lang: str) -> str:
    """A text of the follow-up report or the lägesbild in *lang* (``"sv"``: as it is).

    Examples
    --------
    >>> report_text("Inom 300 m från skola: 0,71 km", "en")
    'Within 300 m of a school: 0,71 km'
    >>> report_text("påbörjat 2023-04-20", "en")
    'started 2023-04-20'
    >>> report_text("nov", "en")
    'Nov'
    """
    return text if lang != "en" or not text else _report_en(str(text))


def month_text(first: dt.date, lang: str) -> str:
    """``"november 2024"`` / ``"November 2024"`` for a date's month."""
    month, year = first.month, first.year
    names = _MONTHS_EN if lang == "en" else _MONTHS_SV
    return f"{names[month - 1]} {year}"
