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
