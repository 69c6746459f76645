"""Tables as plain HTML that become stacked cards on a narrow screen (no Streamlit here).

Streamlit's data grid scrolls sideways inside its box on a phone and is drawn on a canvas;
a real ``<table>`` is read by screen readers as a table, and under 640 px the CSS below
shows each row as a card with the column name in front of every cell (``data-label``).
"""

from __future__ import annotations

import html

import pandas as pd


def cards_css(css_class: str) -> str:
    """The ``<style>`` of a table with class *css_class* (one line, no newline)."""
    c = f".{css_class}"
    return (
        f"<style>{c}{{border-collapse:collapse;width:100%}}"
        f"{c} caption{{text-align:left;font-weight:600;padding:0 0 .4rem}}"
        f"{c} th,{c} td{{text-align:left;vertical-align:top;padding:.35rem .5rem;"
        # break-word, not anywhere: "anywhere" lets the browser squeeze a column to one
        # letter ("Outc|ome"); on a phone (cards) a long word may still break anywhere.
        "border-bottom:1px solid #d6d6d6;overflow-wrap:break-word}"
        f"@media (max-width:640px){{{c} thead{{position:absolute;width:1px;height:1px;"
        f"overflow:hidden;clip:rect(0 0 0 0)}}{c} tr{{display:block;border:1px solid "
        f"#c8c8c8;border-radius:.4rem;margin:0 0 .6rem;padding:.3rem .2rem}}"
        f"{c} td{{display:block;border:0;padding:.15rem .5rem;overflow-wrap:anywhere}}"
        f"{c} td:empty{{display:none}}"
        f'{c} td::before{{content:attr(data-label) ": ";font-weight:600}}}}'
        "</style>")


def cards_table_html(df: pd.DataFrame, caption: str, css_class: str) -> str:
    """*df* as an accessible HTML table (every value and header escaped here).

    No newline is left in the output (Markdown never reads part of it as Markdown).
    """
    heads = [str(h) for h in df.columns]
    labels = [html.escape(h, quote=True) for h in heads]

    def cell(v: object) -> str:
        text = "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)
        return html.escape(text).replace("\r\n", "<br>").replace("\n", "<br>")

    rows = "".join(
        "<tr>" + "".join(f'<td data-label="{lab}">{cell(v)}</td>'
                         for lab, v in zip(labels, values, strict=True)) + "</tr>"
        for values in df.itertuples(index=False, name=None))
    head = "".join(f'<th scope="col">{html.escape(h)}</th>' for h in heads)
    return (f'{cards_css(css_class)}<table class="{html.escape(css_class, quote=True)}">'
            f"<caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{rows}</tbody></table>")
