"""The course's tables as text: each run's minimizer check beside the paper's error, rank correlations of sharpness,
gradient scales at initialization, and Garipov et al.'s Table 1 beside ours."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lossviz.base import io, models, papers, stats
from lossviz.compute import ensembles, gradient_scale, shape
from lossviz.compute.ensembles import Row


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


def minimizer_table(rows: dict[str, Minimizer], threshold: float = 0.10) -> str:
    """The runs as a table: network, epochs, steps, training loss (and whether it is below `threshold`), test error
    +- its standard error, and the paper's test error."""
    lines = [f"{'run':<18}{'epochs':>7}{'steps':>7}{'train s':>9}   train loss            test error (ours +- SE)"
             f"     paper"]
    for r in rows.values():
        mark = "minimizer" if r.train_loss <= threshold else "NOT below"
        paper = f"{r.paper:.2f}%" if r.paper is not None else "-"
        lines.append(f"{r.name:<18}{r.epochs:>7}{r.steps:>7}{r.seconds:>9.0f}   {r.train_loss:7.4f} {mark:<9}"
                     f"  {r.test_error:6.2f}% +- {r.test_se:4.2f} on {r.test_images:,}   {paper}")
    return "\n".join(lines)


def minimizer_numbers(rows: dict[str, Minimizer]) -> dict[str, float]:
    """The numbers a notebook records of its runs: `train_loss_<name>` and `test_error_<name>`."""
    return {**{f"train_loss_{n}": round(r.train_loss, 4) for n, r in rows.items()},
            **{f"test_error_{n}": round(r.test_error, 2) for n, r in rows.items()}}


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
