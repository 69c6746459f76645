"""Tests for walks.categories and walks.model: categories as data, states with a type,
validation that names the field, and no names anywhere."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from shapely.geometry import LineString, Point

from layers._common import ValidationError
from walks import categories as cat
from walks import model as m

NOW = datetime(2025, 10, 15, 18, 0, tzinfo=UTC)


def finding(**kw: object) -> m.Finding:
    base: dict[str, object] = dict(id=m.new_id(), geometry=Point(300_000, 6_540_000),
                                   created=NOW, category="belysning", walk_id="w1")
    base.update(kw)
    return m.Finding(**base)  # type: ignore[arg-type]


# --- categories -------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "label"), [
    ("lighting", "belysning"),
    ("Street light", "belysning"),
    ("streetlight broken", "belysning"),
    ("ljus", "belysning"),
    ("mörkt", "belysning"),
    ("MÖRKT", "belysning"),
    ("morkt", "belysning"),
    ("Trasig gatubelysning", "belysning"),
    ("bushes", "vegetation/buskage"),
    ("Buskar", "vegetation/buskage"),
    ("vegetation", "vegetation/buskage"),
    ("graffiti", "skadegörelse/klotter/nedskräpning"),
    ("klotter", "skadegörelse/klotter/nedskräpning"),
    ("litter", "skadegörelse/klotter/nedskräpning"),
    ("traffic light", "trafiksäkerhet/övergångsställe"),
    ("Övergångsställe", "trafiksäkerhet/övergångsställe"),
    ("hiding place", "skymd sikt/gömställen"),
    ("Trappa", "gångväg/tillgänglighet"),
    ("signage", "orientering/överblick"),
    ("Trygg plats", "trygg/positiv plats"),
    ("belysning", "belysning"),
    ("skadegörelse/klotter/nedskräpning", "skadegörelse/klotter/nedskräpning"),
    ("Övrigt", "övrigt"),
])
def test_map_category_recognises_swedish_and_english(text: str, label: str) -> None:
    assert cat.map_category(text) == (label, True)


@pytest.mark.parametrize("text", ["", None, "ufo", "otrygg", "   "])
def test_map_category_unknown_goes_to_ovrigt(text: object) -> None:
    assert cat.map_category(text) == ("övrigt", False)


def test_inactive_categories_are_never_mapped_to() -> None:
    cats = tuple(dataclasses.replace(c, active=False) if c.label == "belysning" else c
                 for c in cat.CATEGORIES)
    assert cat.map_category("lighting", cats) == ("övrigt", False)
    assert "belysning" not in cat.category_labels(cats)
    assert "belysning" in cat.category_labels(cats, include_inactive=True)


def test_categories_are_data_with_checklist_questions() -> None:
    labels = cat.category_labels()
    assert labels[:9] == (
        "belysning", "vegetation/buskage", "skymd sikt/gömställen", "gångväg/tillgänglighet",
        "trafiksäkerhet/övergångsställe", "skadegörelse/klotter/nedskräpning",
        "orientering/överblick", "trygg/positiv plats", "övrigt")
    questions = cat.checklist()
    assert all(questions[label] for label in labels)
    assert cat.staff_only_labels() == {"känslig plats"}
    with pytest.raises(KeyError, match="unknown category 'x'"):
        cat.get_category("x")


# --- states -----------------------------------------------------------------------------

def test_states_have_types_and_code_asks_the_type() -> None:
    assert [s.is_open() for s in m.FINDING_STATES] == [True, True, True, False, False]
    assert m.ATGARDAD.is_fixed() and not m.ATGARDAD.is_open()
    assert m.AVSLUTAD_UTAN_ATGARD.is_closed() and m.AVSLUTAD_UTAN_ATGARD.requires_reason
    assert m.finding_state("Bedömd") is m.BEDOMD
    assert m.finding_state("avslutad") is m.AVSLUTAD_UTAN_ATGARD
    with pytest.raises(ValidationError, match="field 'state': unknown state 'gjord'"):
        m.finding_state("gjord")


def test_walk_states_move_forward() -> None:
    assert [s.step for s in m.WALK_STATES] == [0, 1, 2]
    assert m.walk_state("protokoll publicerat").is_published()
    assert m.WALK_GENOMFORD.is_held() and m.WALK_PLANERAD.is_planned()


# --- finding validation -----------------------------------------------------------------

def test_closed_without_reason_is_refused() -> None:
    with pytest.raises(ValidationError, match="field 'closed_reason'.*requires a reason"):
        finding(state=m.AVSLUTAD_UTAN_ATGARD)
    ok = finding(state=m.AVSLUTAD_UTAN_ATGARD, closed_reason="Privat mark")
    assert ok.state.is_closed()


def test_finding_validation_reports_every_bad_field_at_once() -> None:
    with pytest.raises(ValidationError) as info:
        finding(id="nope", severity=4, created=datetime(2025, 1, 1), walk_id=None,
                responsible="Anna", geometry=Point())
    fields = {p.column for p in info.value.problems}
    assert fields == {"id", "severity", "created", "walk_id", "responsible", "geometry"}
    assert "field 'severity': severity 4 is not 1, 2 or 3" in str(info.value)


def test_finding_validate_against_categories() -> None:
    f = finding(category="lampor")
    with pytest.raises(ValidationError, match="field 'category': unknown category 'lampor'"):
        f.validate(cat.CATEGORIES)


def test_finding_is_frozen_and_keeps_original_description() -> None:
    f = finding(description="Mörkt vid cykelstället")
    assert f.description_original == "Mörkt vid cykelstället"
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.severity = 3  # type: ignore[misc]
    g = dataclasses.replace(f, description="Mörkt vid cykelstället (modererad)")
    assert g.description_original == "Mörkt vid cykelstället"


def test_responsible_parties_and_aliases() -> None:
    assert m.normalize_responsible("skolan/fastighet") == "kommun fastighet"
    assert m.normalize_responsible("trafikverket") == "Trafikverket"
    assert m.normalize_responsible("") is None
    with pytest.raises(ValidationError, match="field 'responsible'"):
        m.normalize_responsible("Kalle Anka")


# --- walks and participants -------------------------------------------------------------

def test_walk_counts_participants_per_group_never_names() -> None:
    w = m.Walk("w1", "Kvällsvandring", NOW, light="mörker",
               route=LineString([(0, 0), (10, 0)]), stops=(m.Stop(Point(0, 0), "Start"),),
               participants={"residents": 5, "kvinnor": 3, "young people": 2, "staff": 1})
    assert dict(w.participants) == {"boende": 5, "kvinnor": 3, "unga": 2, "personal": 1}
    with pytest.raises(ValidationError, match="field 'participants': unknown participant "
                                              "group 'Anna Svensson'"):
        m.Walk("w2", "x", NOW, participants={"Anna Svensson": 1})
    with pytest.raises(ValidationError, match="count for 'boende' is -1"):
        m.Walk("w2", "x", NOW, participants={"boende": -1})


def test_walk_validation_names_fields() -> None:
    with pytest.raises(ValidationError) as info:
        m.Walk("w1", "", datetime(2025, 1, 1), light="natt")
    assert {p.column for p in info.value.problems} == {"title", "start", "light"}


def test_no_name_fields_anywhere() -> None:
    for cls in (m.Walk, m.Finding, m.FindingUpdate, m.Stop):
        names = {f.name for f in dataclasses.fields(cls)}
        assert not names & {"name", "names", "author", "author_name", "reporter", "email"}
    with pytest.raises(ValidationError, match="field 'author_role'"):
        m.FindingUpdate(m.new_id(), NOW, "Anna", None, "ny")
