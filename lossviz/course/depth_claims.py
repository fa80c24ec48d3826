"""The claims of notebooks 03, 03b, 03c, 04 and 05 (Li et al. 2018 Fig. 5-7 and Sec. 5: depth, shortcuts, width,
curvature) beside what the run measured, each with its noise: `claims_03`, `claims_03b`, `claims_03c`, `claims_04`,
`claims_05`.

Test errors come from the per-image outcomes of the networks on the same test images (`Course.outcomes`), so a
difference of two errors carries its paired noise. The rise of a minimizer is measured along several random directions
(`Course.seed_rises`) of one or more trainings (`Course.trainings`): with two or more trainings per network its noise
is the spread between trainings; with one, only the spread over directions is measured, and the claim says so without
a verdict (a second training moved the rise by more than that). The local minima of a plane have no noise model."""
from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import TypeVar

import numpy as np

from lossviz.base import models, papers, stats
from lossviz.course.findings import Claim, correlation, error_gap, not_measured
from lossviz.course.names import network_of
from lossviz.course.tables import Minimizer

NOSHORT = "_noshort"
T = TypeVar("T")
# Li et al. 2018 Fig. 6 (Wide-ResNet-56 on CIFAR-10, test error % printed under each panel; k = 1 is ResNet-56): the
# errors `lossviz.base.papers` does not carry yet. Fig. 5's shortcut-free errors are read from `papers.li2018_error`.
FIG6_ERRORS = {"resnet56": 5.89, "wrn56_1": 5.89, "wrn56_8": 3.93, "wrn56_1_noshort": 13.31}
NEAR_ZERO = 0.1  # |lambda_min / lambda_max| below a tenth: no negative curvature of note beside the positive
_NAME = re.compile(r"^(?:resnet(?P<depth>\d+)|wrn(?P<wdepth>\d+)_(?P<k>\d+))(?P<noshort>_noshort)?$")


# ---- the networks: depth, width, twins -----------------------------------------------------------------------


def shape_of(name: str) -> tuple[int, int, bool]:
    """(depth, width factor k, has shortcuts) of a ResNet or Wide-ResNet of Li et al. ("resnet56_noshort": 56, 1,
    False; "wrn20_2": 20, 2, True)."""
    m = _NAME.match(name)
    if m is None:
        raise ValueError(f"name={name!r} is not a ResNet or Wide-ResNet of Li et al. (resnetD, wrnD_K, "
                         f"optionally with {NOSHORT})")
    depth = int(m["depth"] or m["wdepth"])
    return depth, int(m["k"] or 1), m["noshort"] is None


def shortcut_pairs(names: Sequence[str]) -> list[tuple[str, str]]:
    """(network, its twin without shortcuts) for each network of width 1 in `names` whose twin is there too,
    shallowest first."""
    found = [(n, n + NOSHORT) for n in names if n + NOSHORT in names and _NAME.match(n) and shape_of(n)[1] == 1
             and shape_of(n)[2]]
    return sorted(found, key=lambda pair: shape_of(pair[0])[0])


def width_pair(names: Sequence[str], shortcuts: bool = True) -> tuple[str, str] | None:
    """(narrowest, widest) of the networks in `names` of one depth, with or without shortcuts, or None where there
    are not two widths of one depth."""
    nets = [n for n in names if _NAME.match(n) and shape_of(n)[2] == shortcuts]
    for depth in sorted({shape_of(n)[0] for n in nets}, reverse=True):
        same = sorted((n for n in nets if shape_of(n)[0] == depth), key=lambda n: shape_of(n)[1])
        if shape_of(same[0])[1] < shape_of(same[-1])[1]:
            return same[0], same[-1]
    return None


def _paper_error(name: str) -> float | None:
    return papers.li2018_error(name) or FIG6_ERRORS.get(name)


def _paper_pair(worse: str, better: str, source: str) -> str:
    """The paper's errors of two networks as "A x% vs B y% (source)", or `source` alone where it prints neither."""
    shown = [f"{models.display_name(n)} {e:.2f}%" for n in (worse, better) if (e := _paper_error(n)) is not None]
    return " vs ".join(shown) + f" ({source})" if shown else source


# ---- test errors from per-image outcomes ----------------------------------------------------------------------


