"""Every demo value comes from the seeded generator: two clones give the same store."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

from _server import temp_profile

from layers import load_profile
from walks.demo import demo_fixed_at

ROOT = Path(__file__).resolve().parents[1]
DEMO_FINDINGS = ROOT / "data" / "demo" / "fynd_demo.geojson"


def test_fixed_demo_findings_carry_their_fix_date():
    features = json.loads(DEMO_FINDINGS.read_text(encoding="utf-8"))["features"]
    fixed = [f["properties"] for f in features if f["properties"]["state"] == "åtgärdad"]
    assert fixed  # the demo has fixed findings
    for p in fixed:
        created = datetime.fromisoformat(p["created"]).date()
        days = (date.fromisoformat(p["fixed"]) - created).days
        assert 21 <= days <= 56, (p["id"], days)
        at = demo_fixed_at(p, "Europe/Stockholm")
        assert at is not None and at.utcoffset() == timedelta(hours=1)  # winter time
    others = [f["properties"] for f in features if f["properties"]["state"] != "åtgärdad"]
    assert all("fixed" not in p and demo_fixed_at(p) is None for p in others)


def _fix_dates(folder: Path) -> dict[str, str]:
    from walks.service import open_store

    prof = load_profile(temp_profile(folder))
    with open_store(prof) as store:
        f = store.findings()
    fixed = f.loc[f["state_type"].astype(str).eq("fixed")]
    return {str(s): str(t) for s, t in zip(fixed["source_id"], fixed["fixed_at"], strict=True)}


def test_two_demo_stores_have_the_same_fix_dates(tmp_path):
    first = _fix_dates(tmp_path / "clone1")
    second = _fix_dates(tmp_path / "clone2")
    assert first and first == second
    features = json.loads(DEMO_FINDINGS.read_text(encoding="utf-8"))["features"]
    want = {f["properties"]["id"]: demo_fixed_at(f["properties"]) for f in features
            if f["properties"]["state"] == "åtgärdad"}
    assert {k: str(v) for k, v in want.items()}.keys() == first.keys()
