"""The course's text tables and names: minimizer checks, rank correlations, Table 1 as the paper prints it."""
import pytest

from lossviz.course import names, tables


def test_minimizer_table_marks_the_runs_below_the_threshold():
    rows = {"a": tables.Minimizer("a", 0.02, 40.0, 1.1, 2000, 30, 600, 8.18),
            "b32_wd0": tables.Minimizer("b32_wd0", 0.5, 50.0, 1.1, 2000, 40, 3200, None)}
    table = tables.minimizer_table(rows)
    assert "minimizer" in table.splitlines()[1] and "NOT below" in table.splitlines()[2] and "8.18%" in table
    assert tables.minimizer_numbers(rows) == {"train_loss_a": 0.02, "test_error_a": 40.0,
                                               "train_loss_b32_wd0": 0.5, "test_error_b32_wd0": 50.0}
    assert names.run_name((256, 5e-4)) == "b256_wd0.0005" and names.run_name("resnet56") == "resnet56"


def test_sharpness_correlations_rank_each_measure_against_loss_and_error(capsys):
    rows = {n: tables.Minimizer(n, loss, err, 1.0, 2000, 10, 100, None)
            for n, loss, err in (("a", 0.01, 40.0), ("b", 0.02, 30.0), ("c", 0.03, 50.0))}
    sharp = {"a": {"lambda_max": 1.0, "trace": 9.0}, "b": {"lambda_max": 2.0, "trace": 8.0},
             "c": {"lambda_max": 3.0, "trace": 7.0}}
    result = tables.sharpness_correlations(sharp, {"a": 5.0, "b": 4.0, "c": 6.0}, rows)
    assert result["spearman_lambda_max_train_loss"] == 1.0 and result["spearman_trace_train_loss"] == -1.0
    assert result["spearman_lambda_max_test_error"] == 0.5 and result["spearman_rise_test_error"] == 1.0
    assert len(result) == 6 and "rank correlation over 3 runs" in capsys.readouterr().out


def test_batch_label():
    assert names.batch_label(128, 0.0) == "b=128, wd=0"
    assert names.batch_label(8192, 5e-4) == "b=8192, wd=0.0005"


def test_the_papers_table1_as_printed():
    text = tables.format_paper_table()
    assert "PreResNet-164 (150)" in text and "4.54±0.05" in text and "Garipov" in text
    with pytest.raises(ValueError, match="dataset='svhn'"):
        tables.format_paper_table(("svhn",))




def test_shape_table_gives_each_surface_its_summary():
    import numpy as np

    from lossviz.base import io
    x = np.linspace(-1, 1, 5)
    # rim: the 16 border values sum to 2 * 7.5 + 2 * 3.5 = 22, mean 1.375; the ring at 0.5 (within half a step, 0.25)
    # holds the 4 points at distance 0.5 (loss 0.25) and the 4 at 0.71 (loss 0.5): median 0.375
    z = x[None, :] ** 2 + x[:, None] ** 2
    table = tables.shape_table({"bowl": io.Surface(x, x, {"train_loss": z}, np.ones((5, 5), bool))})
    lines = table.splitlines()
    assert lines[0] == "train_loss on each plane" and "rise at 0.5" in lines[1]
    assert lines[2].split() == ["bowl", "0.000", "1.38", "0.38", "1"]
    with pytest.raises(ValueError, match="at least one"):
        tables.shape_table({})
