"""Claims of notebooks 01, 02 and 06 (Li et al. 2018 Fig. 2-4, 8 and 9): the batch-size / weight-decay study and
the optimizer's paths, each beside what this run measured and its noise (`findings`).

Runs are keyed as the notebooks key them: (batch size, weight decay) for the batch study (two batch sizes, weight
decay 0 and one other), a label for a path. Each cell of the batch study holds one value per training (`by_cell`):
with two or more trainings the spread between them is part of the noise. The small batch is the smaller of the two,
as Li et al.'s 128 against 8192; Li et al.'s numbers are those of VGG-9 on CIFAR-10 (`lossviz.base.papers`).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

import numpy as np
import torch

from lossviz.base import io, papers, stats
from lossviz.compute import shape, trajectory
from lossviz.compute.landscapes import PathPlane
from lossviz.course import findings
from lossviz.course.findings import Claim

Key = tuple[int, float]  # (batch size, weight decay) of a batch-study run
Outcomes = Sequence[bool] | np.ndarray | torch.Tensor  # per image of the test subset: classified correctly
PAPER_BATCHES = (128, 8192)  # Li et al.'s small and large batch
INVARIANCE_TOLERANCE = 1e-3  # a relative change of the loss still counted as none: BN's epsilon, fp32 rounding
MOST = 0.5  # "most of the path's variation": more than half
FEW = 1.0  # "almost nothing of the path": log10 of the PCA extent over the random one above 1, under a tenth
T = TypeVar("T")
U = TypeVar("U")


def by_cell(per_seed: Mapping[int, Mapping[Key, T]], measure: Callable[[T], U] | None = None) -> dict[Key, list]:
    """{cell: [`measure` of each training (None: the value itself), seed by seed]} from {seed: {cell: run}}
    (`Course.batch_trainings`): the form the claims below take."""
    cells: dict[Key, list] = {}
    for runs in per_seed.values():
        for key, run in runs.items():
            cells.setdefault(key, []).append(run if measure is None else measure(run))
    if len({len(values) for values in cells.values()}) > 1:
        raise ValueError(f"every seed must train the same cells; got {[sorted(runs) for runs in per_seed.values()]}")
    return cells


def _study(keys: Sequence[Key]) -> tuple[int, int, tuple[float, ...]]:
    """(small batch, large batch, weight decays) of a batch study's run keys: two batch sizes, each with the same
    weight decays, 0 and one other."""
    batches = sorted({b for b, _ in keys})
    decays = tuple(sorted({wd for _, wd in keys}))
    if len(batches) != 2 or decays[0] != 0 or len(decays) != 2 or len(set(keys)) != 4:
        raise ValueError(f"the runs must be two batch sizes, each with weight decay 0 and one other; got {list(keys)}")
    return batches[0], batches[1], decays


def _tag(wd: float) -> str:
    """The claim key's suffix of a weight decay: wd0 without, wd with."""
    return "wd0" if wd == 0 else "wd"


def _setting(wd: float) -> str:
    """The claim's words for a weight decay: "without weight decay", or "with weight decay" and its value."""
    return "without weight decay" if wd == 0 else f"with weight decay {wd:g}"


def _paper_wd(wd: float) -> str:
    return "0" if wd == 0 else "5e-4"


def paper_error(large: bool, wd: float) -> float:
    """Li et al.'s VGG-9 test error (%) at batch 8192 (`large`) or 128, weight decay 0 or 5e-4 (any other)."""
    found = papers.li2018_error("vgg9", f"wd={_paper_wd(wd)} bs={PAPER_BATCHES[large]}")
    if found is None:
        raise ValueError(f"no VGG-9 test error in li2018_test_errors for wd={wd}, large={large}")
    return found


def error_pct(right: Outcomes) -> float:
    """Test error (%) of per-image outcomes (True: classified correctly)."""
    flags = np.asarray(right, dtype=bool)
    if not flags.size:
        raise ValueError("the outcomes must cover at least one image")
    return 100.0 * float(1.0 - flags.mean())


def paired_gap(key: str, claim: str, paper: str, worse: tuple[str, Outcomes],
               better: tuple[str, Outcomes]) -> Claim:
    """`findings.error_gap` from two networks' per-image outcomes on the same test images (name, outcomes): the
    errors and their paired noise from the same outcomes."""
    a, b = (np.asarray(r, dtype=bool) for _, r in (worse, better))
    if a.shape != b.shape:
        raise ValueError(f"{worse[0]} and {better[0]} must be scored on the same images; got {a.size} and {b.size}")
    return findings.error_gap(key, claim, paper, (worse[0], error_pct(a)), (better[0], error_pct(b)), a.size,
                              paired=stats.paired_counts(a.tolist(), b.tolist()))


