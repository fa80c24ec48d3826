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


def test_reference_numbers():
    # the paper's cells, read from the package's copy of Table 1 (an independent reader of the CSV)
    import csv
    from importlib import resources
    text = resources.files("lossviz.base").joinpath("published", "garipov2018_table1.csv").read_text()
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    raw = {(r[3], r[0], r[2]): r for r in csv.reader(lines)}
    assert len(raw) == len(papers.TABLE1) == 18
    for (d, m, method), r in raw.items():
        assert papers.reference(d, m, method, 1) == (float(r[4]), float(r[5]))
        assert papers.reference(d, m, method, 2) == (float(r[6]), None)
        assert papers.reference(d, m, method, 3) == (float(r[7]), None)
    assert papers.reference("cifar10", "resnet20", "ind", 1) is None  # our network is not in the paper
    assert papers.reference("cifar100", "vgg16", "ind", 1, "readme") == (27.5, 0.1)
    assert papers.reference("cifar100", "wrn28_10", "fge", 3, "readme") == (16.8, None)
    assert papers.reference("cifar10", "vgg16", "ind", 1, "readme") is None


def test_paper_ordering_as_the_table_prints_it():
    """At 1B SSE beats Ind in all six cells; Ind beats FGE in three CIFAR-10 cells at 2B/3B; FGE is best at 1B."""
    assert len(papers.paper_wins("sse", "ind", 1)) == 6
    assert papers.paper_wins("ind", "fge", 1) == []
    assert sorted(papers.paper_wins("ind", "fge", 2) + papers.paper_wins("ind", "fge", 3)) == [
        ("cifar10", "preresnet164"), ("cifar10", "preresnet164"), ("cifar10", "wrn28_10")]
    assert papers.paper_ranking("cifar10", "preresnet164", 3) == ("ind", "fge", "sse")  # 3.77, 3.98, 4.30
    assert all(papers.paper_ranking(d, m, 1)[0] == "fge" for d, m, _ in papers.TABLE1)
    with pytest.raises(ValueError, match="resnet20"):
        papers.paper_ranking("cifar10", "resnet20", 1)
    with pytest.raises(ValueError, match="source='arxiv'"):
        papers.reference("cifar10", "vgg16", "fge", 1, "arxiv")
