"""Every notebook runs end to end at the smoke profile (papermill), and nbval re-checks the outputs."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lossviz.course import names, profiles
from lossviz.suite import report, runner

pytestmark = pytest.mark.notebooks
ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = runner.notebooks(ROOT / "notebooks")


@pytest.fixture(scope="module")
def executed(smoke_run):
    """The whole suite, run once per session at the smoke profile with a fresh cache (conftest.smoke_run)."""
    assert not smoke_run.modified, "running the suite modified notebooks/"
    return smoke_run.folder, smoke_run.runs


def test_the_notebooks_are_numbered_in_order():
    numbers = [f"{i:02d}" for i in range(11)]
    assert [nb.stem.split("_")[0] for nb in NOTEBOOKS] == numbers[:4] + ["03b", "03c"] + numbers[4:]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_at_smoke_profile(executed, notebook):
    folder, runs = executed
    run = runs[notebook.stem]
    assert run.ok, run.error
    assert run.results, "the notebook records its key numbers with lv.record"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_structure(notebook):
    import nbformat
    nb = nbformat.read(str(notebook), as_version=4)
    assert nb.cells[0].cell_type == "markdown"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0] is nb.cells[1], "the second cell is the one parameters cell"
    assert 'profile = "quick"' in tagged[0].source
    assert "import lossviz as lv" in nb.cells[2].source
    for cell in nb.cells:
        assert "NBVAL_SKIP" not in cell.source


NBVAL = ("00", "03", "05", "09")  # nbval re-checks: the first run, the depth tables, the Hessian (recomputed), Table 1


def test_nbval_rechecks_the_smoke_outputs(smoke_run, executed, tmp_path):
    """nbval re-executes four notebooks of the smoke run (NBVAL; every notebook is executed and tested by the smoke
    run) and compares their outputs, reading the networks and surface files from copies of that run's cache and
    output folder: recomputing them, or re-executing all thirteen, would take the suite past its time budget; that a
    recomputation gives the same numbers bit for bit is checked by test_train's determinism and test_surface's
    resume tests, and notebook 05 recomputes its Hessian spectrum here."""
    folder, _ = executed
    shutil.copytree(smoke_run.env["LOSSVIZ_CACHE"], tmp_path / "cache")
    shutil.copytree(smoke_run.env["LOSSVIZ_OUT"], tmp_path / "out")
    notebooks = sorted(str(p) for p in folder.glob("*.ipynb") if p.name.split("_")[0] in NBVAL)
    assert len(notebooks) == len(NBVAL)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
         "--sanitize-with", str(ROOT / "tests" / "nbval_sanitize.cfg"), *notebooks],
        cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "LOSSVIZ_CACHE": str(tmp_path / "cache"), "LOSSVIZ_OUT": str(tmp_path / "out"),
             "LOSSVIZ_STATIC": "1"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_results_are_read_back_from_outputs(executed):
    folder, _ = executed
    assert report.key_results(folder / "00_introduction.ipynb")["first_model"] == "resnet20"


def test_recorded_numbers_hold_their_invariants(executed):
    """Facts true at any scale, read from what the notebooks recorded (microsoft/recommenders style)."""
    _, runs = executed
    r = {name: run.results for name, run in runs.items()}
    # 01: with BN statistics recomputed, scaling every conv filter by c leaves the training loss unchanged
    assert r["01_linear_interpolation"]["scale_invariance_spread"] <= 1e-3
    # 06: PCA explained-variance ratios are fractions, the first at least the second, together at most 1
    for label in [k[len("explained_pc1_"):] for k in r["06_pca_trajectories"] if k.startswith("explained_pc1_")]:
        pc1, pc2 = (r["06_pca_trajectories"][f"explained_pc{i}_{label}"] for i in (1, 2))
        assert 0 <= pc2 <= pc1 <= 1 and pc1 + pc2 <= 1 + 1e-3
    # 05: |lambda_min / lambda_max| >= 0, and the top eigenvalue from Lanczos is the largest one recorded at it
    assert all(v >= 0 for k, v in r["05_hessian_check"].items() if k.startswith("ratio_max_"))
    check_landscape_records({n: r[n] for n in LANDSCAPE})
    assert r["02_filter_normalization"]["grid_points"] == profiles.SMOKE.landscape.points_2d
    # 03: without shortcuts the first layer's relative gradient at initialization explodes with depth
    r03 = r["03_depth_and_skip_connections"]
    assert r03["grad_first_resnet56_noshort"] > 10 * max(r03["grad_first_resnet56"], r03["grad_first_resnet20_noshort"])
    assert r03["grad_growth_resnet56_noshort"] > r03["grad_growth_resnet56"] > 1
    check_ensemble_records(r["07_snapshot_ensembles"], r["08_fge_mode_connectivity"], r["09_comparison_table"])
    # 10: one surface file per plane and a surface and path file per PCA plane and the bend plane; four views
    assert r["10_gallery"]["files"] == 3 + 2 * 4 + 2 and r["10_gallery"]["static_views"] == 4


LANDSCAPE = ("01_linear_interpolation", "02_filter_normalization", "03_depth_and_skip_connections",
             "03b_resnet56_without_shortcuts", "03c_resnet56_trained_again", "04_width", "05_hessian_check")


def check_landscape_records(r: dict[str, dict]) -> None:
    """What notebooks 01-05 record, true at any scale: each plotted network's training loss (> 0) and test error
    (a percentage) under one run name in every notebook; a robust sharpness for each network of 02-04; the grid
    and Hessian sizes."""
    for name, numbers in r.items():
        runs = [k[len("train_loss_"):] for k in numbers if k.startswith("train_loss_")]
        assert runs, name
        assert all(numbers[f"train_loss_{n}"] > 0 and 0 <= numbers[f"test_error_{n}"] <= 100 for n in runs), name
        if name[:2] in ("02", "03", "04"):
            assert all(f"sharpness_{n}" in numbers for n in runs) and numbers["grid_points"] >= 3, name
        if name.startswith(("03b", "03c", "04")):  # the rise along random directions, one per seed, and its spread
            assert numbers["sharpness_seeds"] >= 2 and all(
                numbers[f"rise_seeds_sd_{n}"] >= 0 and f"rise_seeds_{n}" in numbers for n in runs), name
    seen: dict[str, float] = {}
    for numbers in r.values():  # a run recorded by two notebooks is the same cached run
        for k, v in numbers.items():
            if k.startswith("test_error_"):
                assert seen.setdefault(k, v) == v, k
    assert r["05_hessian_check"]["hessian_points"] >= 3 and r["05_hessian_check"]["hessian_images"] >= 1
    # 05: a rank correlation of each sharpness measure with the training loss and with the test error
    rho = {k: v for k, v in r["05_hessian_check"].items() if k.startswith("spearman_")}
    assert len(rho) == 6 and all(-1 <= v <= 1 for v in rho.values()), rho


def test_published_landscape_notebooks_meet_the_issue():
    """The committed quick run of notebooks 01-05 and 03b (issue 11, "Done when"): every plotted network a minimizer
    (training loss <= 0.10 in eval mode), test errors on >= 2,000 images, 21 x 21 grids, a Hessian map of at
    least 5 x 5 points over at least 100 images."""
    r = {n: report.key_results(ROOT / "notebooks" / f"{n}.ipynb") for n in LANDSCAPE}
    check_landscape_records(r)
    losses = {k: v for numbers in r.values() for k, v in numbers.items() if k.startswith("train_loss_")}
    assert max(losses.values()) <= 0.10, {k: v for k, v in losses.items() if v > 0.10}
    land = profiles.QUICK.landscape  # every network of the issue is there, ResNet-56-NS and the wide pair included
    assert {f"train_loss_{n}" for n in land.depth_networks() + land.width_models} <= set(losses)
    assert {f"train_loss_{n}" for n in land.deep_models} <= set(r["03b_resnet56_without_shortcuts"])
    assert all(r[n]["grid_points"] >= 21 for n in LANDSCAPE if n[:2] in ("02", "03", "04"))
    assert r["05_hessian_check"]["hessian_points"] >= 5 and r["05_hessian_check"]["hessian_images"] >= 100
    assert r["05_hessian_check"]["map_images"] >= 50  # issue 27: the maps of ResNet-56 and -56-NS
    assert {f"ratio_median_{n}" for n in land.deep_models} <= set(r["05_hessian_check"])
    assert profiles.QUICK.landscape.test_subset >= 2_000
    # issue 27: the rise over 5-8 direction seeds; the deep pair's lambda_max and trace printed and recorded
    assert 5 <= r["04_width"]["sharpness_seeds"] == r["03b_resnet56_without_shortcuts"]["sharpness_seeds"] <= 8
    assert {f"trace_{n}" for n in land.deep_models} <= set(r["03b_resnet56_without_shortcuts"])
    # issue 27: the deep pair's contrast over two trainings, each a minimizer, its sharpness recorded per training
    again = {names.training_key(n, s, profiles.QUICK.seed) for s in land.deep_seeds for n in land.deep_models}
    assert len(land.deep_seeds) >= 2 and len(again) == 2 * len(land.deep_seeds)
    assert {f"{k}_{n}" for k in ("train_loss", "trace", "lambda_max", "rise_seeds") for n in again} <= set(
        r["03c_resnet56_trained_again"])


def _flat(values) -> list:
    return [x for v in values for x in (v if isinstance(v, list) else [v])]


def check_ensemble_records(r07: dict, r08: dict, r09: dict) -> None:
    """What notebooks 07-09 record, true at any scale: errors are percentages; the growing ensemble ends at the
    ensemble's error; every member has a training loss; barriers are rises (>= 0); the same test images
    score every ensemble; three or more seeds."""
    for name, r in (("07", r07), ("08", r08), ("09", r09)):
        errors = _flat(v for k, v in r.items() if "error" in k or re.match(r"(ind|sse|fge)_\dB_", k))
        assert errors and all(0 <= e <= 100 for e in errors), name
        assert r["ensemble_test_images"] == r09["ensemble_test_images"] > 0, name
    assert r07["sse_growing_errors"][-1] == r07["sse_ensemble_error"] and r07["sse_growing_errors"][0] == r07[
        "sse_snapshot_errors"][0]
    assert len(r07["member_train_losses"]) == len(r07["sse_snapshot_errors"]) + 1
    assert len(r08["member_train_losses"]) == 3 + len(r08["fge_snapshot_errors"])
    assert all(x > 0 for x in r07["member_train_losses"] + r08["member_train_losses"])
    assert all(b >= 0 for b in r07["sse_line_barriers_ce"])
    for path in ("line", "curve", "polychain"):
        assert all(r08[f"{path}_barrier_{k}"] >= 0 for k in ("ce", "ce_test", "wd"))
    assert len(r08["fge_distances_from_start"]) == len(r08["fge_snapshot_errors"])
    assert all(0 < d < r08["minima_distance"] for d in r08["fge_distances_from_start"])
    assert r08["single_run_error"] == r07["single_run_error"]  # one normal run: 07's baseline, 08's endpoint
    assert r09["seeds"] >= 3


def test_published_ensemble_notebooks_meet_the_issue():
    """The committed quick run of notebooks 07-09: every member and curve end point a minimizer (training loss
    <= 0.10), all 10,000 test images, at least three seeds. Whether the ensembles beat their snapshots or the curve
    removes the barrier is an outcome of the run, judged by its verdicts (test_published_verdicts_...)."""
    folder = ROOT / "notebooks"
    r07, r08, r09 = (report.key_results(folder / f"{n}.ipynb")
                     for n in ("07_snapshot_ensembles", "08_fge_mode_connectivity", "09_comparison_table"))
    check_ensemble_records(r07, r08, r09)
    assert max(r07["member_train_losses"] + r08["member_train_losses"]) <= 0.10
    assert r07["ensemble_test_images"] == r08["ensemble_test_images"] == r09["ensemble_test_images"] == 10_000
    assert r09["seeds"] >= 3


FINDINGS = ("01_linear_interpolation", "02_filter_normalization", "03_depth_and_skip_connections",
            "03b_resnet56_without_shortcuts", "03c_resnet56_trained_again", "04_width", "05_hessian_check",
            "06_pca_trajectories",
            "07_snapshot_ensembles", "08_fge_mode_connectivity", "09_comparison_table")


def check_findings(records: dict[str, dict]) -> None:
    """Each of notebooks 01-09 records verdicts (`finding_<claim>`) of the course's four, and each measured verdict
    follows by the course's rule from the effect, noise and margin it recorded beside it."""
    from lossviz.course import findings
    for name in FINDINGS:
        r = records[name]
        keys = [k for k in r if k.startswith("finding_") and not k.endswith(("_effect", "_noise", "_margin"))]
        assert keys, f"{name} records no finding"
        for k in keys:
            assert r[k] in findings.VERDICTS, (name, k, r[k])
            if f"{k}_effect" in r:
                assert findings.verdict(r[f"{k}_effect"], r[f"{k}_noise"], r[f"{k}_margin"]) == r[k], (name, k)
            else:
                assert r[k] == "not measured", (name, k)


def test_verdicts_follow_from_the_recorded_numbers_at_the_smoke_profile(executed):
    _, runs = executed
    check_findings({name: run.results for name, run in runs.items()})


def test_published_verdicts_follow_from_the_published_numbers():
    check_findings({n: report.key_results(ROOT / "notebooks" / f"{n}.ipynb") for n in FINDINGS})


def markdown_decimals(notebook: Path) -> list[str]:
    """The decimal numbers in a notebook's markdown, outside LaTeX math (the before-stop checklist's count)."""
    import nbformat
    found = []
    for cell in nbformat.read(str(notebook), as_version=4).cells:
        if cell.cell_type == "markdown":
            text = re.sub(r"\$[^$]*\$", "", cell.source)
            found += re.findall(r"(?<![\w.])\d+\.\d+", text)
    return found


def test_markdown_states_few_numbers():
    """Prose that stays true: at most about 100 decimal numbers in all markdown cells together (the papers' numbers
    and settings); the numbers of a run are rendered from the run."""
    counts = {nb.stem: len(markdown_decimals(nb)) for nb in NOTEBOOKS}
    assert sum(counts.values()) <= 100, counts