def trainings_gap(key: str, claim: str, paper: str, worse: tuple[str, Sequence[Outcomes]],
                  better: tuple[str, Sequence[Outcomes]]) -> Claim:
    """`paired_gap` over one or more trainings of each side (the i-th training of `worse` against the i-th of
    `better`, all scored on the same test images). With two or more: the mean gap, its noise the standard error of
    that mean from the spread between trainings and the paired noise of the one test set (their root mean square),
    added in quadrature: every training is scored on the same images, so their sampling noise does not average out."""
    (worse_name, worse_runs), (better_name, better_runs) = worse, better
    if len(worse_runs) != len(better_runs) or not worse_runs:
        raise ValueError(f"{worse_name} and {better_name} must have the same number of trainings, at least one; got "
                         f"{len(worse_runs)} and {len(better_runs)}")
    singles = [paired_gap(key, claim, paper, (worse_name, w), (better_name, b))
               for w, b in zip(worse_runs, better_runs)]
    if len(singles) == 1:
        return singles[0]
    gaps = [float(c.effect) for c in singles if c.effect is not None]
    spread, images = stats.spread_se(gaps), math.sqrt(float(np.mean([c.noise ** 2 for c in singles])))
    effect, noise = float(np.mean(gaps)), math.hypot(spread, images)
    mean_worse, mean_better = (float(np.mean([error_pct(r) for r in runs])) for runs in (worse_runs, better_runs))
    n = np.asarray(worse_runs[0], dtype=bool).size
    return findings.comparison(key, claim, paper, f"{worse_name} {mean_worse:.2f}% vs {better_name} {mean_better:.2f}% "
                               f"(means of {len(gaps)} trainings, each on {n:,} images): {effect:+.2f} ± {noise:.2f} "
                               f"points (between trainings ± {spread:.2f}, test images ± {images:.2f})", effect, noise)


def large_batch_worse(outcomes: Mapping[Key, Sequence[Outcomes]]) -> list[Claim]:
    """Li et al. Fig. 2-4: the large batch's test error exceeds the small batch's, without and with weight decay
    (effect: the large batch's error minus the small batch's over the trainings, `trainings_gap`)."""
    small, large, decays = _study(list(outcomes))
    return [trainings_gap(f"large_batch_worse_{_tag(wd)}", f"Large batches generalize worse than small ones "
                       f"({_setting(wd)})",
                       f"VGG-9 {paper_error(True, wd):.2f}% (batch 8192) vs {paper_error(False, wd):.2f}% (batch 128)",
                       (f"batch {large}", outcomes[large, wd]), (f"batch {small}", outcomes[small, wd]))
            for wd in decays]


def norm_gap(key: str, claim: str, paper: str, small: tuple[int, Sequence[float]], large: tuple[int, Sequence[float]],
             sign: int, note: str = "") -> Claim:
    """The claim that the small batch's weight norm exceeds (`sign` +1) or falls short of (-1) the large batch's, from
    (batch size, ‖θ‖ of each training) of both: with two or more trainings each, effect = sign times the mean gap
    (the i-th training against the i-th), noise the standard error of that mean from the spread of the gaps; with
    one, not measured (a norm has no noise of its own), the reason giving the norms. `note` is added to the words."""
    (b_small, n_small), (b_large, n_large) = small, large
    if len(n_small) != len(n_large) or not n_small or sign not in (1, -1):
        raise ValueError(f"both batch sizes need the same number of trainings, at least one, and sign +-1; got "
                         f"{len(n_small)}, {len(n_large)}, sign={sign}")
    gaps = [a - b for a, b in zip(n_small, n_large)]
    gap, mean_small, mean_large = (float(np.mean(v)) for v in (gaps, n_small, n_large))
    note = f"; {note}" if note else ""
    if len(gaps) == 1:
        return findings.not_measured(key, claim, paper, f"‖θ‖ {mean_small:.2f} (batch {b_small}) vs {mean_large:.2f} "
                                     f"(batch {b_large}), {gap:+.2f}{note}; one training per batch size, so the "
                                     "spread of ‖θ‖ between trainings that would tell this difference from noise is "
                                     "not measured")
    spread = stats.spread_se(gaps)
    each = ", ".join(f"{g:+.2f}" for g in gaps)
    return findings.comparison(key, claim, paper, f"‖θ‖ {mean_small:.2f} (batch {b_small}) vs {mean_large:.2f} "
                               f"(batch {b_large}), means of {len(gaps)} trainings: {gap:+.2f} ± {spread:.2f} (the gap "
                               f"of each training pair: {each}){note}", sign * gap, spread)


