"""Published numbers the course shows beside its own: tables transcribed from the papers (package data in
`lossviz/base/published/`, each CSV citing its paper in its header comments)."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources

TABLES = ("garipov2018_table1", "li2018_test_errors")
SOURCES = {
    "garipov2018_table1": "Garipov et al. 2018, Loss Surfaces, Mode Connectivity, and Fast Ensembling of DNNs, Table 1",
    "li2018_test_errors": "Li et al. 2018, Visualizing the Loss Landscape of Neural Nets, Fig. 2-6",
}


def rows(table: str) -> list[dict[str, str]]:
    """The rows of a published table as dicts keyed by its header (the last comment line before the data)."""
    if table not in TABLES:
        raise ValueError(f"table={table!r} is not known; valid choices: {', '.join(TABLES)}")
    lines = resources.files("lossviz.base").joinpath("published", f"{table}.csv").read_text().splitlines()
    header = [ln for ln in lines if ln.startswith("#")][-1].lstrip("# ").split(",")
    return [dict(zip(header, r)) for r in csv.reader(ln for ln in lines if ln.strip() and not ln.startswith("#"))]


@dataclass(frozen=True)
class LiError:
    """One test error printed under a figure of Li et al. 2018 (CIFAR-10, %)."""

    figure: str
    model: str
    setting: str
    test_error: float


def li2018() -> list[LiError]:
    """Li et al. 2018's test errors of the figures the course reproduces."""
    return [LiError(r["figure"], r["model"], r["setting"], float(r["test_error"])) for r in rows("li2018_test_errors")]


def li2018_error(model: str, setting: str = "") -> float | None:
    """Li et al.'s test error (%) of `model` in `setting` ("wd=0 bs=128", "k=8 with shortcuts", ""), or None."""
    found = [e.test_error for e in li2018() if e.model == model and e.setting == setting]
    return found[0] if found else None


@dataclass(frozen=True)
class GaripovCell:
    """One row of Garipov et al. 2018 Table 1: test error (%) of a method at budgets 1B, 2B, 3B (std at 1B only)."""

    model: str
    budget_epochs: int  # B: the epochs of one normal run of this network
    method: str  # ind, sse or fge
    dataset: str
    err_1B: float
    std_1B: float
    err_2B: float
    err_3B: float


def garipov2018() -> list[GaripovCell]:
    """Garipov et al. 2018's Table 1: Ind, SSE and FGE for VGG-16, PreResNet-164 and WRN-28-10 on CIFAR-100/10."""
    return [GaripovCell(r["model"], int(r["budget_epochs"]), r["method"], r["dataset"],
                        *(float(r[k]) for k in ("err_1B", "std_1B", "err_2B", "err_3B")))
            for r in rows("garipov2018_table1")]


# Garipov et al. 2018, Table 1: test error (%) per (dataset, model, method) at (1B, 2B, 3B), each cell
# (mean, std); the paper prints a std only at 1B.
TABLE1: dict[tuple[str, str, str], tuple[tuple[float, float | None], ...]] = {
    (c.dataset, c.model, c.method): ((c.err_1B, c.std_1B), (c.err_2B, None), (c.err_3B, None))
    for c in garipov2018()
}
TABLE1_METHODS = ("ind", "sse", "fge")  # independent networks, Snapshot Ensembles, Fast Geometric Ensembling

# github.com/timgaripov/dnn-mode-connectivity README, "Test accuracy (%) of FGE and ensembling of
# independently trained networks (Ind) on CIFAR-100", budget 200 epochs; accuracies as printed there.
README_CIFAR100_ACCURACY_PCT: dict[tuple[str, str], tuple[tuple[float, float | None], ...]] = {
    ("vgg16", "ind"): ((72.5, 0.1), (74.8, None), (75.6, None)),
    ("vgg16", "fge"): ((74.6, 0.1), (76.1, None), (76.6, None)),
    ("preresnet164", "ind"): ((78.4, 0.1), (80.5, None), (81.6, None)),
    ("preresnet164", "fge"): ((80.3, 0.2), (81.3, None), (81.7, None)),
    ("wrn28_10", "ind"): ((80.8, 0.3), (82.4, None), (83.0, None)),
    ("wrn28_10", "fge"): ((82.3, 0.2), (82.9, None), (83.2, None)),
}
REFERENCES = ("paper", "readme")


def _check_method(method: str) -> None:
    if method not in TABLE1_METHODS:
        raise ValueError(f"method={method!r} is not known; valid choices: {', '.join(TABLE1_METHODS)}")


def reference(dataset: str, model: str, method: str, budget: int,
              source: str = "paper") -> tuple[float, float | None] | None:
    """Published test error (%) of a Table 1 cell: from the paper, or the reference code's README (None: absent)."""
    if source not in REFERENCES:
        raise ValueError(f"source={source!r} is not known; valid choices: {', '.join(REFERENCES)}")
    if not 1 <= budget <= 3:
        return None
    if source == "paper":
        cells = TABLE1.get((dataset, model, method))
        return cells[budget - 1] if cells else None
    found = README_CIFAR100_ACCURACY_PCT.get((model, method)) if dataset == "cifar100" else None
    if found is None:
        return None
    accuracy, std = found[budget - 1]
    return round(100.0 - accuracy, 2), std


def _error(dataset: str, model: str, method: str, budget: int) -> float:
    cell = reference(dataset, model, method, budget)
    if cell is None:
        valid = sorted({(d, m) for d, m, _ in TABLE1})
        raise ValueError(f"(dataset, model, budget)=({dataset!r}, {model!r}, {budget}) is not in Table 1; "
                         f"valid (dataset, model): {valid}, budgets 1..3")
    return cell[0]


def paper_ranking(dataset: str, model: str, budget: int) -> tuple[str, ...]:
    """The methods of one dataset, network and budget in the paper's Table 1, best (lowest error) first."""
    errors = {m: _error(dataset, model, m, budget) for m in TABLE1_METHODS}
    return tuple(sorted(TABLE1_METHODS, key=errors.__getitem__))


def paper_wins(better: str, worse: str, budget: int, dataset: str | None = None) -> list[tuple[str, str]]:
    """The (dataset, model) cells of Table 1 at `budget` where method `better` has a lower error than `worse`."""
    _check_method(better)
    _check_method(worse)
    return [(d, m) for d, m, method in TABLE1 if method == better and (dataset is None or d == dataset)
            and _error(d, m, better, budget) < _error(d, m, worse, budget)]
