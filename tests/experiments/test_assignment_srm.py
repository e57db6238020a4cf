from collections import Counter

from backend.experiments.assignment import Arm, assign
from backend.experiments.statistics import sample_ratio_mismatch


def test_assignment_is_deterministic_and_follows_weights():
    arms = [Arm("control", 1), Arm("treatment", 1)]
    first = [assign("exp-1", f"v{i}", arms) for i in range(20_000)]
    again = [assign("exp-1", f"v{i}", arms) for i in range(20_000)]
    assert first == again
    counts = Counter(first)
    assert abs(counts["control"] / 20_000 - 0.5) < 0.02
    # A different experiment reshuffles visitors independently.
    other = [assign("exp-2", f"v{i}", arms) for i in range(20_000)]
    agree = sum(a == b for a, b in zip(first, other, strict=True)) / 20_000
    assert 0.45 < agree < 0.55


def test_uneven_weights():
    arms = [Arm("a", 1), Arm("b", 3)]
    counts = Counter(assign("s", f"v{i}", arms) for i in range(20_000))
    assert abs(counts["b"] / 20_000 - 0.75) < 0.02


def test_sample_ratio_mismatch_flags_a_broken_split_only():
    assert not sample_ratio_mismatch([5_030, 4_970], [1, 1]).mismatch
    broken = sample_ratio_mismatch([5_400, 4_600], [1, 1])
    assert broken.mismatch and broken.p_value < 0.001
