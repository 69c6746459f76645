"""Every UI string, in Swedish (default) and English: one table, not literals in pages."""

from __future__ import annotations

LANGS = ("sv", "en")

TEXTS: dict[str, tuple[str, str]] = {
    "app_title": ("Trygga stråk", "Trygga stråk"),
    "language": ("Språk", "Language"),
    "demo_notice": ("**Demodata** — syntetiska data, inte verkliga uppgifter om kommunen.",
                    "**Demo data** — synthetic, not real data about the municipality."),
    "demo_no_login": ("Demo, ingen inloggning.", "Demo, no login."),
    "page_map": ("Karta & prioritering", "Map & priorities"),
    "page_walks": ("Trygghetsvandringar", "Safety walks"),
    "page_actions": ("Åtgärder", "Actions"),
    "page_public": ("Offentlig karta", "Public map"),
    "page_followup": ("Uppföljning", "Follow-up"),
    "page_layers": ("Lager", "Layers"),
    "input_error": ("Fel i indata", "Invalid input"),
    "filters": ("Filter", "Filters"),
    "status": ("Status", "Status"),
    "max_school_distance": ("Högst avstånd till skola (m)", "Max distance to school (m)"),
    "priority_area": ("Prioriterat område", "Priority area"),
    "all": ("Alla", "All"),
    "min_score": ("Lägsta poäng", "Minimum score"),
    "color_by": ("Färg efter", "Colour by"),
    "by_status": ("belysningsstatus", "lighting status"),
    "by_score": ("poäng", "score"),
    "weights": ("Vikter", "Weights"),
    "school_class": ("Belysningsklass nära skola", "Lighting class near schools"),
    "basemap": ("Bakgrundskarta", "Basemap"),
    "basemap_none": ("Ingen (fungerar utan nät)", "None (works offline)"),
    "basemap_osm": ("OpenStreetMap", "OpenStreetMap"),
    "show_raster": ("Visa belysningsmodell (lux)", "Show lighting model (lux)"),
    "segments": ("Segment", "Segments"),
    "packages": ("Åtgärdspaket", "Work packages"),
    "led": ("LED-byten", "LED replacements"),
    "downloads": ("Ladda ner", "Download"),
    "totals": ("Summering", "Totals"),
    "km_unlit_near_school": ("km obelyst nära skola", "km unlit near schools"),
    "top_cost": ("Kostnad topp 10 paket (SEK)", "Cost of top 10 packages (SEK)"),
    "top_kwh": ("Energi topp 10 paket (kWh/år)", "Energy of top 10 packages (kWh/yr)"),
    "led_saving": ("LED-besparing (kWh/år)", "LED saving (kWh/yr)"),
    "darkness_chart": ("Andel mörk skolväg per månad", "Share of dark school commute by month"),
    "select_row_zoom": ("Välj en rad för att zooma kartan dit.",
                        "Select a row to zoom the map to it."),
    "rank": ("Rang", "Rank"),
    "score": ("Poäng", "Score"),
    "reason": ("Motivering", "Reason"),
    "legend": ("Teckenförklaring", "Legend"),
    "schools": ("Skolor", "Schools"),
    "crossings": ("Övergångsställen", "Crossings"),
    "luminaires": ("Armaturer", "Luminaires"),
    "findings": ("Synpunkter", "Findings"),
    "priority_areas": ("Prioriterade områden", "Priority areas"),
    "unlit": ("Obelyst", "Unlit"),
    "underlit": ("Underbelyst", "Under-lit"),
    "lit_old_technology": ("Gammal teknik (Hg/HPS)", "Old technology (Hg/HPS)"),
    "ok": ("Tillräckligt belyst", "Adequately lit"),
    "unknown": ("Okänd", "Unknown"),
    "layers_loaded": ("Inlästa lager", "Loaded layers"),
    "warnings": ("Varningar", "Warnings"),
    "followup_placeholder": ("Årsrapporten kommer här. Siffror som redan finns:",
                             "The yearly report will be here. Figures available now:"),
    "public_intro": ("Här ser du vad som kommit fram vid trygghetsvandringar och vad som "
                     "har åtgärdats.",
                     "Here you can see what safety walks found and what has been fixed."),
}


def tr(key: str, lang: str = "sv") -> str:
    """The text for *key* in *lang* (``"sv"`` or ``"en"``); raises KeyError on unknown keys."""
    sv, en = TEXTS[key]
    return en if lang == "en" else sv