def _outcomes(outcomes: Mapping[str, Sequence[bool]], name: str) -> np.ndarray:
    right = np.asarray(outcomes[name], dtype=bool).ravel()
    if not right.size:
        raise ValueError(f"the outcomes of {name!r} hold no images")
    return right


def error_of(outcomes: Mapping[str, Sequence[bool]], name: str) -> float:
    """The test error (%) of `name` from its per-image outcomes (True: classified correctly)."""
    return 100.0 * float(1.0 - _outcomes(outcomes, name).mean())


def paired_gap(key: str, claim: str, paper: str, outcomes: Mapping[str, Sequence[bool]], worse: str,
               better: str) -> Claim:
    """The claim that `worse` errs more than `better` on the same test images, with the paired noise."""
    a, b = _outcomes(outcomes, worse), _outcomes(outcomes, better)
    if a.shape != b.shape:
        raise ValueError(f"{worse} and {better} must be scored on the same images; got {a.size} and {b.size}")
    return error_gap(key, claim, paper, (models.display_name(worse), error_of(outcomes, worse)),
                     (models.display_name(better), error_of(outcomes, better)), a.size,
                     paired=stats.paired_counts(a.tolist(), b.tolist()))


def contrast_se(outcomes: Mapping[str, Sequence[bool]], first: tuple[str, str], second: tuple[str, str]) -> float:
    """Standard error (points) of (error(first[0]) - error(first[1])) - (error(second[0]) - error(second[1])), all
    four on the same n images: the per-image contrast d_i in {-2..2} has mean the difference of the two gaps /100,
    its variance mean(d^2) - mean(d)^2, its standard error sqrt(variance / n) (as `stats.paired_difference_se`)."""
    wrong = [~_outcomes(outcomes, n) for n in (*first, *second)]
    if len({w.size for w in wrong}) != 1:
        raise ValueError(f"{first} and {second} must be scored on the same images")
    d = (wrong[0].astype(float) - wrong[1]) - (wrong[2].astype(float) - wrong[3])
    return 100.0 * math.sqrt(max(float(np.mean(d ** 2) - np.mean(d) ** 2), 0.0) / d.size)


def image_count(outcomes: Mapping[str, Sequence[bool]]) -> int:
    """The number of test images every network of `outcomes` is scored on (the same for all)."""
    sizes = {_outcomes(outcomes, n).size for n in outcomes}
    if len(sizes) != 1:
        raise ValueError(f"the networks are scored on different numbers of images: {sorted(sizes)}")
    return sizes.pop()


# ---- gradients at initialization and surfaces ------------------------------------------------------------------


def growth_fit(ratios: Sequence[float]) -> tuple[float, float]:
    """(log of the growth per layer towards the input, its standard error): the least-squares line through
    log(ratio) against the layer index over every layer but the classifier (`gradient_scale.growth_per_layer` is
    exp of the first), with the standard error of its slope, sqrt(residual variance / sum (i - mean i)^2)."""
    y = np.log(np.asarray(ratios[:-1], dtype=np.float64))
    if y.size < 3 or not np.all(np.isfinite(y)):
        raise ValueError(f"ratios must hold at least 4 positive values; got {list(ratios)}")
    x = np.arange(y.size, dtype=np.float64) - (y.size - 1) / 2
    slope = float(np.sum(x * (y - y.mean())) / np.sum(x ** 2))
    residual = y - y.mean() - slope * x
    return -slope, math.sqrt(float(np.sum(residual ** 2)) / (y.size - 2) / float(np.sum(x ** 2)))


def gradient_growth(ratios: Mapping[str, Mapping[str, float]]) -> Claim:
    """The claim that without shortcuts the gradient grows faster per layer towards the input (deepest pair of
    `ratios`, `Course.init_gradient_ratios`): effect the difference of the log growths, noise their fits' errors."""
    pairs = shortcut_pairs(list(ratios))
    claim = "without shortcuts the gradient grows faster per layer towards the input, at initialization"
    paper = "Yang et al. 2019: a BN network without shortcuts multiplies its gradient at every layer"
    if not pairs:
        return not_measured("gradient_growth", claim, paper, "no network and its twin without shortcuts here")
    short, noshort = pairs[-1]
    (g_s, se_s), (g_ns, se_ns) = (growth_fit(list(ratios[n].values())) for n in (short, noshort))
    measured = (f"{models.display_name(noshort)} {math.exp(g_ns):.3f}x vs {models.display_name(short)} "
                f"{math.exp(g_s):.3f}x per layer: log ratio {g_ns - g_s:+.3f} ± {math.hypot(se_s, se_ns):.3f} "
                f"(least-squares error over its layers; one batch, one initialization)")
    return Claim("gradient_growth", claim, paper, g_ns - g_s, math.hypot(se_s, se_ns), measured)


