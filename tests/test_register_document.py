"""The promise register against the signed document: every bullet, word for word, and
nothing that is not in it (issue 16, section 1).

The document (``data/stromstad/medborgarloften-stromstad-2023-2024.txt``) is parsed here,
independently of the register loader: a bullet starts with ``•``; its text runs over the
following lines (joined with one space) until the next bullet or, once the text ends with a
full stop, a heading line. The heading a bullet stands under is its area.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from promises.register import load_register

ROOT = Path(__file__).resolve().parents[1]
REGISTER = ROOT / "data" / "stromstad" / "medborgarloften_2023_2024.toml"
DOCUMENT = ROOT / "data" / "stromstad" / "medborgarloften-stromstad-2023-2024.txt"
#: The list of promises starts after this line and ends at the signature line.
START = "Medborgarlöften för 2023-2024"
END = re.compile(r"^Strömstad, \d{4}-\d{2}-\d{2}$")


def document_bullets(text: str) -> list[tuple[str, str]]:
    """(heading, bullet text) of every bullet of the promise list, in document order."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    lines = lines[lines.index(START) + 1:]
    out: list[tuple[str, str]] = []
    heading = ""
    current: list[str] | None = None
    for line in lines:
        if END.match(line):
            break
        if line.startswith("•"):
            if current is not None:
                out.append((heading, " ".join(current)))
            current = [line.lstrip("• ").strip()]
        elif current is not None and not current[-1].endswith("."):
            current.append(line)
        else:  # a heading: the previous bullet (if any) has ended
            if current is not None:
                out.append((heading, " ".join(current)))
                current = None
            heading = line
    if current is not None:
        out.append((heading, " ".join(current)))
    return out


@pytest.fixture(scope="module")
def bullets() -> list[tuple[str, str]]:
    return document_bullets(DOCUMENT.read_text(encoding="utf-8"))


def test_the_parser_finds_the_documents_21_bullets_under_6_headings(bullets):
    assert len(bullets) == 21
    assert list(dict.fromkeys(h for h, _ in bullets)) == [
        "Polisen ska öka synligheten av uniformerad polis i kommunen genom:",
        "Insatser mot narkotika", "Förebyggande insatser", "Våld i nära relationer",
        "Insatser i den fysiska miljön",
        "Gemensamma löften mellan Strömstads kommun och Tanums kommun"]
    # a bullet over several lines, with a hyphenated compound at a line break
    assert ("Förebyggande insatser", "Uppmuntra och stötta lokala verksamheter samt boenden "
            "att implementera grann- och båtsamverkan i Strömstads kommun. Detta genom att "
            "anordna två (2) informationsträffar per år.") in bullets
    # a continuation line that starts with a capital letter
    assert any("andra kommuner i Fyrbodal samt Brottsofferjouren Fyrbodal genomföra" in b
               for _, b in bullets)


def test_every_bullet_is_one_register_entry_verbatim_and_nothing_else(bullets):
    reg = load_register(REGISTER)
    assert reg.source_document == DOCUMENT
    in_register = [(p.area, p.text) for p in reg.promises]
    assert in_register == bullets
    assert not any("Exempel" in p.text for p in reg.promises)


@pytest.mark.parametrize(("pid", "target", "words"), [
    ("trafikkontroller", 80, "Minst åttio (80) trafikkontroller per år"),
    ("patruller", 40, "Minst fyrtio (40) fot- eller cykelpatruller per år"),
    ("skolbesok", 30, "vid minst trettio (30) tillfällen göra skol- och fritidsgårdsbesök"),
    ("grannsamverkan", 2, "anordna två (2) informationsträffar per år"),
    ("dialogmoten", 2, "anordna minst två (2) informationsmöten per år"),
    ("vnr-konferens", 1, "årligen"),
    ("skolvandringar", 2, "Genomföra två trygghetsvandringar"),
])
def test_numbered_promises_carry_the_documents_number(pid, target, words):
    p = load_register(REGISTER).get(pid)
    assert p.target == target and words in p.text
    assert p.measure in ("activities", "school_walks")


def test_promises_without_a_number_are_followed_up_by_milestones():
    reg = load_register(REGISTER)
    numbered = {"trafikkontroller", "patruller", "skolbesok", "grannsamverkan",
                "dialogmoten", "vnr-konferens", "skolvandringar"}
    measured = {"belysning", "led", "vandringar"}   # counted from the data
    for p in reg.promises:
        if p.id in numbered:
            assert p.target is not None, p.id
        elif p.id in measured:
            assert p.target is None and p.measure != "milestones", p.id
        else:
            assert p.target is None and p.measure == "milestones", p.id


def test_owners_and_partners_follow_the_document():
    reg = load_register(REGISTER)
    for p in reg.promises:
        if p.text.startswith(("Polisen ska", "Minst")):
            assert p.owner == "polisen", p.id
        if p.text.startswith("Polisen och Strömstads kommun"):
            assert p.owner == "båda", p.id
        if p.text.startswith("Strömstads kommun ska"):
            assert p.owner == "kommunen", p.id
        for partner in p.partners:
            # partners are named in the text (Fyrbodal's kommuner as "kommuner i Fyrbodal")
            word = partner.split()[0].rstrip("s")
            assert word.casefold() in p.text.casefold(), (p.id, partner)
    assert reg.get("samverkan-tanum").joint_with == ("Tanum",)
