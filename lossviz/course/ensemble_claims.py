"""The claims of notebooks 07-09 (Huang et al. 2017, Snapshot Ensembles; Garipov et al. 2018, mode connectivity and
FGE) beside what this run measured, each with its noise and a verdict by the course's rule (`findings`).

Noise: two test errors on the same images are compared with the paired standard error of their difference, from
the images only one of the two gets right (`EnsembleResult.correct`); errors along the line and the curves, whose
per-image outcomes are not kept, with the unpaired one (an overestimate). At 1B of Table 1 a method's error is a
mean over seeds: the noise of a difference is the standard error of the mean of the per-seed differences (the
spread over seeds, which holds the training's noise and the test set's). At 2B and 3B there is one ensemble per
method: the paired standard error on the test images, which leaves out how much another training would move it.
Whether a network is a minimum of its training set is a threshold on the training loss over that whole set
(the profile's criterion, `Profile.minimizer_loss`): there is no sampling noise to it, and the noise is 0.
"""
from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Mapping, Sequence

from lossviz.base import papers, stats
from lossviz.compute.curves import PathResult, barrier
from lossviz.compute.ensembles import EnsembleResult
from lossviz.course import findings
from lossviz.course.findings import Claim
from lossviz.course.profiles import MINIMIZER_LOSS
from lossviz.course.recipes import Segment

NAMES = {"ind": "Ind", "sse": "SSE", "fge": "FGE"}


def _cells() -> int:
    """The (dataset, network) cells of Garipov et al.'s Table 1."""
    return len(papers.TABLE1) // len(papers.TABLE1_METHODS)


def _wins(better: str, worse: str, budget: int) -> str:
    """"Table 1 at 1B: SSE below Ind in 6 of 6 cells"."""
    return (f"Garipov et al. Table 1 at {budget}B: {NAMES[better]} below {NAMES[worse]} in "
            f"{len(papers.paper_wins(better, worse, budget))} of {_cells()} cells")


def paired_gap(key: str, claim: str, paper: str, worse: tuple[str, EnsembleResult],
               better: tuple[str, EnsembleResult], member: tuple[int | None, int | None] = (None, None)) -> Claim:
    """The claim that `better` errs less than `worse` on the same test images: each is (name, result), the whole
    ensemble or, where `member` gives its index, one member of it; noise paired from their per-image outcomes."""
    sides = []
    for (name, result), k in zip((worse, better), member):
        if result.correct is None or result.member_correct is None:
            raise ValueError(f"{name}: the result holds no per-image outcomes (EnsembleResult.correct)")
        error, right = ((result.error, result.correct) if k is None
                        else (result.member_errors[k], result.member_correct[k]))
        sides.append((name, error, right.tolist()))
    (wname, werr, wright), (bname, berr, bright) = sides
    counts = stats.paired_counts(wright, bright)
    return findings.error_gap(key, claim, paper, (wname, werr), (bname, berr), len(wright), paired=counts)


def beats_members(key: str, method: str, result: EnsembleResult, paper: str) -> Claim:
    """The claim that an ensemble errs less than each of its members: against the best one, paired."""
    best = min(range(len(result.member_errors)), key=result.member_errors.__getitem__)
    return paired_gap(key, f"The {NAMES[method]} ensemble errs less than each of its members", paper,
                      (f"best member ({best + 1})", result), (NAMES[method], result), member=(best, None))


def beats_normal_run(key: str, method: str, result: EnsembleResult, single: EnsembleResult, paper: str) -> Claim:
    """The claim that an ensemble errs less than one normal run of the same budget, paired on the same images."""
    return paired_gap(key, f"{NAMES[method]} errs less than one normal run of the same budget", paper,
                      ("normal run", single), (NAMES[method], result))


def minima(key: str, claim: str, paper: str, losses: Mapping[str, float], criterion: float = MINIMIZER_LOSS) -> Claim:
    """The claim that every network of `losses`, {name: training loss (eval mode)}, is a minimum of its training set:
    effect = `criterion` (the profile's `minimizer_loss`) - the largest loss; a threshold on the whole training set,
    noise 0."""
    if not losses:
        raise ValueError("losses must hold at least one training loss")
    worst = max(losses, key=losses.__getitem__)
    each = ", ".join(f"{name} {loss:.3f}" for name, loss in losses.items())
    return findings.comparison(key, claim, paper, f"largest training loss {losses[worst]:.4f} ({worst}, of "
                               f"{len(losses)}: {each}) against {criterion:.2f}; a threshold on the training set: "
                               "no sampling noise", criterion - losses[worst], 0.0)


