"""bench/gpu_check.py end to end in tiny mode on the CPU: every part's numbers in its JSON, and the projection is
`lossviz.course.projection.project` of the gpu profile applied to the unit costs it measured."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lossviz.course import profiles, projection

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_gpu_check_runs_tiny_on_a_cpu_and_projects_from_what_it_measured(tmp_path):
    out = tmp_path / "check.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu_check.py"), "--device", "cpu", "--tiny",
                           "--json", str(out)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(out.read_text())
    assert found["tiny"] and found["device"] == "cpu"
    assert {(r["network"], r["batch"], r["precision"]) for r in found["training"]} == {
        (n, b, p) for n in ("resnet20", "resnet56") for b in (128, 512) for p in ("tf32", "bf16")}
    assert all(r["epoch_s"] > 0 for r in found["training"])
    assert {(r["batch"], r["fuse_bn"]) for r in found["surface_sweep"]} == {
        (b, f) for b in found["sizes"]["sweep_batches"] for f in (False, True)}
    gpu = profiles.get("gpu")
    need = projection.needs(gpu)
    costs = found["unit_costs"]
    assert {k: sorted(costs[k]) for k in need} == {k: sorted(v) for k, v in need.items()}  # all the profile needs
    assert set(found["hessian"]) == set(need["hvp_seconds"]) and costs["hvp_images"] == found["sizes"]["hvp_images"]
    accuracy = found["accuracy"]
    assert accuracy["network"] == gpu.first_model and 0 <= accuracy["test_error"] <= 100
    assert accuracy["train_loss_eval"] > 0 and accuracy["minimizer_loss"] == gpu.minimizer_loss
    projected = projection.project(gpu, projection.UnitCosts(**costs))
    assert found["projection"]["per_notebook_s"] == pytest.approx(projected)
    assert found["projection"]["total_s"] == pytest.approx(sum(projected.values()))
    assert "5. the gpu profile" in done.stdout and "total" in done.stdout
