"""The result of an experiment in plain words, in the merchant's language."""
from __future__ import annotations

from dataclasses import dataclass

from .statistics import Comparison, SampleRatioCheck

_TEXT = {
    "en": {
        "srm": "Traffic split is off ({observed} vs expected {expected}); results can't be trusted until fixed.",
        "wait": "Not enough visitors yet: {n} so far.",
        "win": "“{arm}” wins: {lift} {metric} (between {lo} and {hi}). You can promote it.",
        "lose": "“{arm}” is worse: {lift} {metric} (between {lo} and {hi}). Keep the control.",
        "flat": "No clear difference yet for “{arm}”: the effect is between {lo} and {hi}. Keep it running or stop.",
    },
    "es": {
        "srm": "El reparto de tráfico no cuadra ({observed} frente a {expected} esperado); no te fíes de los "
        "resultados hasta corregirlo.",
        "wait": "Aún no hay suficientes visitantes: {n} por ahora.",
        "win": "«{arm}» gana: {lift} de {metric} (entre {lo} y {hi}). Puedes promoverla.",
        "lose": "«{arm}» es peor: {lift} de {metric} (entre {lo} y {hi}). Mantén el control.",
        "flat": "Sin diferencia clara para «{arm}»: el efecto está entre {lo} y {hi}. Sigue o detén la prueba.",
    },
}
_METRIC = {
    "en": {"conversion": "conversion rate", "revenue_per_visitor": "revenue per visitor"},
    "es": {"conversion": "tasa de conversión", "revenue_per_visitor": "ingresos por visitante"},
}
MIN_VISITORS = 100


@dataclass(frozen=True)
class Verdict:
    kind: str  # srm | wait | win | lose | flat
    text: str


def _fmt(value: float, metric: str) -> str:
    if metric == "conversion":
        return f"{value * 100:+.2f} pp"
    return f"{value:+.2f}"


def verdict(
    arm: str,
    comparison: Comparison,
    srm: SampleRatioCheck,
    visitors: int,
    metric: str,
    locale: str = "en",
) -> Verdict:
    lang = locale if locale in _TEXT else "en"
    text = _TEXT[lang]
    metric_name = _METRIC[lang].get(metric, metric)
    if srm.mismatch:
        observed = "/".join(str(c) for c in srm.observed)
        expected = "/".join(f"{e:.0f}" for e in srm.expected)
        return Verdict("srm", text["srm"].format(observed=observed, expected=expected))
    if visitors < MIN_VISITORS:
        return Verdict("wait", text["wait"].format(n=visitors))
    parts = {
        "arm": arm,
        "metric": metric_name,
        "lift": _fmt(comparison.difference, metric),
        "lo": _fmt(comparison.lower, metric),
        "hi": _fmt(comparison.upper, metric),
    }
    if comparison.significant and comparison.difference > 0:
        return Verdict("win", text["win"].format(**parts))
    if comparison.significant:
        return Verdict("lose", text["lose"].format(**parts))
    return Verdict("flat", text["flat"].format(**parts))
