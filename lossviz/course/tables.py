"""The course's tables as text: each run's minimizer check beside the paper's error, rank correlations of sharpness,
gradient scales at initialization, and Garipov et al.'s Table 1 beside ours."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lossviz.base import io, models, papers, stats
from lossviz.compute import curves, ensembles, gradient_scale, shape, train
from lossviz.compute.ensembles import Row
from lossviz.compute.train import TrainConfig
from lossviz.course.profiles import MINIMIZER_LOSS
from lossviz.views import plot


@dataclass(frozen=True)
class Minimizer:
    """How far a run got: its training loss (eval mode, its own images), test error with its binomial standard
    error, the SGD steps it took, and the paper's test error for the same figure (None where there is none)."""

    name: str
    train_loss: float
    test_error: float
    test_se: float
    test_images: int
    epochs: int
    steps: int
    paper: float | None
    seconds: float = 0.0  # the training's wall time, as logged when it ran


def minimizer_table(rows: dict[str, Minimizer], threshold: float = MINIMIZER_LOSS) -> str:
    """The runs as a table: network, epochs, steps, training loss (and whether it is below `threshold`, the
    profile's `minimizer_loss`), test error +- its standard error, and the paper's test error."""
    width = max([18] + [len(r.name) for r in rows.values()])  # the run column fits its longest name
    lines = [f"{'run':<{width}}{'epochs':>7}{'steps':>7}{'train s':>9}   train loss            test error (ours +- SE)"
             f"     paper"]
    for r in rows.values():
        mark = "minimizer" if r.train_loss <= threshold else "NOT below"
        paper = f"{r.paper:.2f}%" if r.paper is not None else "-"
        lines.append(f"{r.name:<{width}}{r.epochs:>7}{r.steps:>7}{r.seconds:>9.0f}   {r.train_loss:7.4f} {mark:<9}"
                     f"  {r.test_error:6.2f}% +- {r.test_se:4.2f} on {r.test_images:,}   {paper}")
    return "\n".join(lines)


def minimizer_numbers(rows: dict[str, Minimizer]) -> dict[str, float]:
    """The numbers a notebook records of its runs: `train_loss_<name>` and `test_error_<name>`."""
    return {**{f"train_loss_{n}": round(r.train_loss, 4) for n, r in rows.items()},
            **{f"test_error_{n}": round(r.test_error, 2) for n, r in rows.items()}}


def weight_scale_table(runs: dict[str, TrainConfig], norms: dict[str, float | None]) -> str:
    """Each run's batch size, weight decay, learning rate, SGD steps, the factor weight decay alone would shrink its
    weights by (`train.decay_shrink`) and its weights' norm (None: not trained here, e.g. the paper's runs)."""
    lines = [f"{'run':<32}{'batch':>6}{'wd':>8}{'lr':>8}{'steps':>8}   wd alone shrinks to   ||theta||"]
    for name, c in runs.items():
        norm = norms.get(name)
        lines.append(f"{name:<32}{c.batch_size:>6}{c.weight_decay:>8g}{c.schedule.lr:>8.3g}{train.steps(c):>8}   "
                     f"{train.decay_shrink(c):<20.2g}  {'-' if norm is None else f'{norm:.2f}'}")
    return "\n".join(lines)


def sharpness_correlations(sharp: dict[str, dict[str, float]], rises: dict[str, float],
                           rows: dict[str, Minimizer]) -> dict[str, float]:
    """Spearman's rank correlation across the runs of each sharpness measure (`lambda_max` and `trace` of
    `Course.sharpness`, the filter-normalized `rise`) with the final training loss and with the test error,
    printed and keyed `spearman_<measure>_<train_loss|test_error>`."""
    names = list(sharp)
    measures = {"lambda_max": [sharp[n]["lambda_max"] for n in names], "trace": [sharp[n]["trace"] for n in names],
                "rise": [rises[n] for n in names]}
    against = {"train_loss": [rows[n].train_loss for n in names], "test_error": [rows[n].test_error for n in names]}
    result = {f"spearman_{m}_{a}": round(stats.spearman(x, y), 3) for m, x in measures.items()
              for a, y in against.items()}
    for m in measures:
        loss, error = result[f"spearman_{m}_train_loss"], result[f"spearman_{m}_test_error"]
        print(f"{m:<11} rank correlation over {len(names)} runs with the training loss {loss:+.2f}, "
              f"with the test error {error:+.2f}")
    return result