def weight_scale(norms: Mapping[Key, Sequence[float]]) -> list[Claim]:
    """Li et al. Fig. 2 (b, c, e, f): without weight decay the small batch ends with the larger weights, with weight
    decay the smaller ones (`norm_gap` on each cell's norms, one per training)."""
    small, large, decays = _study(list(norms))
    return [norm_gap(f"weight_scale_{_tag(wd)}", f"Small batches end with {'larger' if wd == 0 else 'smaller'} "
                     f"weights than large ones ({_setting(wd)})",
                     f"VGG-9 weight histograms, batch 128 vs 8192, weight decay {_paper_wd(wd)}",
                     (small, norms[small, wd]), (large, norms[large, wd]), 1 if wd == 0 else -1)
            for wd in decays]


def flip_attempt(norms: Mapping[Key, Sequence[float]], shrink: Mapping[Key, float],
                 outcomes: Mapping[Key, Sequence[Outcomes]]) -> list[Claim]:
    """A second attempt at Li et al.'s flip (notebook 01): the batch pair trained at a stronger weight decay, where
    the small batch should end with the smaller weights (`norm_gap`, one norm per training; the words add `shrink`,
    how far weight decay alone would shrink each run's weights, `train.decay_shrink`), and its test errors
    (`trainings_gap`)."""
    decays = {wd for _, wd in norms}
    batches = sorted({b for b, _ in norms})
    if len(decays) != 1 or 0 in decays or len(batches) != 2 or set(norms) != set(shrink) or set(norms) != set(outcomes):
        raise ValueError(f"the attempt must be two batch sizes at one positive weight decay, each with its norm, "
                         f"shrink and outcomes; got {sorted(norms)}, {sorted(shrink)}, {sorted(outcomes)}")
    (wd,), (small, large) = decays, batches
    tag, setting = "wd_strong", f"weight decay {wd:g}, a second attempt"
    scale = norm_gap(f"weight_scale_{tag}", f"Small batches end with smaller weights than large ones ({setting})",
                     "VGG-9 weight histograms, batch 128 vs 8192, weight decay 5e-4 (Li et al. trained no other)",
                     (small, norms[small, wd]), (large, norms[large, wd]), -1,
                     f"weight decay alone would shrink them to {shrink[small, wd]:.2g} and {shrink[large, wd]:.2g}")
    worse = trainings_gap(f"large_batch_worse_{tag}", f"Large batches generalize worse than small ones ({setting})",
                       "not trained by Li et al. (their weight decays: 0 and 5e-4)",
                       (f"batch {large}", outcomes[large, wd]), (f"batch {small}", outcomes[small, wd]))
    return [scale, worse]


def scale_invariance(invariance: Mapping[str, Sequence[float]], tolerance: float = INVARIANCE_TOLERANCE) -> Claim:
    """Li et al. Sec. 3: scaling the filters of a batch-normalized network by c changes nothing once the BN statistics
    are recomputed. Effect: `tolerance` minus the largest relative change of the recomputed loss over the factors
    (against the loss at c = 1), noise 0: an exact property, met or not within a numerical tolerance."""
    factors, stored, recomputed = (list(invariance[k]) for k in ("factor", "bn eval", "bn recomputed"))
    if 1.0 not in factors or not len(factors) == len(stored) == len(recomputed) >= 2:
        raise ValueError(f"invariance must hold the loss at c = 1 and at another factor; got factors {factors}")
    one = factors.index(1.0)
    scale = max(abs(recomputed[one]), 1e-12)
    change = max(abs(v - recomputed[one]) for v in recomputed) / scale
    worst_stored = max(abs(v - stored[one]) / max(abs(stored[one]), 1e-12) for v in stored)
    shown = ", ".join(f"{c:g}" for c in factors)
    measured = (f"recomputed BN statistics: the loss changes by at most {100 * change:.3g}% over c in {{{shown}}} "
                f"(tolerance {100 * tolerance:g}%); stored statistics: by up to {worst_stored:.3g} times the loss at "
                "c = 1")
    return findings.comparison("bn_scale_invariance", "With batch normalization, scaling every filter by c leaves "
                               "the loss unchanged (BN statistics recomputed)",
                               "exact (Li et al. Sec. 3: the reason raw plots mislead)", measured,
                               tolerance - change, 0.0)


