"""The column-wise XLSX writer: openpyxl reads back the same values, header, panes, filter."""

import numpy as np
import openpyxl
import pandas as pd
import pytest

from gis.xlsx import column_letter, write_sheets


def test_column_letters():
    assert [column_letter(i) for i in (0, 25, 26, 27, 701, 702)] == \
        ["A", "Z", "AA", "AB", "ZZ", "AAA"]


def test_round_trip_values_types_and_layout(tmp_path):
    df = pd.DataFrame({
        "Rang": [1, 2, 3],
        "Poäng": [7.847841234, np.nan, -0.5],
        "Motivering": ["Obelyst GC-väg, i Strömsdalen", "<script>&\"x\"</script>", None],
        "Ok": [True, False, True],
        "Lx": [np.inf, 1e-7, 123456789.125],
    })
    path = write_sheets({"Segment": df, "Tomt": df.iloc[:0]}, tmp_path / "t.xlsx",
                        widths={"Segment": [6, 8, 60, 5, 8]}, wrap={"Motivering"})
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Segment", "Tomt"]
    ws = wb["Segment"]
    assert [c.value for c in ws[1]] == list(df.columns)
    assert ws["A1"].font.b is True
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:E4"
    assert ws.column_dimensions["C"].width == pytest.approx(60)
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    assert rows[0] == [1, pytest.approx(7.847841234), "Obelyst GC-väg, i Strömsdalen", True,
                       None]                      # inf is left empty
    assert rows[1][1] is None                     # NaN is left empty
    assert rows[1][2] == "<script>&\"x\"</script>"  # text kept, escaped in the XML
    assert rows[1][4] == pytest.approx(1e-7)
    assert rows[2][2] is None and rows[2][4] == pytest.approx(123456789.125)
    back = pd.read_excel(path, sheet_name="Segment")
    assert back["Rang"].tolist() == [1, 2, 3]


def test_control_characters_are_dropped(tmp_path):
    df = pd.DataFrame({"t": ["a\x00b\x1fc\td"]})
    ws = openpyxl.load_workbook(write_sheets({"s": df}, tmp_path / "c.xlsx"))["s"]
    assert ws["A2"].value == "abc\td"


def test_swedish_csv_is_byte_identical_to_pandas(tmp_path):
    from gis.outputs import write_csv_sv

    df = pd.DataFrame({
        "id": ["w1:0000", "w2:0001", "w3;x"],
        "score": [7.25, np.nan, 1e-7],
        "n": pd.array([1, None, 3], dtype="Int64"),
        "ok": [True, False, True],
        "reason": ['Obelyst; "citat"', "rad\nbrytning", None],
        "count": [1, 2, 3],
        # repeated values are formatted once: 0.0 and -0.0 must still stay apart
        "zero": [0.0, -0.0, 0.0],
        "status": pd.Categorical(["unlit", None, "unlit"]),
        "mixed": [1.5, "x;y", None],
        # floats and ints are formatted in bulk: exponents, infinities, negatives
        "big": [1e16, -np.inf, 1.5e-05],
        "neg": np.array([-3, 0, 2**40], dtype="int64"),
        "small": np.array([0, 7, 255], dtype="uint8"),
    })
    ours = write_csv_sv(df, tmp_path / "a.csv").read_bytes()
    df.to_csv(tmp_path / "b.csv", sep=";", decimal=",", index=False, encoding="utf-8-sig",
              lineterminator="\r\n")
    assert ours == (tmp_path / "b.csv").read_bytes()
    assert ours.startswith(b"\xef\xbb\xbf")


def test_swedish_csv_in_chunks_gives_the_same_bytes(tmp_path, monkeypatch):
    import gis.outputs

    rng = np.random.default_rng(7)
    df = pd.DataFrame({"id": [f"s{i}" for i in range(25)], "x": rng.normal(size=25),
                       "k": rng.integers(0, 3, 25), "t": ["a;b", None, "c"] * 8 + ["d"]})
    whole = gis.outputs.write_csv_sv(df, tmp_path / "a.csv").read_bytes()
    monkeypatch.setattr(gis.outputs, "CSV_CHUNK_ROWS", 4)
    assert gis.outputs.write_csv_sv(df, tmp_path / "b.csv").read_bytes() == whole
    df.to_csv(tmp_path / "c.csv", sep=";", decimal=",", index=False, encoding="utf-8-sig",
              lineterminator="\r\n")
    assert whole == (tmp_path / "c.csv").read_bytes()


def test_sheet_xml_in_chunks_is_the_same_text(tmp_path, monkeypatch):
    import zipfile

    import gis.xlsx

    df = pd.DataFrame({"a": np.arange(11, dtype=float) / 3, "t": [f"x<{i}>" for i in range(11)],
                       "b": [True, False] * 5 + [None]})
    whole = zipfile.ZipFile(write_sheets({"s": df}, tmp_path / "a.xlsx"))
    monkeypatch.setattr(gis.xlsx, "XML_CHUNK_ROWS", 3)
    chunked = zipfile.ZipFile(write_sheets({"s": df}, tmp_path / "b.xlsx"))
    assert whole.namelist() == chunked.namelist()
    for name in whole.namelist():
        assert whole.read(name) == chunked.read(name)
    ws = openpyxl.load_workbook(tmp_path / "b.xlsx")["s"]
    assert ws["B12"].value == "x<10>" and ws["A4"].value == pytest.approx(2 / 3)
    assert ws.auto_filter.ref == "A1:C12"