def gradient_summary(ratios: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """{network: first-layer ratio, median ratio, growth per layer} of `Course.init_gradient_ratios`, printed as a
    table (record them with the keys `grad_<number>_<network>`)."""
    rows = {}
    for name, layers in ratios.items():
        values = list(layers.values())
        rows[name] = {"first": values[0], "median": float(np.median(values)),
                      "growth": gradient_scale.growth_per_layer(values)}
        print(f"{models.display_name(name):<14} first layer {values[0]:9.3g}   median {rows[name]['median']:7.3g}"
              f"   growth per layer towards the input {rows[name]['growth']:.3f}x")
    return rows


def _cell(value: float | None, std: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}" + (f"±{std:.2f}" if std is not None else "")


def _layout(title: str, header: list[str], lines: list[list[str]]) -> str:
    widths = [max(len(x[i]) for x in [header, *lines]) for i in range(len(header))]
    return "\n".join([title] + ["  ".join(x.ljust(w) for x, w in zip(line, widths)).rstrip()
                                for line in [header, *lines]])


def _method_name(method: str) -> str:
    return method.upper() if method != "ind" else "Ind"


def format_table(rows: Sequence[Row]) -> str:
    """Our Table 1: a line per model and method, a column per dataset and budget (mean±std over seeds at 1B)."""
    datasets = list(dict.fromkeys(r.dataset for r in rows))
    budgets = sorted({r.budget for r in rows})
    cells = {(r.dataset, r.model, r.method, r.budget): r for r in rows}
    header = ["DNN", "method"] + [f"{d} {k}B" for d in datasets for k in budgets]
    lines = []
    for model in dict.fromkeys(r.model for r in rows):
        for method in dict.fromkeys(r.method for r in rows if r.model == model):
            line = [models.display_name(model), _method_name(method)]
            for d in datasets:
                for k in budgets:
                    r = cells.get((d, model, method, k))
                    line.append(_cell(r.error, r.std) if r else "—")
            lines.append(line)
    images = sorted({r.test_images for r in rows if r.test_images})
    where = f" on {', '.join(f'{n:,}' for n in images)} test images" if images else ""
    return _layout(f"Test error (%), this run{where}", header, lines)


def format_paper_table(datasets: Sequence[str] = ("cifar100", "cifar10")) -> str:
    """Garipov et al. 2018 Table 1 as printed in the paper (test error %, std at 1B), from `lossviz.base.papers`."""
    known = list(dict.fromkeys(d for d, _, _ in papers.TABLE1))
    for d in datasets:
        if d not in known:
            raise ValueError(f"dataset={d!r} is not in Table 1; valid choices: {', '.join(known)}")
    header = ["DNN (budget B)", "method"] + [f"{d} {k}B" for d in datasets for k in ensembles.BUDGETS]
    budget_of = {c.model: c.budget_epochs for c in papers.garipov2018()}
    lines = []
    for model in dict.fromkeys(m for _, m, _ in papers.TABLE1):
        for method in papers.TABLE1_METHODS:
            lines.append([f"{models.display_name(model)} ({budget_of[model]})", _method_name(method)]
                         + [_cell(*(papers.reference(d, model, method, k) or (None, None)))
                            for d in datasets for k in ensembles.BUDGETS])
    return _layout(f"Test error (%), {papers.SOURCES['garipov2018_table1']}", header, lines)


# ---- notebooks 07-09: what the ensembles' cells print and record -----------------------------------------

def snapshot_plan(plan: ensembles.Plan, seed: int) -> str:
    """Notebook 07's plan: the network, its training images and iterations per epoch, B, the SSE cycles and the epochs
    the snapshots are taken at."""
    base, sse = plan.base, plan.sse_run(seed)
    return "\n".join([
        f"{models.display_name(base.model)} on {base.dataset}: {base.train_subset or 'all'} training images, batch "
        f"{base.batch_size}, augmentation {'on' if base.augment else 'off'}, {ensembles.iters_per_epoch(base)} "
        "iterations per epoch",
        f"B = {plan.budget} epochs; SSE: M = {plan.cycles} cycles of {plan.budget / plan.cycles:g} epochs, "
        f"alpha_0 = {sse.schedule.lr}",
        "snapshots after epochs " + ", ".join(f"{e:g}" for e in sse.checkpoint_epochs)])


def members_table(result: ensembles.EnsembleResult, single: ensembles.EnsembleResult,
                  from_start: Sequence[float] | None = None, between_minima: float | None = None) -> str:
    """Each member of an ensemble: (its distance from FGE's start,) training loss, test error alone and of the
    ensemble of the first m; how often consecutive members disagree; one normal run of the same budget; and the
    binomial standard error of a test error on the scored images."""
    n = result.test_images
    if from_start is not None and len(from_start) != len(result.member_errors):
        raise ValueError(f"from_start must give one distance per member ({len(result.member_errors)}); got "
                         f"{len(from_start)}")
    lines = [f"scored on {n:,} test images; standard error of a test error near {single.error:.1f}%: "
             f"{stats.binomial_se(single.error, n):.2f} points"]
    for m, (loss, alone, together) in enumerate(zip(result.member_train_losses, result.member_errors,
                                                    result.ensemble_errors), start=1):
        where = f"distance from the start {from_start[m - 1]:6.2f}, " if from_start is not None else ""
        lines.append(f"member {m}: {where}train loss {loss:.3f}, test error {alone:5.2f}% alone; ensemble of "
                     f"members 1..{m}: {together:5.2f}%")
    d = result.disagreements
    if len(d) > 1:
        lines.append("consecutive members disagree on " + ", ".join(f"{d[k][k + 1]:.1f}%" for k in range(len(d) - 1))
                     + f" of the test images (mean over all pairs {result.mean_disagreement:.1f}%)")
    if between_minima is not None:
        lines.append(f"for scale: the two independent minima are {between_minima:.1f} apart")
    lines.append(f"one normal run of the same budget: train loss {single.member_train_losses[0]:.3f}, test error "
                 f"{single.error:5.2f}%")
    return "\n".join(lines)


def segment_table(segments: Sequence, result: ensembles.EnsembleResult) -> str:
    """The straight segments between consecutive members (`Course.member_segments`): distance, disagreement on the
    test images, training loss at the ends and at the highest point, and the barrier."""
    lines = []
    for s in segments:
        loss = s.path.train_loss
        lines.append(f"members {s.label}: distance {s.distance:6.1f}, disagreement "
                     f"{result.disagreements[s.first - 1][s.first]:4.1f}% of test images, train loss at the ends "
                     f"{loss[0]:.3f} / {loss[-1]:.3f}, highest on the segment {max(loss):.3f}: barrier {s.barrier:.3f}")
    lines.append(f"mean disagreement of all member pairs: {result.mean_disagreement:.1f}%")
    return "\n".join(lines)


def anchors(label: str, plane) -> str:
    """Where the three networks a plane passes through lie on it: "label at (x, y) = (0.0, 0.0), ..."."""
    return f"{label} at (x, y) = " + ", ".join(f"({x:.1f}, {y:.1f})" for x, y in plane.anchors)


def connection_settings(link, third_seed: int | None = None) -> str:
    """Notebook 08's end points (normal runs of budget B) and each curve family's training settings."""
    ends = f"{models.display_name(link.model_name)} on {link.dataset}: end points = normal runs of B = " \
           f"{link.plan.budget} epochs, seeds {[c.seed for c in link.ends]}"
    lines = [ends + (f"; the third minimum: seed {third_seed}" if third_seed is not None else "")]
    for kind, c in link.configs().items():
        lines.append(f"{kind}: {c.bends} bend, {c.epochs} epochs, batch {c.batch_size}, lr {c.lr}, weight decay "
                     f"{c.weight_decay}, augmentation {'on' if c.augment else 'off'}")
    return "\n".join(lines)


def minima_table(minima: dict[int, ensembles.EnsembleResult], model: str) -> str:
    """Independently trained minima, {seed: normal run}: test error and training loss of each."""
    return "\n".join(f"seed {s}: {plot.caption(models.display_name(model), r.error, r.test_images)}, train loss "
                     f"{r.member_train_losses[0]:.3f}" for s, r in minima.items())


def curve_training(trained: dict) -> str:
    """Each trained curve's last training epoch: loss and accuracy at random t."""
    return "\n".join(f"{kind}: after {c.log[-1]['epoch']} epochs, train loss at random t {c.log[-1]['train_loss']:.3f}"
                     f", train accuracy {c.log[-1]['train_acc_pct']:.1f}%" for kind, c in trained.items())


def barrier_table(paths: dict, test_images: int | None = None) -> str:
    """The line and each curve: barriers of the training and test cross-entropy and of the training objective (with
    the weight-decay term), and the test error at the ends and at its highest."""
    where = f" on {test_images:,} test images" if test_images else ""
    lines = [f"{'path':>9}  train CE barrier  test CE barrier  CE + wd barrier  test error{where}: ends / highest"]
    for name, r in paths.items():
        b = curves.barriers(r)
        lines.append(f"{name:>9}  {b['train_ce']:16.3f}  {b['test_ce']:15.3f}  {b['train_objective']:15.3f}  "
                     f"{r.test_error[0]:.1f}% {r.test_error[-1]:.1f}% / {max(r.test_error):.1f}%")
    return "\n".join(lines)


def fge_plan(plan: ensembles.Plan, seed: int) -> str:
    """Notebook 08's FGE phase: pre-training, cycles, learning rates and the iterations of the snapshots."""
    _, members = ensembles.schedule_trace("fge", plan, seed)
    alpha1, alpha2 = plan.fge_lr
    c = ensembles.fge_cycle_iterations(plan.fge_cycle_epochs, ensembles.iters_per_epoch(plan.base))
    return (f"pre-training {plan.pretrain_epochs} epochs, then {plan.fge_epochs} epochs of cycles of c = {c} "
            f"iterations ({plan.fge_cycle_epochs:g} epochs), alpha_1 = {alpha1}, alpha_2 = {alpha2}: {len(members)} "
            f"snapshots at iterations {members}")


def budget_plan(plan: ensembles.Plan, seeds: Sequence[int], budgets: Sequence[int]) -> str:
    """Notebook 09's budgets: the members and epochs of one unit of each method, and the epochs trained in all."""
    lines = []
    for method in ensembles.METHODS:
        unit = ensembles.runs(method, tuple(seeds[:1]), plan)
        lines.append(f"{method:>3}: {sum(len(r.members) for r in unit)} member(s) for {ensembles.spent(unit):g} epochs")
    every = [r for method in ensembles.METHODS for r in ensembles.runs(method, tuple(seeds), plan)]
    lines.append(f"budgets {', '.join(f'{k}B' for k in budgets)} with B = {plan.budget} epochs; seeds {tuple(seeds)}; "
                 f"{ensembles.trained_epochs(every)} epochs of training per network and dataset")
    return "\n".join(lines)


def table_noise(rows: Sequence[Row]) -> str:
    """The binomial standard error of a test error at the table's errors, on the images they were scored on."""
    errors = [r.error for r in rows if r.error is not None]
    if not errors:
        raise ValueError("rows must hold at least one measured error")
    n = next(r.test_images for r in rows if r.error is not None)
    se = sorted(stats.binomial_se(e, n) for e in errors)
    return f"binomial standard error on {n:,} test images: {se[0]:.2f} to {se[-1]:.2f} points at these errors"


def member_losses(units: dict[tuple[str, int], Sequence[ensembles.EnsembleResult]]) -> str:
    """The largest training loss of any member of each method's 1B ensembles, per seed (a member above 0.10 has
    left the minimum its run was in)."""
    lines = []
    for method in dict.fromkeys(m for m, _ in units):
        found = units.get((method, 1), [])
        seeds = tuple(s for r in found for s in r.seeds)
        lines.append(f"{method:>3}: largest member training loss, seeds {seeds}: "
                     + ", ".join(f"{max(r.member_train_losses):.4f}" for r in found))
    return "\n".join(lines)


def paper_orderings(datasets: Sequence[str] = ("cifar100", "cifar10")) -> str:
    """The methods of Garipov et al.'s Table 1 in order (best first) per dataset, network and budget, and how often
    each method beats another at each budget."""
    nets = list(dict.fromkeys(m for _, m, _ in papers.TABLE1))
    lines = []
    for dataset in datasets:
        for k in ensembles.BUDGETS:
            ranks = [f"{models.display_name(m)}: "
                     + " < ".join(_method_name(x) for x in papers.paper_ranking(dataset, m, k)) for m in nets]
            lines.append(f"{dataset} {k}B  " + ";  ".join(ranks))
    cells = len(papers.TABLE1) // len(papers.TABLE1_METHODS)
    for k in ensembles.BUDGETS:
        ind_wins = papers.paper_wins("ind", "fge", k)
        lines.append(f"{k}B: SSE beats Ind in {len(papers.paper_wins('sse', 'ind', k))} of {cells} cells, "
                     f"FGE beats Ind in {len(papers.paper_wins('fge', 'ind', k))}, "
                     f"Ind beats FGE in {len(ind_wins)} ({', '.join(f'{d} {m}' for d, m in ind_wins) or 'none'})")
    return "\n".join(lines)


def snapshot_numbers(sse: ensembles.EnsembleResult, single: ensembles.EnsembleResult, segments: Sequence,
                     plane_loss) -> dict[str, float | int | list]:
    """What notebook 07 records: the errors of the normal run, the snapshots and the growing ensemble, the members'
    training losses (the snapshots', then the normal run's), the segments' barriers and distances, the mean
    disagreement, the images scored, and the range of the training loss on the plane."""
    n = sse.test_images
    return dict(single_run_error=round(single.error, 2), sse_ensemble_error=round(sse.error, 2),
                sse_snapshot_errors=[round(e, 2) for e in sse.member_errors],
                sse_growing_errors=[round(e, 2) for e in sse.ensemble_errors],
                member_train_losses=[round(x, 4) for x in sse.member_train_losses + single.member_train_losses],
                sse_line_barriers_ce=[round(s.barrier, 4) for s in segments],
                sse_distances=[round(s.distance, 2) for s in segments],
                sse_mean_disagreement_pct=round(sse.mean_disagreement, 2),
                ensemble_test_images=n, binomial_se=round(stats.binomial_se(single.error, n), 2),
                plane_min_train_loss=round(float(np.min(plane_loss)), 4),
                plane_max_train_loss=round(float(np.max(plane_loss)), 4))


def connectivity_numbers(paths: dict, fge: ensembles.EnsembleResult, minima: dict[int, ensembles.EnsembleResult],
                         travel, seed: int, path_test_images: int) -> dict[str, float | int | list]:
    """What notebook 08 records: the barriers of the line and the curves (training and test cross-entropy, the
    objective with weight decay; the Bezier curve as `curve_`), their highest test errors, FGE's errors, distances
    and disagreement, the minima's errors and training losses, and the images scored."""
    name = {"bezier": "curve"}
    found: dict[str, float | int | list] = {}
    for path, r in paths.items():
        b = curves.barriers(r)
        key = name.get(path, path)
        found.update({f"{key}_barrier_ce": round(b["train_ce"], 4), f"{key}_barrier_ce_test": round(b["test_ce"], 4),
                      f"{key}_barrier_wd": round(b["train_objective"], 4)})
    found.update({f"{name.get(path, path)}_max_test_error": round(max(r.test_error), 2) for path, r in paths.items()})
    found.update(fge_ensemble_error=round(fge.error, 2), fge_snapshot_errors=[round(e, 2) for e in fge.member_errors],
                 fge_distances_from_start=[round(d, 3) for d in travel.from_start],
                 fge_mean_disagreement_pct=round(fge.mean_disagreement, 2),
                 minima_distance=round(travel.between_minima, 2), single_run_error=round(minima[seed].error, 2),
                 endpoint_errors=[round(r.error, 2) for r in minima.values()],
                 member_train_losses=[round(r.member_train_losses[0], 4) for r in minima.values()]
                 + [round(x, 4) for x in fge.member_train_losses],
                 ensemble_test_images=fge.test_images, path_test_images=path_test_images)
    return found


def fge_setting_numbers(tag: str, fge: ensembles.EnsembleResult, single: ensembles.EnsembleResult,
                        seconds: float) -> dict[str, float | list]:
    """What notebook 08 records of a second FGE setting, keyed `fge_<tag>_...`: the ensemble's and its snapshots'
    test errors and training losses, their disagreement, the normal run's error and loss, the training seconds."""
    return {f"fge_{tag}_ensemble_error": round(fge.error, 2),
            f"fge_{tag}_snapshot_errors": [round(e, 2) for e in fge.member_errors],
            f"fge_{tag}_snapshot_train_losses": [round(x, 4) for x in fge.member_train_losses],
            f"fge_{tag}_mean_disagreement_pct": round(fge.mean_disagreement, 2),
            f"fge_{tag}_single_run_error": round(single.error, 2),
            f"fge_{tag}_single_run_train_loss": round(single.member_train_losses[0], 4),
            f"fge_{tag}_train_seconds": round(seconds, 1)}


def comparison_numbers(rows: Sequence[Row]) -> dict[str, float | int | None]:
    """What notebook 09 records: each cell's test error (`<method>_<k>B_<model>_<dataset>`), the std over seeds at
    1B, the largest member training loss of each method and budget, the seeds, the images scored and the binomial
    standard error of the normal run's error at 1B."""
    ind = next(r for r in rows if r.method == "ind" and r.budget == 1)
    return {**{f"{r.method}_{r.budget}B_{r.model}_{r.dataset}": round(r.error, 2) for r in rows if r.error is not None},
            **{f"{r.method}_1B_std": round(r.std, 2) for r in rows if r.budget == 1 and r.std is not None},
            **{f"max_member_loss_{r.method}_{r.budget}B": round(r.max_member_train_loss, 4) for r in rows
               if r.max_member_train_loss is not None},
            "seeds": ind.seeds, "ensemble_test_images": ind.test_images,
            "binomial_se": round(stats.binomial_se(ind.error, ind.test_images), 2) if ind.error is not None else None}


def budget_series(rows: Sequence[Row]
                  ) -> tuple[list[int], dict[str, list[float | None]], dict[str, list[float | None]]]:
    """Table 1 of one network and dataset as `charts.budget_errors` draws it: the budgets, and per method its error
    and std at each budget (None where not measured)."""
    if len({(r.model, r.dataset) for r in rows}) != 1:
        raise ValueError("rows must hold one network on one dataset")
    budgets = sorted({r.budget for r in rows})
    cells = {(r.method, r.budget): r for r in rows}
    methods = list(dict.fromkeys(r.method for r in rows))
    errors, stds = ({_method_name(m): [getattr(cells[m, k], field) if (m, k) in cells else None for k in budgets]
                     for m in methods} for field in ("error", "std"))
    return budgets, errors, stds
def shape_table(surfaces: dict[str, io.Surface], key: str = "train_loss", radius: float = 0.5) -> str:
    """Each surface's `shape.summary` as a table: the loss at the center, its mean on the grid's rim, the rise at
    `radius` and the local minima on the grid."""
    if not surfaces:
        raise ValueError("surfaces must hold at least one surface")
    header = ["surface", "center", "rim (mean)", f"rise at {radius:g}", "local minima"]
    lines = []
    for name, s in surfaces.items():
        found = shape.summary(s, key, radius)
        lines.append([name, f"{found['center']:.3f}", f"{found['rim']:.2f}", f"{found['rise']:.2f}",
                      str(found["local_minima"])])
    return _layout(f"{key} on each plane", header, lines)


def sharpness_table(labels: dict[str, str], summaries: dict[str, dict[str, float]], rises: dict[str, list[float]],
                    sharp: dict[str, dict[str, float]] | None = None,
                    second: dict[str, dict[str, float]] | None = None) -> str:
    """Each run's sharpness by every measure the course has, keyed alike: the rise at 0.5 and the local minima on its
    plane (`shape.summary`), and where `second` is given on a second plane (another pair of random directions) after
    a slash, the rise over direction seeds (`Course.seed_rises`: mean ± standard deviation), and where `sharp` is
    given lambda_max and the Hessian trace ± Hutchinson's standard error (`Course.sharpness`); `labels` names the
    rows."""
    if not labels:
        raise ValueError("labels must name at least one run")
    seeds = "/".join(map(str, sorted({len(r) for r in rises.values()})))
    planes = " (planes 1/2)" if second is not None else " (plane)"

    def both(k: str, name: str, shown: str) -> str:
        return shown.format(summaries[k][name]) + (f" / {shown.format(second[k][name])}" if second is not None else "")

    header = ["run", f"rise{planes}", f"rise ({seeds} directions)", f"minima{planes}"] + (
        ["λmax", "tr H (± SE)"] if sharp is not None else [])
    lines = [[label, both(k, "rise", "{:.2f}"), f"{np.mean(rises[k]):.2f} ± {np.std(rises[k], ddof=1):.2f}",
              both(k, "local_minima", "{:.0f}")] + (
              [f"{sharp[k]['lambda_max']:.1f}", f"{sharp[k]['trace']:.0f} ± {sharp[k]['trace_se']:.0f}"]
              if sharp is not None else []) for k, label in labels.items()]
    title = "sharpness at each minimizer (training loss at filter-normalized distance 0.5; directions: mean ± sd)"
    return _layout(title, header, lines)


def sharpness_numbers(summaries: dict[str, dict[str, float]], rises: dict[str, list[float]],
                      sharp: dict[str, dict[str, float]] | None = None,
                      second: dict[str, dict[str, float]] | None = None) -> dict[str, float | int]:
    """What `sharpness_table` shows, as a notebook records it: `sharpness_<run>` (the plane's rise), `minima_<run>`,
    with `second` `sharpness_plane2_<run>` and `minima_plane2_<run>`, `rise_seeds_<run>` and `rise_seeds_sd_<run>`
    (mean and standard deviation over direction seeds), `sharpness_seeds`, and with `sharp` `lambda_max_<run>` and
    `trace_<run>`."""
    seeds = {len(r) for r in rises.values()}
    if len(seeds) != 1:
        raise ValueError(f"rises must hold the same number of direction seeds for every run; got {sorted(seeds)}")
    found: dict[str, float | int] = {"sharpness_seeds": seeds.pop()}
    for k, s in summaries.items():
        found |= {f"sharpness_{k}": round(s["rise"], 4), f"minima_{k}": int(s["local_minima"]),
                  f"rise_seeds_{k}": round(float(np.mean(rises[k])), 4),
                  f"rise_seeds_sd_{k}": round(float(np.std(rises[k], ddof=1)), 4)}
        if second is not None:
            found |= {f"sharpness_plane2_{k}": round(second[k]["rise"], 4),
                      f"minima_plane2_{k}": int(second[k]["local_minima"])}
        if sharp is not None:
            found |= {f"lambda_max_{k}": round(sharp[k]["lambda_max"], 2), f"trace_{k}": round(sharp[k]["trace"], 1)}
    return found