def claims_01(outcomes: Mapping[Key, Sequence[Outcomes]], norms: Mapping[Key, Sequence[float]],
              invariance: Mapping[str, Sequence[float]],
              flip: tuple[Mapping[Key, Sequence[float]], Mapping[Key, float], Mapping[Key, Sequence[Outcomes]]]
              | None = None) -> list[Claim]:
    """Notebook 01, each cell's outcomes and norms one per training (`by_cell`): large batches generalize worse
    (without and with weight decay), the weights' scale flips with weight decay, BN makes the loss invariant to the
    filters' scale, and, where the profile makes a second attempt at the flip, `flip_attempt` on its (norms, shrink,
    outcomes)."""
    return [*large_batch_worse(outcomes), *weight_scale(norms), *(flip_attempt(*flip) if flip else ()),
            scale_invariance(invariance)]


def rise_noise(plane: io.Surface) -> tuple[float, float]:
    """(rise, its noise) of a filter-normalized plane: the median of `shape.ring` and its standard error from the
    spread around the ring (`stats.median_se`): how much the rise depends on the direction within the plane, not
    how it varies between trainings."""
    values = shape.ring(plane)
    return float(np.median(values)), stats.median_se(values)


def cell_rise(planes: Sequence[io.Surface]) -> tuple[float, float, str]:
    """(rise, its noise, what the noise is) of one cell from its planes, one per training (`rise_noise` of each):
    with one, the plane's own noise around its ring; with two or more, their mean, its noise the larger of the
    standard error from the spread between trainings and the planes' own noise over the square root of their number
    (two trainings can agree by chance more closely than their rings allow)."""
    found = [rise_noise(plane) for plane in planes]
    if len(found) == 1:
        return found[0][0], found[0][1], "directions around the ring"
    rises = [r for r, _ in found]
    own = math.sqrt(float(np.mean([se ** 2 for _, se in found])) / len(found))
    return float(np.mean(rises)), max(stats.spread_se(rises), own), f"{len(found)} trainings"


def large_batch_sharper(planes: Mapping[Key, Sequence[io.Surface]]) -> list[Claim]:
    """Li et al. Fig. 3/4: with filter normalization the large batch's minimizer is the sharper one. Effect: the
    large batch's rise minus the small batch's, each over its trainings' planes (`cell_rise`)."""
    small, large, decays = _study(list(planes))
    claims = []
    for wd in decays:
        key = f"large_batch_sharper_{_tag(wd)}"
        claim = f"With filter normalization the large batch's minimizer is sharper ({_setting(wd)})"
        paper = (f"Fig. 3/4: wider contours at batch 128 ({paper_error(False, wd):.2f}%) than 8192 "
                 f"({paper_error(True, wd):.2f}%)")
        (r_large, se_large, kind), (r_small, se_small, _) = cell_rise(planes[large, wd]), cell_rise(planes[small, wd])
        if not all(math.isfinite(v) for v in (r_large, r_small, se_large, se_small)):
            claims.append(findings.not_measured(key, claim, paper, "the loss diverged on a quarter or more of a ring "
                                                "at radius 0.5: no median rise and spread to compare"))
            continue
        noise = math.hypot(se_large, se_small)
        claims.append(findings.comparison(
            key, claim, paper, f"rise at radius 0.5: batch {large} {r_large:.2f} ± {se_large:.2f} vs batch {small} "
            f"{r_small:.2f} ± {se_small:.2f} (noise: {kind})", r_large - r_small, noise))
    return claims


def sharpness_tracks_error(rises: Sequence[float], errors: Sequence[float]) -> Claim:
    """Li et al. Sec. 5: with filter normalization, sharpness follows the test error across the batch study's
    networks (every training of every cell, paired in order): Spearman's rho of the rises against the test errors,
    against its 5% critical value."""
    claim = ("Across the batch study's networks, the sharper minimizer (filter-normalized rise) has the higher test "
             "error")
    paper = "Fig. 3/4: sharper at batch 8192, and flatter with weight decay, as the errors order them"
    x, y = list(rises), list(errors)
    if len(x) != len(y):
        raise ValueError(f"one test error per rise; got {len(x)} rises and {len(y)} errors")
    if len(set(x)) < 2 or len(set(y)) < 2 or not all(math.isfinite(v) for v in x + y):
        return findings.not_measured("sharpness_tracks_error", claim, paper, "the rises or the test errors are all "
                                     "equal or not finite: no ranking to correlate")
    return findings.correlation("sharpness_tracks_error", claim, paper, stats.spearman(x, y), len(x))


