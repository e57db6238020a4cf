"""Per-arm outcomes of an experiment, read from exposures and orders, and the verdict on them."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import QuerySet

from backend.events.models import VisitorIdentity
from backend.orders.evidence import visitor_id_of
from backend.orders.models import Order

from .models import Experiment, Exposure
from .statistics import ArmStats, Comparison, SampleRatioCheck, compare, sample_ratio_mismatch
from .verdict import Verdict, verdict


@dataclass(frozen=True)
class ArmResult:
    arm: str
    visitors: int
    conversions: int
    revenue: Decimal
    stats: ArmStats
    comparison: Comparison | None  # None for the control arm
    verdict: Verdict | None


@dataclass(frozen=True)
class ExperimentResult:
    experiment_id: int
    metric: str
    arms: tuple[ArmResult, ...]
    srm: SampleRatioCheck


def _visitor_outcomes(experiment: Experiment, exposures: dict[str, tuple[str, datetime]]) -> dict[str, Decimal]:
    """Revenue (net of refunds) per exposed visitor from orders placed after their first exposure.

    An order names its visitor through the cart attribute the script sets; otherwise the visitor's stitched customer.
    """
    shop_id = experiment.shop_id
    customer_visitors: dict[int, list[str]] = defaultdict(list)
    for visitor_id, customer_id in (
        VisitorIdentity.objects.for_shop(shop_id)
        .filter(visitor_id__in=list(exposures))
        .values_list("visitor_id", "customer_id")
    ):
        customer_visitors[customer_id].append(visitor_id)
    since = experiment.started_at or experiment.created_at
    revenue: dict[str, Decimal] = {}
    orders = (
        Order.objects.for_shop(shop_id)
        .filter(processed_at__gte=since, cancelled_at__isnull=True)
        .values_list("customer_id", "note_attributes", "processed_at", "total_price", "total_refunded")
    )
    for customer_id, attributes, processed_at, total, refunded in orders.iterator(chunk_size=2000):
        visitors = [v for v in [visitor_id_of(attributes)] if v in exposures] or customer_visitors.get(customer_id, [])
        for visitor_id in visitors[:1]:
            _arm, exposed_at = exposures[visitor_id]
            if processed_at >= exposed_at:
                revenue[visitor_id] = revenue.get(visitor_id, Decimal(0)) + (total - refunded)
    return revenue


def counted_exposures(experiment: Experiment) -> QuerySet[Exposure]:
    """The exposures the results count: never a hold-out counted at page load (the old, biased rule), and on an
    experiment that had such rows, only visitors first exposed from the cut-over on, in every arm alike."""
    rows = Exposure.objects.for_shop(experiment.shop_id).filter(experiment=experiment).exclude(
        source=Exposure.Source.PAGE_LOAD)
    if experiment.counts_from is not None:
        rows = rows.filter(first_exposed_at__gte=experiment.counts_from)
    return rows


def left_out(experiment: Experiment) -> int:
    """How many recorded exposures the results leave out under `counted_exposures` (0 for a fair experiment)."""
    if experiment.counts_from is None:
        return 0
    total = Exposure.objects.for_shop(experiment.shop_id).filter(experiment=experiment).count()
    return total - counted_exposures(experiment).count()


def experiment_results(experiment: Experiment, locale: str = "en") -> ExperimentResult:
    arm_keys = [a["key"] for a in experiment.arms]
    weights = [float(a.get("weight", 1)) for a in experiment.arms]
    exposures = {
        v: (arm, at)
        for v, arm, at in counted_exposures(experiment).values_list("visitor_id", "arm", "first_exposed_at")
    }
    revenue = _visitor_outcomes(experiment, exposures)
    per_arm: dict[str, list[float]] = {k: [0, 0.0, 0.0, 0, Decimal(0)] for k in arm_keys}
    for visitor_id, (arm, _at) in exposures.items():
        if arm not in per_arm:
            continue
        spent = revenue.get(visitor_id)
        value = (1.0 if spent is not None else 0.0) if experiment.primary_metric == "conversion" else float(spent or 0)
        bucket = per_arm[arm]
        bucket[0] += 1
        bucket[1] += value
        bucket[2] += value * value
        bucket[3] += 1 if spent is not None else 0
        bucket[4] += spent or Decimal(0)
    srm = sample_ratio_mismatch([int(per_arm[k][0]) for k in arm_keys], weights)
    control_key = arm_keys[0] if arm_keys else ""
    control = None
    if arm_keys:
        n0, total0, total_sq0 = per_arm[control_key][:3]
        control = ArmStats(int(n0), total0, total_sq0)
    results = []
    new_p = dict(experiment.last_p_values)
    for key in arm_keys:
        n, total, total_sq, conversions, money = per_arm[key]
        stats = ArmStats(int(n), total, total_sq)
        comparison = None
        said = None
        if key != control_key and control is not None:
            comparison = compare(
                control,
                stats,
                alpha=experiment.alpha,
                previous_p=float(experiment.last_p_values.get(key, 1.0)),
            )
            new_p[key] = comparison.p_value
            said = verdict(key, comparison, srm, int(n + control.n), experiment.primary_metric, locale)
        results.append(ArmResult(key, int(n), int(conversions), money, stats, comparison, said))
    if new_p != experiment.last_p_values:
        experiment.last_p_values = new_p
        Experiment.objects.for_shop(experiment.shop_id).filter(pk=experiment.pk).update(last_p_values=new_p)
    return ExperimentResult(experiment.pk, experiment.primary_metric, tuple(results), srm)
