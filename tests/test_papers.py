"""The published tables the course carries: complete, parsed as numbers, and refusing unknown names."""
import pytest

from lossviz.base import papers


def test_garipov_table1_has_every_cell():
    rows = papers.rows("garipov2018_table1")
    cells = {(r["model"], r["dataset"], r["method"]) for r in rows}
    assert len(rows) == 18 and len(cells) == 18  # 3 networks x 2 datasets x 3 methods, no duplicates
    assert all(0 < float(r[k]) < 100 for r in rows for k in ("err_1B", "err_2B", "err_3B"))


def test_li2018_errors_match_the_paper_rows():
    errors = papers.li2018()
    assert len(errors) == 8
    assert papers.li2018_error("resnet56_noshort") == 13.31
    assert papers.li2018_error("vgg9", "wd=5e-4 bs=8192") == 10.19
    assert papers.li2018_error("resnet56") is None  # the paper prints no error for it


def test_unknown_table_is_refused():
    with pytest.raises(ValueError, match="table='nope'.*valid choices"):
        papers.rows("nope")


def test_binomial_standard_error():
    from lossviz.base import stats
    assert abs(stats.binomial_se(50.0, 10_000) - 0.5) < 1e-12  # sqrt(0.25 / 10^4) = 0.005
    assert abs(stats.binomial_se(10.0, 2_000) - 100 * (0.09 / 2_000) ** 0.5) < 1e-12
    assert stats.binomial_se(0.0, 100) == 0.0
    with pytest.raises(ValueError, match="n=0"):
        stats.binomial_se(10.0, 0)
    with pytest.raises(ValueError, match="error_pct"):
        stats.binomial_se(120.0, 10)
