"""Number formatting for people: money, mass of CO2e, energy and time with their units."""

from __future__ import annotations

import math


def _missing(x: object) -> bool:
    return x is None or (isinstance(x, float) and not math.isfinite(x))


def sig(x: float | None, digits: int = 3) -> str:
    """``x`` to ``digits`` significant figures with thousands separators; '–' when missing."""
    if _missing(x):
        return "–"
    x = float(x)  # type: ignore[arg-type]
    if x == 0:
        return "0"
    if abs(x) >= 10 ** digits:
        return f"{x:,.0f}"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(x))))
    return f"{x:,.{decimals}f}"


def money(usd: float | None) -> str:
    """US dollars: $3.99 M, $812 k, $0.468."""
    if _missing(usd):
        return "no price"
    usd = float(usd)  # type: ignore[arg-type]
    for factor, suffix in ((1e9, " bn"), (1e6, " M"), (1e3, " k")):
        if abs(usd) >= factor:
            return f"${sig(usd / factor)}{suffix}"
    return f"${sig(usd)}"


def co2e(kg: float | None) -> str:
    """Mass of CO2e: 116 t, 512 kg, 3.2 g."""
    if _missing(kg):
        return "–"
    kg = float(kg)  # type: ignore[arg-type]
    if abs(kg) >= 1000:
        return f"{sig(kg / 1000)} t CO2e"
    if abs(kg) >= 1 or kg == 0:
        return f"{sig(kg)} kg CO2e"
    return f"{sig(kg * 1000)} g CO2e"


def energy(kwh: float | None) -> str:
    """Energy: 1.2 GWh, 475 MWh, 12.3 kWh, 35 Wh."""
    if _missing(kwh):
        return "–"
    kwh = float(kwh)  # type: ignore[arg-type]
    for factor, unit in ((1e6, "GWh"), (1e3, "MWh"), (1.0, "kWh")):
        if abs(kwh) >= factor:
            return f"{sig(kwh / factor)} {unit}"
    return f"{sig(kwh * 1000)} Wh"


def water(litres: float | None) -> str:
    """Volume of water: 1.50 ML, 340 m³, 12.0 L, 35.0 mL."""
    if _missing(litres):
        return "–"
    litres = float(litres)  # type: ignore[arg-type]
    if abs(litres) >= 1e6:
        return f"{sig(litres / 1e6)} ML"
    if abs(litres) >= 1e3:
        return f"{sig(litres / 1e3)} m³"
    if abs(litres) >= 1 or litres == 0:
        return f"{sig(litres)} L"
    return f"{sig(litres * 1000)} mL"


def duration_days(days: float | None) -> str:
    """A run's length: 30.0 days, 18.5 hours."""
    if _missing(days):
        return "–"
    days = float(days)  # type: ignore[arg-type]
    if days < 1:
        return f"{sig(days * 24)} hours"
    return f"{sig(days)} days"


def count(n: float | None) -> str:
    """A whole count with separators: 1,024."""
    if _missing(n):
        return "–"
    return f"{float(n):,.0f}"  # type: ignore[arg-type]


def seconds(s: float | None) -> str:
    """A latency: 1.96 s, 35.2 ms."""
    if _missing(s):
        return "–"
    s = float(s)  # type: ignore[arg-type]
    if abs(s) < 1:
        return f"{sig(s * 1000)} ms"
    return f"{sig(s)} s"


SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def flops(n: float | None) -> str:
    """A count of floating-point operations in powers of ten: 8.64 × 10²³ (the unit, FLOPs,
    goes in the label)."""
    if _missing(n) or not float(n) > 0:  # type: ignore[arg-type]
        return "–"
    exponent = math.floor(math.log10(float(n)))  # type: ignore[arg-type]
    mantissa = float(n) / 10.0 ** exponent  # type: ignore[arg-type]
    if mantissa >= 9.995:
        mantissa, exponent = mantissa / 10.0, exponent + 1
    return f"{mantissa:.2f} × 10{str(exponent).translate(SUPERSCRIPTS)}"


def percent(fraction: float | None, digits: int = 0) -> str:
    """A fraction as a percentage: 0.4 → 40 %."""
    if _missing(fraction):
        return "–"
    return f"{float(fraction) * 100:.{digits}f} %"  # type: ignore[arg-type]


# Characters that start Markdown, HTML, LaTeX, emoji shortcodes, Streamlit's colour directives
# or GFM autolinks (``https://``, ``a@b``); escaping them leaves none of those possible.
_MARKDOWN_SPECIAL = frozenset("\\`*[]<>!$~|#{}:@&")


def plain(text: object, limit: int = 600) -> str:
    """``text`` made safe to pass to a Markdown element (``st.warning``, ``st.error``...): one
    line, at most ``limit`` characters, every Markdown, HTML and autolink character
    backslash-escaped (CommonMark allows escaping any ASCII punctuation), so a value from a
    URL, a file or a record shows as the text it is: no link, no image, no formatting.

    An underscore inside a word (``requests_per_s``) cannot start emphasis and is kept as is.
    """
    line = " ".join(str(text)[: 4 * limit].split())
    if len(line) > limit:
        line = line[:limit] + "…"
    out = []
    for i, c in enumerate(line):
        inner = 0 < i < len(line) - 1 and line[i - 1].isalnum() and line[i + 1].isalnum()
        if c in _MARKDOWN_SPECIAL or (c == "_" and not inner) or (i == 0 and not c.isalnum()):
            out.append("\\" + c)
        elif c == "." and line[max(0, i - 3):i].lower() == "www":
            out.append("\\.")
        else:
            out.append(c)
    return "".join(out)