def shape_claim(key: str, claim: str, paper: str, summaries: Mapping[str, Mapping[str, float]], first: str,
                second: str) -> Claim:
    """A claim on two surfaces' shapes (`shape.summary`: rise, local minima): not measured, with the numbers, as
    one plane of one training per network gives no spread."""
    shown = "; ".join(f"{models.display_name(n)}: rise {summaries[n]['rise']:.2f}, local minima "
                      f"{summaries[n]['local_minima']}" for n in (first, second))
    return not_measured(key, claim, paper, f"{shown}: one plane (two random directions) of one training per "
                                           f"network, so the spread over directions and trainings is not measured")


def trainings_of(values: Mapping[str, T]) -> dict[str, list[T]]:
    """Values keyed by run (`names.training_key`: "resnet56", "resnet56_seed1") grouped by network, in key order:
    {"resnet56": [first training's, second's]}."""
    grouped: dict[str, list[T]] = {}
    for key, value in values.items():
        grouped.setdefault(network_of(key), []).append(value)
    return grouped


def over_trainings(per_training: Sequence[float], own_se: Sequence[float]) -> tuple[float, float, str]:
    """(mean over trainings, its noise, what the noise is): with two or more trainings the standard error of their
    mean (`stats.spread_se`), else the one training's own standard error (over directions or probe vectors)."""
    mean = float(np.mean(per_training))
    if len(per_training) >= 2:
        return mean, stats.spread_se(list(per_training)), f"spread over {len(per_training)} trainings"
    return mean, float(own_se[0]), "one training"


def sharper_claim(key: str, claim: str, paper: str, values: Mapping[str, Sequence[float]],
                  own_se: Mapping[str, Sequence[float]], sharper: str, flatter: str, what: str) -> Claim:
    """The claim that `sharper` has the larger sharpness measure `what` than `flatter`, from one value per training
    (`values[network]`, each with its own standard error `own_se`): measured with the spread between trainings where
    both have two or more; with one training only its own noise is known, so the numbers come without a verdict."""
    (a, se_a, kind_a), (b, se_b, kind_b) = (over_trainings(values[n], own_se[n]) for n in (sharper, flatter))
    shown = (f"{what}: {models.display_name(sharper)} {a:.2f} ± {se_a:.2f} vs {models.display_name(flatter)} "
             f"{b:.2f} ± {se_b:.2f}")
    if len(values[sharper]) < 2 or len(values[flatter]) < 2:
        return not_measured(key, claim, paper, f"{shown} (± its own noise, one training each): a second training "
                                               "can move it by more, so the spread between trainings decides")
    spread = f"{kind_a} each" if kind_a == kind_b else f"{kind_a} and {kind_b}"
    return Claim(key, claim, paper, a - b, math.hypot(se_a, se_b), f"{shown} ({spread}; ± the standard error of the "
                                                                  "mean over trainings)")


def rise_claim(key: str, claim: str, paper: str, rises: Mapping[str, Sequence[Sequence[float]]], sharper: str,
               flatter: str) -> Claim:
    """`sharper_claim` on the filter-normalized rise at radius 0.5: `rises[network]` holds, per training, the rise
    along each direction seed (`Course.seed_rises`); a training's value is their mean, its own noise their spread."""
    for name in (sharper, flatter):
        if any(len(r) < 2 for r in rises[name]):
            raise ValueError(f"rises of {name} must hold at least 2 direction seeds per training for a spread")
    if not all(math.isfinite(v) for n in (sharper, flatter) for r in rises[n] for v in r):
        return not_measured(key, claim, paper, "a direction diverged at radius 0.5: its rise is infinite")
    means = {n: [float(np.mean(r)) for r in rises[n]] for n in (sharper, flatter)}
    own = {n: [stats.spread_se(list(r)) for r in rises[n]] for n in (sharper, flatter)}
    seeds = len(rises[sharper][0])
    return sharper_claim(key, claim, paper, means, own, sharper, flatter,
                         f"rise at 0.5 over {seeds} direction seeds")