def _snapshots(result: EnsembleResult) -> dict[str, float]:
    """{"snapshot k": training loss} of an ensemble's members."""
    return {f"snapshot {k}": x for k, x in enumerate(result.member_train_losses, start=1)}


def claims_07(sse: EnsembleResult, single: EnsembleResult, segments: Sequence[Segment],
              criterion: float = MINIMIZER_LOSS) -> list[Claim]:
    """Notebook 07 (Huang et al.): the Snapshot Ensemble beats a normal run of the same budget and each of its
    snapshots; each snapshot is a minimum; the straight segments between consecutive snapshots
    (`Course.member_segments`) rise out of the minima, as separate basins would; `criterion`: the profile's
    `minimizer_loss`."""
    if not segments:
        raise ValueError("segments must hold at least one segment between snapshots")
    top = max(segments, key=lambda s: s.barrier)
    return [
        beats_normal_run("sse_beats_normal_run", "sse", sse, single,
                         f"Huang et al. Table 1: below a single model of the same budget; {_wins('sse', 'ind', 1)}"),
        beats_members("sse_beats_its_snapshots", "sse", sse,
                      "Huang et al. Fig. 3: the ensemble below every single snapshot"),
        minima("snapshots_are_minima", "Each cosine cycle ends in a minimum of the training set",
               "Huang et al. Fig. 1-2: each cycle converges to a local minimum", _snapshots(sse), criterion),
        findings.comparison(
            "snapshots_in_separate_basins",
            "Consecutive snapshots lie in separate basins: the segment between them rises out of the minima",
            "Huang et al. Fig. 1: the restarts carry the run from one local minimum to another",
            f"largest barrier {top.barrier:.3f} (snapshots {top.label}) against {criterion:.2f}; the training "
            "set's own loss: no sampling noise", top.barrier - criterion, 0.0),
    ]


def claims_08(paths: Mapping[str, PathResult], fge: EnsembleResult, single: EnsembleResult,
              path_test_images: int, criterion: float = MINIMIZER_LOSS,
              augmented: tuple[EnsembleResult, EnsembleResult] | None = None) -> list[Claim]:
    """Notebook 08 (Garipov et al.): a trained curve avoids the straight line's wall (the highest test error on each,
    on `path_test_images` images, unpaired noise) and removes the barrier (training cross-entropy within the
    minimum criterion, the profile's `minimizer_loss`); FGE beats a normal run of the same budget and each of its
    snapshots, which stay minima (`fge_claims`), and so again where `augmented` gives (FGE, normal run) of the
    setting with augmentation."""
    curves = {name: r for name, r in paths.items() if name != "line"}
    if "line" not in paths or not curves:
        raise ValueError(f"paths must hold the line and at least one curve; got {sorted(paths)}")
    line = paths["line"]
    name, curve = min(curves.items(), key=lambda item: max(item[1].test_error))
    top_line, top_curve = max(line.test_error), max(curve.test_error)
    wall = stats.difference_se(top_line, top_curve, path_test_images)
    lowest = min(curves, key=lambda k: barrier(curves[k].train_loss))
    barriers = ", ".join(f"{k} {barrier(r.train_loss):.3f}" for k, r in paths.items())
    return [
        findings.comparison(
            "curve_avoids_the_wall", "A trained curve between two minima avoids the wall on the straight line",
            "Garipov et al. Fig. 2: along the line the error rises far above the ends'; along the curves it does not",
            f"highest test error on {path_test_images:,} images: line {top_line:.1f}%, {name} {top_curve:.1f}%: "
            f"{top_line - top_curve:+.1f} ± {wall:.1f} points (unpaired)", top_line - top_curve, wall),
        findings.comparison(
            "curve_removes_the_barrier", "Along a trained curve the training loss stays as low as at its ends",
            "Garipov et al. Fig. 2: the training loss along the trained curves nearly constant",
            f"training cross-entropy barriers {barriers}; the lowest ({lowest}) against {criterion:.2f}, the "
            "training set's own loss: no sampling noise", criterion - barrier(curves[lowest].train_loss), 0.0),
        *fge_claims(fge, single, criterion),
        *(fge_claims(*augmented, criterion, "augmented", "with augmentation, at Garipov et al.'s step sizes")
          if augmented else ()),
    ]