def weight_decay_helps(outcomes: Mapping[Key, Sequence[Outcomes]]) -> list[Claim]:
    """Li et al. Fig. 2-4: weight decay lowers the test error at both batch sizes (effect: the error without weight
    decay minus the error with it over the trainings, `trainings_gap`)."""
    small, large, (none, wd) = _study(list(outcomes))
    return [trainings_gap(f"weight_decay_helps_{which}_batch", f"Weight decay lowers the test error (batch {batch})",
                       f"VGG-9 {paper_error(is_large, 0):.2f}% without vs {paper_error(is_large, wd):.2f}% with "
                       f"(batch {PAPER_BATCHES[is_large]})",
                       (f"wd {none:g}", outcomes[batch, none]), (f"wd {wd:g}", outcomes[batch, wd]))
            for which, batch, is_large in (("small", small, False), ("large", large, True))]


def claims_02(planes: Mapping[Key, Sequence[io.Surface]], outcomes: Mapping[Key, Sequence[Outcomes]]) -> list[Claim]:
    """Notebook 02, each cell's planes and outcomes one per training (`by_cell`): with filter normalization the large
    batch's minimizer is the sharper one (without and with weight decay), sharpness follows the test error, and
    weight decay lowers it."""
    if any(len(planes[k]) != len(outcomes[k]) for k in planes):
        raise ValueError("every training of a cell needs its plane and its outcomes")
    rises = [rise_noise(p)[0] for k in planes for p in planes[k]]
    errors = [error_pct(o) for k in planes for o in outcomes[k]]
    return [*large_batch_sharper(planes), sharpness_tracks_error(rises, errors), *weight_decay_helps(outcomes)]


def _mean_and_spread(values: Sequence[float]) -> tuple[float, float]:
    return float(np.mean(values)), stats.spread_se(list(values))


def claims_06(planes: Mapping[str, PathPlane], paths: Mapping[str, Sequence[Mapping]],
              extents: Mapping[str, tuple[float, float]]) -> list[Claim]:
    """Notebook 06, over its paths (at least two; their spread is the noise): two PCA directions capture most of a
    path's variation, more than they capture of a random walk with the same step lengths (Antognini &
    Sohl-Dickstein 2018), and two random directions see almost nothing of it (`extents`: {label: (largest
    |coordinate| along the random directions, along the PCA directions)})."""
    labels = list(planes)
    if len(labels) < 2 or set(paths) != set(labels) or set(extents) != set(labels):
        raise ValueError(f"planes, paths and extents must name the same paths, at least two; got {labels}, "
                         f"{list(paths)}, {list(extents)}")
    n = len(labels)
    captures = ("pca_captures_path", "The first two PCA directions capture most of the path's variation",
                "Fig. 9: 40-90% of the variation")
    beyond = ("pca_beyond_random_walk", "The path is lower-dimensional than a random walk: two PCA directions "
              "capture more of it than of a walk with the same step lengths",
              "a long random walk's first two components hold about 76% (Antognini & Sohl-Dickstein 2018)")
    shortest = min(len(paths[k]) for k in labels)
    if shortest < 4:
        reason = (f"a path of {shortest} checkpoints spans at most two dimensions: two directions hold all of it, "
                  "as they would of any path")
        pca_claims = [findings.not_measured(*captures, reason), findings.not_measured(*beyond, reason)]
    else:
        two = [float(np.sum(planes[k].pca.explained)) for k in labels]
        walk = [float(np.sum(trajectory.random_walk_explained(trajectory.step_lengths(paths[k])))) for k in labels]
        (m_two, se_two), (m_excess, se_excess) = map(_mean_and_spread, (two, [p - w for p, w in zip(two, walk)]))
        pca_claims = [
            findings.comparison(*captures, f"{100 * min(two):.1f}-{100 * max(two):.1f}% over {n} paths, mean "
                                f"{100 * m_two:.1f} ± {100 * se_two:.1f}% (spread over the paths)", m_two - MOST,
                                se_two),
            findings.comparison(*beyond, f"random walks with the paths' step lengths: {100 * min(walk):.1f}-"
                                f"{100 * max(walk):.1f}%; the paths exceed them by {100 * m_excess:+.1f} ± "
                                f"{100 * se_excess:.1f} points", m_excess, se_excess)]
    seen = [math.log10(extents[k][1] / extents[k][0]) for k in labels]
    m_seen, se_seen = _mean_and_spread(seen)
    return [
        *pca_claims,
        findings.comparison("random_directions_miss_path", "Two random directions see almost nothing of the path "
                            "(under a tenth of its PCA extent)",
                            "Fig. 8: the path barely leaves the origin in random directions",
                            f"random directions span {100 * min(10 ** -s for s in seen):.2g}-"
                            f"{100 * max(10 ** -s for s in seen):.2g}% of the PCA extent (log10 ratio "
                            f"{m_seen:.1f} ± {se_seen:.1f})", m_seen - FEW, se_seen),
    ]