def trace_claim(key: str, claim: str, paper: str, sharp: Mapping[str, Sequence[Mapping[str, float]]], sharper: str,
                flatter: str) -> Claim:
    """`sharper_claim` on the Hessian trace: `sharp[network]` holds each training's `Course.sharpness` numbers, its
    own noise Hutchinson's standard error."""
    return sharper_claim(key, claim, paper, {n: [s["trace"] for s in sharp[n]] for n in (sharper, flatter)},
                         {n: [s["trace_se"] for s in sharp[n]] for n in (sharper, flatter)}, sharper, flatter,
                         "tr H (Hutchinson)")


def minima_claim(key: str, claim: str, paper: str, summaries: Mapping[str, Sequence[Mapping[str, float]]],
                 rough: str, smooth: str) -> Claim:
    """A claim on the local minima of two networks' planes (`shape.summary` of each plane: one or more per training,
    in the order given): not measured, with the counts, as a count on a grid has no noise model."""
    shown = "; ".join(f"{models.display_name(n)}: " + ", ".join(str(int(p["local_minima"])) for p in summaries[n])
                      for n in (rough, smooth))
    planes = len(summaries[rough])
    return not_measured(key, claim, paper, f"local minima on each 2D plane ({shown}; {planes} "
                                           f"plane{'s' if planes != 1 else ''} each): a count on one grid has no "
                                           "noise to compare with")


# ---- the notebooks' claims -----------------------------------------------------------------------------------


def claims_03(outcomes: Mapping[str, Sequence[bool]], ratios: Mapping[str, Mapping[str, float]],
              summaries: Mapping[str, Mapping[str, float]]) -> list[Claim]:
    """Notebook 03: removing the shortcuts raises the test error (the shallowest pair), the gradient grows faster
    without them, and the surface turns rough without them (not measured: one plane per network)."""
    claims = []
    pairs = shortcut_pairs(list(outcomes))
    claim = "removing the shortcuts raises the test error"
    if pairs:
        short, noshort = pairs[0]
        claims.append(paired_gap("shortcuts_error", claim, _paper_pair(noshort, short, "Fig. 5"), outcomes,
                                 noshort, short))
    else:
        claims.append(not_measured("shortcuts_error", claim, "Fig. 5", "no network and its twin without shortcuts"))
    claims.append(gradient_growth(ratios))
    planes = shortcut_pairs(list(summaries))
    claim, paper = "without shortcuts the surface is rougher, more so with depth", "Fig. 5: chaotic at depth 56, 110"
    if planes:
        claims.append(shape_claim("rough_without_shortcuts", claim, paper, summaries, *planes[-1]))
    else:
        claims.append(not_measured("rough_without_shortcuts", claim, paper, "no plane of a network and its twin"))
    return claims


def claims_03b(outcomes: Mapping[str, Sequence[bool]]) -> list[Claim]:
    """Notebook 03b: the deepest network without shortcuts errs more than its twin (its first training's outcomes), by
    more than at the shallowest depth (the difference of the two gaps, paired on the same test images)."""
    pairs = shortcut_pairs(list(outcomes))
    if not pairs:
        raise ValueError(f"outcomes must hold a network and its twin without shortcuts; got {sorted(outcomes)}")
    (s_short, s_noshort), (short, noshort) = pairs[0], pairs[-1]
    deep = f"{models.display_name(noshort)} errs more than {models.display_name(short)}"
    claims = [paired_gap("deep_shortcuts_error", deep, _paper_pair(noshort, short, "Fig. 5"), outcomes, noshort,
                         short)]
    claim = "removing the shortcuts costs more test error with depth"
    paper = ", ".join(f"{models.display_name(n)} {e:.2f}%" for n in ("resnet20_noshort", "resnet56_noshort",
                                                                     "resnet110_noshort")
                      if (e := papers.li2018_error(n)) is not None) + " (Fig. 5)"
    if (s_short, s_noshort) == (short, noshort):
        claims.append(not_measured("shortcuts_matter_more_with_depth", claim, paper,
                                   "this profile trains one depth with and without shortcuts"))
    else:
        gap_deep = error_of(outcomes, noshort) - error_of(outcomes, short)
        gap_shallow = error_of(outcomes, s_noshort) - error_of(outcomes, s_short)
        noise = contrast_se(outcomes, (noshort, short), (s_noshort, s_short))
        measured = (f"gap {gap_deep:+.2f} at depth {shape_of(short)[0]}, {gap_shallow:+.2f} at depth "
                    f"{shape_of(s_short)[0]}: {gap_deep - gap_shallow:+.2f} ± {noise:.2f} points (paired, "
                    f"{image_count(outcomes):,} images)")
        claims.append(Claim("shortcuts_matter_more_with_depth", claim, paper, gap_deep - gap_shallow, noise,
                            measured))
    return claims


