"""Plain-text summary of loaded layers for ``trygga layers``."""

from __future__ import annotations

from layers.loader import Layers
from trygga_cli.i18n import t


def format_summary(layers: Layers) -> str:
    """One block per layer: source, feature count, CRS, bounds (metres) and warnings."""
    p = layers.profile
    lines = [f"{p.name} ({p.kommun_code}) — {t('profil', 'profile')} {p.path}"]
    if p.demo:
        lines.append(t("OBS: DEMODATA — syntetiska data, inte verkliga uppgifter om kommunen.",
                       "NOTE: DEMO DATA — synthetic, not real data about the municipality."))
    for name, gdf in layers.frames().items():
        report = layers.reports.get(name)
        source = report.source if report else "-"
        crs = gdf.crs.to_string() if gdf.crs is not None else "-"
        lines.append("")
        lines.append(f"[{name}] {t('källa', 'source')}: {source}")
        lines.append(f"  {t('antal', 'count')}: {len(gdf)}   CRS: {crs}")
        if len(gdf):
            x0, y0, x1, y1 = gdf.total_bounds
            lines.append(f"  {t('utbredning', 'bounds')} (m): "
                         f"{x0:.0f}, {y0:.0f} – {x1:.0f}, {y1:.0f}")
        if name == "paths" and len(gdf):
            km = gdf.geometry.length.sum() / 1000
            lit = gdf.assign(km=gdf.geometry.length / 1000).groupby("lit")["km"].sum()
            lines.append(f"  {t('längd', 'length')}: {km:.1f} km; lit: " + ", ".join(
                f"{k} {v:.1f} km" for k, v in lit.sort_index().items()))
        if name == "luminaires" and len(gdf):
            counts = gdf["light_source"].value_counts().sort_index()
            lines.append(f"  {t('ljuskällor', 'light sources')}: " + ", ".join(
                f"{k} {v}" for k, v in counts.items()))
            if "operating" in gdf.columns:
                words = {"in_service": t("i drift", "in service"),
                         "out_of_service": t("ur drift (fel)", "out of service (faults)"),
                         "removed": t("borttagna", "removed"),
                         "planned": t("planerade", "planned")}
                state = gdf["operating"].astype(str).value_counts()
                lines.append(f"  {t('drift', 'operation')}: " + ", ".join(
                    f"{words.get(k, k)} {int(state[k])}" for k in words if k in state))
            known = {"wattage_w": "W", "lumen_lm": "lm", "mounting_height_m": "m"}
            lines.append(f"  {t('kända värden', 'known values')}: " + ", ".join(
                f"{unit} {int(gdf[c].notna().sum())}/{len(gdf)}" for c, unit in known.items()))
        if name == "schools" and len(gdf):
            lines.append(f"  {t('skolor', 'schools')}: " + ", ".join(
                f"{n}{' *' if d else ''}" for n, d in zip(gdf["name"], gdf["designated"],
                                                          strict=True))
                         + t("  (* = utsedd för trygghetsvandring)",
                             "  (* = designated for safety walks)"))
        if name == "crossings" and len(gdf):
            lines.append(f"  {t('markerade', 'marked')}: {int(gdf['marked'].sum())}")
        if report and report.seconds:
            lines.append(f"  {t('tid', 'time')}: {report.seconds:.2f} s")
        warns = list(report.warnings) if report else []
        if name in ("paths", "schools", "crossings") and "osm" in layers.reports:
            warns = list(layers.reports["osm"].warnings) + warns if name == "paths" else warns
        lines.append(f"  {t('varningar', 'warnings')}: {len(warns)}")
        lines.extend(f"    - {w}" for w in warns)
    return "\n".join(lines)
