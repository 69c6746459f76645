"""HTML → PDF with WeasyPrint, loading nothing but embedded ``data:`` URLs.

Shared by the walk protocol and the yearly report, which render the same template to HTML
(standalone) and PDF.
"""

from __future__ import annotations

from typing import Any


def html_to_pdf(html_text: str, error: type[Exception], what: str) -> bytes:
    """Render standalone HTML to PDF bytes.

    Parameters
    ----------
    html_text : str
        The document; images must be embedded as ``data:`` URLs (nothing else is loaded).
    error : exception class
        Raised (with the fix in the message) when WeasyPrint is missing or fails.
    what : str
        What is being written, for messages ("protocol", "report").
    """
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: pango/cairo system libraries missing
        raise error(
            f"cannot write PDF: WeasyPrint is not usable here ({exc}). Fix: `pip install "
            "weasyprint` and the Pango libraries (`apt-get install libpango-1.0-0 "
            "libpangoft2-1.0-0`), or write HTML and print it from a browser") from exc
    fetcher: Any
    try:
        from weasyprint.urls import URLFetcher
        fetcher = URLFetcher(allowed_protocols=("data",))
    except (ImportError, TypeError):  # older WeasyPrint: function-style fetcher
        def fetcher(url: str, *args: Any, **kwargs: Any) -> Any:
            if not url.startswith("data:"):
                raise ValueError(f"{what} PDFs load no external resources ({url[:40]})")
            return weasyprint.default_url_fetcher(url, *args, **kwargs)
    pdf = weasyprint.HTML(string=html_text, url_fetcher=fetcher).write_pdf()
    if not isinstance(pdf, bytes):  # pragma: no cover - write_pdf() without a target
        raise error("WeasyPrint returned no PDF")
    return pdf