def claims_03c(summaries: Mapping[str, Sequence[Mapping[str, float]]], rises: Mapping[str, Sequence[Sequence[float]]],
               sharp: Mapping[str, Sequence[Mapping[str, float]]],
               second: Mapping[str, Sequence[Mapping[str, float]]] | None = None) -> list[Claim]:
    """Notebook 03c: over the deep pair's trainings, the network without shortcuts has the sharper minimizer by the
    filter-normalized rise (`rise_claim`) and by the Hessian trace (`trace_claim`), and the chaotic surface
    (`minima_claim`: the local minima of each plane, not measured). `summaries`, `rises` and `sharp` hold one entry
    per training of each network of the pair (`trainings_of`); `second`, where given, each training's summary on a
    second plane (another pair of random directions), whose local minima count beside the first's."""
    pairs = shortcut_pairs(list(rises))
    if not pairs:
        raise ValueError(f"rises must hold a network and its twin without shortcuts; got {sorted(rises)}")
    short, noshort = pairs[-1]
    ns = models.display_name(noshort)
    claims = [rise_claim("sharper_without_shortcuts", f"{ns}'s minimizer is sharper (filter-normalized rise)",
                         "Fig. 1 and 5: a narrow pit against a wide bowl", rises, noshort, short),
              trace_claim("trace_without_shortcuts", f"{ns}'s minimizer is sharper (tr H)", "Fig. 5 and 7", sharp,
                          noshort, short)]
    planes = {n: [*summaries[n], *(second[n] if second is not None else ())] for n in (noshort, short)}
    claims.append(minima_claim("chaotic_without_shortcuts", f"{ns}'s surface is chaotic (local minima on the plane)",
                               "Fig. 1 and 5: islands on a bumpy plateau", planes, noshort, short))
    return claims


def claims_04(outcomes: Mapping[str, Sequence[bool]], rises: Mapping[str, Sequence[Sequence[float]]]) -> list[Claim]:
    """Notebook 04: wider networks err less, with and without shortcuts, and have flatter minimizers (the rise over
    direction seeds, `rise_claim`: `rises[network]` per training, per direction seed; of the pair with shortcuts, or
    without where the profile trains one width with them)."""
    claims = []
    for shortcuts, key, claim, fallback in (
            (True, "width_lowers_error", "the wider network errs less", "Fig. 6"),
            (False, "width_rescues_noshort", "width lowers the error of networks without shortcuts",
             "Fig. 6: lower with k")):
        pair = width_pair(list(outcomes), shortcuts)
        paper = _paper_pair("wrn56_1" if shortcuts else "wrn56_1_noshort",
                            "wrn56_8" if shortcuts else "wrn56_8_noshort", fallback)
        if pair is None:
            claims.append(not_measured(key, claim, paper, "this profile trains one width " + (
                "with shortcuts" if shortcuts else "without shortcuts")))
        else:
            claims.append(paired_gap(key, claim, paper, outcomes, *pair))
    pair = width_pair(list(rises), True) or width_pair(list(rises), False)
    claim, paper = "the wider network's minimizer is flatter", "Fig. 6: flatter, more convex with k"
    claims.append(rise_claim("width_flattens", claim, paper, rises, *pair) if pair is not None else
                  not_measured("width_flattens", claim, paper, "no rise of two widths of one depth"))
    return claims