def fge_claims(fge: EnsembleResult, single: EnsembleResult, criterion: float = MINIMIZER_LOSS, tag: str = "",
               setting: str = "") -> list[Claim]:
    """FGE beats a normal run of the same budget (`single`) and each of its snapshots, which stay minima (the
    normal run, whose checkpoint they start from, among them); keys suffixed `_<tag>` and claims followed by
    `(setting)` for a second setting of the same notebook."""
    claims = [
        beats_normal_run("fge_beats_normal_run", "fge", fge, single, _wins("fge", "ind", 1)),
        beats_members("fge_beats_its_snapshots", "fge", fge,
                      "Garipov et al. Sec. 5: snapshots that make different mistakes ensemble better than each"),
        minima("fge_snapshots_are_minima", "FGE's snapshots stay in the low-loss region: each a minimum",
               "Garipov et al. Sec. 5: short cycles and small steps keep FGE near the minimum",
               {"normal run": single.member_train_losses[0], **_snapshots(fge)}, criterion),
    ]
    if not tag:
        return claims
    return [dataclasses.replace(c, key=f"{c.key}_{tag}", claim=f"{c.claim} ({setting or tag})") for c in claims]


def ordering(better: str, worse: str, budget: int, results: Mapping[str, Sequence[EnsembleResult]]) -> Claim:
    """The claim that `better` errs less than `worse` at `budget` (the paper's majority over its six cells):
    at 1B with two or more seeds, the mean of the per-seed differences and its standard error (spread over seeds);
    with one ensemble each, the paired difference on the test images (test-set noise only)."""
    worse_runs, better_runs = results[worse], results[better]
    key, claim = f"{better}_beats_{worse}_{budget}B", f"{NAMES[better]} errs less than {NAMES[worse]} at {budget}B"
    if [r.seeds for r in worse_runs] != [r.seeds for r in better_runs] or not worse_runs:
        return findings.not_measured(key, claim, _wins(better, worse, budget),
                                     f"this profile has no ensembles of both at {budget}B")
    if len(worse_runs) == 1:
        gap = paired_gap(key, claim, _wins(better, worse, budget), (NAMES[worse], worse_runs[0]),
                         (NAMES[better], better_runs[0]))
        assert gap.effect is not None  # a paired gap is always measured
        return findings.comparison(key, claim, gap.paper, gap.measured + " (one ensemble each: the test set's "
                                   "noise, not another training's)", gap.effect, gap.noise)
    diffs = [w.error - b.error for w, b in zip(worse_runs, better_runs)]
    effect, noise = statistics.mean(diffs), stats.spread_se(diffs)
    w_mean, b_mean = (statistics.mean(r.error for r in runs) for runs in (worse_runs, better_runs))
    return findings.comparison(key, claim, _wins(better, worse, budget),
                               f"{NAMES[worse]} {w_mean:.2f}% vs {NAMES[better]} {b_mean:.2f}% (means over "
                               f"{len(diffs)} seeds): {effect:+.2f} ± {noise:.2f} points (spread of the per-seed "
                               "differences)", effect, noise)


def paper_direction(a: str, b: str, budget: int) -> tuple[str, str] | None:
    """(better, worse) as most of Table 1's cells order methods a and b at `budget`; None when they split evenly."""
    wins, losses = len(papers.paper_wins(a, b, budget)), len(papers.paper_wins(b, a, budget))
    return (a, b) if wins > losses else (b, a) if losses > wins else None


def claims_09(units: Mapping[tuple[str, int], Sequence[EnsembleResult]]) -> list[Claim]:
    """Notebook 09 (Garipov et al. Table 1): at each budget, SSE against Ind, FGE against Ind and FGE against SSE, each
    in the direction most of the paper's cells take (`ordering`); and whether FGE's members stay minima, over every
    seed at 1B. `units`: {(method, k): ensembles}, `Course.budget_ensembles`."""
    budgets = sorted({k for _, k in units})
    found = []
    for k in budgets:
        results = {m: units.get((m, k), []) for m in NAMES}
        for a, b in (("sse", "ind"), ("fge", "ind"), ("fge", "sse")):
            direction = paper_direction(a, b, k)
            if direction is None:
                found.append(findings.not_measured(f"{a}_vs_{b}_{k}B", f"{NAMES[a]} against {NAMES[b]} at {k}B",
                                                   _wins(a, b, k), "the paper's cells split evenly: no direction"))
            else:
                found.append(ordering(*direction, k, results))
    fge = units.get(("fge", 1), [])
    if fge:
        found.append(minima("fge_members_are_minima", "Every FGE snapshot, of every seed, is a minimum",
                            "Garipov et al. Sec. 5: short cycles and small steps keep FGE near the minimum",
                            {f"seed {r.seeds[0]}": max(r.member_train_losses) for r in fge}))
    return found