def claims_05(maps: Mapping[str, Mapping[str, np.ndarray]], sharp: Mapping[str, Mapping[str, float]],
              rises: Mapping[str, float], rows: Mapping[str, Minimizer], tol: float = 1e-2) -> list[Claim]:
    """Notebook 05: the minimizers are nearly convex (the eigenvalue maps' centers, to the Lanczos tolerance `tol`),
    the shortcut-free network's map is less convex (not measured: one map each), the filter-normalized rise ranks
    the runs as their test errors, lambda_max as their training losses, and the deepest network without shortcuts
    has the larger Hessian trace (Hutchinson's standard error)."""
    if not maps:
        raise ValueError("maps must hold at least one eigenvalue map")
    ratios = {name: np.abs(np.asarray(m["min_eig"], dtype=float) / np.asarray(m["max_eig"], dtype=float))
              for name, m in maps.items()}
    centers = {name: float(r[r.shape[0] // 2, r.shape[1] // 2]) for name, r in ratios.items()}
    worst = max(centers, key=lambda name: centers[name])
    noise = max(tol * centers[worst], 1e-4)  # Lanczos resolves the ratio to ~tol relative, ~1e-4 absolute near 0
    shown = ", ".join(f"{models.display_name(n)} {r:.3f}" for n, r in centers.items())
    claim = (f"at the minimizer the eigenvalue ratio λmin/λmax is near 0 in size (below {NEAR_ZERO:g}): convex in "
             f"every direction")
    measured = (f"at the center {shown} (± {noise:.4f}: Lanczos to {tol:g}; the Hessian's sample of images adds "
                f"noise not measured)")
    claims = [Claim("convex_at_minimizer", claim, "Fig. 7: the minimizers at the bottom of the color scale",
                    NEAR_ZERO - centers[worst], noise, measured)]
    pairs = shortcut_pairs(list(maps))
    claim = "without shortcuts the eigenvalue map is less convex"
    paper = "Fig. 7: ResNet-56-NS has regions of strong negative curvature, ResNet-56 hardly any"
    if pairs:
        medians = ", ".join(f"{models.display_name(n)} median ratio {float(np.median(ratios[n])):.3f}"
                            for n in pairs[-1])
        claims.append(not_measured("less_convex_without_shortcuts", claim, paper,
                                   f"{medians}: one map on one plane per network, so its spread is not measured"))
    else:
        claims.append(not_measured("less_convex_without_shortcuts", claim, paper, "no map of a network and its twin"))
    runs = [n for n in sharp if n in rises]
    claims.append(correlation("rise_tracks_error", "the flatter minimizer (filter-normalized rise) generalizes "
                              "better", "Sec. 5: filter-normalized sharpness ranks generalization",
                              stats.spearman([rises[n] for n in runs], [rows[n].test_error for n in runs]), len(runs)))
    claims.append(correlation("lambda_max_tracks_train_loss", "λmax ranks the runs as their final training losses",
                              "Gauss-Newton: the curvature shrinks with the loss (not a claim of Li et al.)",
                              stats.spearman([sharp[n]["lambda_max"] for n in sharp],
                                             [rows[n].train_loss for n in sharp]), len(sharp)))
    pairs = shortcut_pairs(list(sharp))
    claim = "the network without shortcuts has the sharper minimizer (tr H)"
    if pairs:
        short, noshort = pairs[-1]
        a, b = sharp[noshort], sharp[short]
        noise = math.hypot(a["trace_se"], b["trace_se"])
        measured = (f"{models.display_name(noshort)} {a['trace']:.1f} ± {a['trace_se']:.1f} vs "
                    f"{models.display_name(short)} {b['trace']:.1f} ± {b['trace_se']:.1f} (Hutchinson's standard "
                    f"error; one training each)")
        claims.append(Claim("sharper_without_shortcuts", claim, "Fig. 5 and 7", a["trace"] - b["trace"], noise,
                            measured))
    else:
        claims.append(not_measured("sharper_without_shortcuts", claim, "Fig. 5 and 7",
                                   "no network and its twin without shortcuts"))
    return claims
