"""Charts of one value against another: learning rates, training losses, ensemble errors, spectra, sharpness against
test error, per-layer gradients, weight histograms, values along a path. Each returns its Figure (drawing on
`ax=` when given)."""
from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from lossviz.base import directions, stats
from lossviz.views import drawing
from lossviz.views.labels import label_points


def schedule(lrs, *, snapshots: Sequence[int] | None = None, log: bool = False, title: str | None = None,
             ax: Axes | None = None, xlabel: str = "iteration", ylabel: str = "learning rate") -> Figure:
    """Learning rate vs 1-based iteration, snapshots (iterations) marked (Huang et al. Fig. 2)."""
    lr = drawing.series("lrs", lrs)
    if log:
        drawing.positive("lrs", lr)
    it = np.arange(1, lr.size + 1)
    ax = drawing.axes(ax, figsize=(5.5, 3.0))
    ax.plot(it, lr, "-", color="tab:blue", lw=1.2, label="learning rate")
    if snapshots is not None:
        s = np.asarray(snapshots, dtype=int)
        if s.ndim != 1 or np.any(s < 1) or np.any(s > lr.size):
            raise ValueError(f"snapshots must be iterations in 1..len(lrs)={lr.size}")
        ax.plot(s, lr[s - 1], "o", color="tab:red", ms=5, zorder=3, label="snapshot")
    if log:
        drawing.log_y(ax)
    if snapshots is not None:  # headroom above the restarts keeps the legend off the curve
        top = float(lr.max())
        ax.set_ylim(top=top * 3.0 if log else top * 1.25)
        ax.legend(fontsize=8, loc="upper right", ncol=2)
    ax.set_xlim(1, lr.size)
    return drawing.label(ax, xlabel, ylabel, title)



def ensemble_errors(m, member_errors, ensemble_errors, *, test_images: int | None = None,
                    baseline: float | None = None, title: str | None = None, ax: Axes | None = None,
                    xlabel: str = r"ensemble size $m$", ylabel: str = "test error (%)") -> Figure:
    """Test error (%) of the m-th snapshot alone and of the ensemble of the first m, against m; `baseline`:
    the test error (%) of one normal run of the same budget, a dotted line. With `test_images` (the images every
    error is measured on) each error gets its binomial standard error as an error bar, the baseline as a band."""
    mm = drawing.series("m", m)
    single = drawing.series("member_errors", member_errors, mm.size)
    ens = drawing.series("ensemble_errors", ensemble_errors, mm.size)
    ax = drawing.axes(ax, figsize=(4.5, 3.2))
    for values, fmt, color, lw, name in ((single, "o--", "0.5", 1.0, "single snapshot"),
                                         (ens, "s-", "tab:blue", 1.5, "ensemble of first $m$")):
        ax.errorbar(mm, values, yerr=_binomial_bars(values, test_images), fmt=fmt, color=color, lw=lw, ms=5,
                    capsize=3, label=name)
    if baseline is not None:
        band = "" if test_images is None else " (band: ± SE)"
        ax.axhline(baseline, color="tab:red", ls=":", label=f"one normal run, same budget{band}")
        if test_images is not None:
            se = stats.binomial_se(baseline, test_images)
            ax.axhspan(baseline - se, baseline + se, color="tab:red", alpha=0.12, lw=0)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    note = None if test_images is None else f"bars: ± binomial SE, {test_images:,} test images"
    ax.legend(fontsize=8, title=note, title_fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2,
              frameon=False)  # below the axes, off the bars
    ax.grid(alpha=0.3)
    return drawing.label(ax, xlabel, ylabel, title)



def _binomial_bars(errors: np.ma.MaskedArray, test_images: int | None) -> np.ndarray | None:
    """The binomial standard error (percentage points) of each test error (%), None without a number of images."""
    if test_images is None:
        return None
    return np.array([stats.binomial_se(float(e), test_images) for e in np.ma.getdata(errors)])



def spectrum(grid, density, *, top: Sequence[float] | None = None, title: str | None = None,
             ax: Axes | None = None) -> Figure:
    """Hessian spectral density from SLQ (Ghorbani et al. 2019, log scale), top eigenvalues as dashed lines."""
    t = drawing.series("grid", grid)
    phi = drawing.series("density", density, t.size)
    ax = drawing.axes(ax)
    ax.semilogy(t, np.ma.maximum(phi, 1e-12 * max(float(phi.max()), 1e-300)), color="tab:blue", lw=1.2)
    for k, value in enumerate(top or ()):
        ax.axvline(value, color="tab:red", ls="--", lw=0.8, label="top eigenvalues" if k == 0 else None)
    if top:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return drawing.label(ax, r"eigenvalue $\lambda$", "density", title)



def sharpness(errors: Sequence[float], values: Sequence[float], labels: Sequence[str], *, ylabel: str,
              log: bool = False, title: str | None = None, ax: Axes | None = None,
              error_se: Sequence[float] | None = None) -> Figure:
    """One labeled point per model: a sharpness measure against test error (%), with the test error's standard
    error as a horizontal bar when `error_se` is given."""
    e, v = np.asarray(errors, float), np.asarray(values, float)
    if not (e.shape == v.shape == (len(labels),)):
        raise ValueError(f"errors, values and labels must have one entry per model; got {e.shape}, {v.shape}, "
                         f"{len(labels)}")
    if error_se is not None and np.shape(error_se) != e.shape:
        raise ValueError(f"error_se must have one entry per model; got {np.shape(error_se)}")
    ax = drawing.axes(ax)
    if error_se is not None:
        ax.errorbar(e, v, xerr=np.asarray(error_se, float), fmt="none", ecolor="tab:blue", elinewidth=1, zorder=2)
    ax.scatter(e, v, color="tab:blue", zorder=3)
    if log:
        drawing.log_y(ax)
    ax.grid(alpha=0.3)
    fig = drawing.label(ax, "test error (%)", ylabel, title)
    label_points(ax, e, v, labels, None if error_se is None else np.asarray(error_se, float))
    return fig



def image_grid(split, per_class: int = 8, class_names: Sequence[str] | None = None, size: float = 0.9) -> Figure:
    """The first `per_class` images of each class of a uint8 split, one row per class."""
    if per_class < 1:
        raise ValueError(f"per_class must be >= 1; got {per_class}")
    classes = sorted(int(c) for c in split.labels.unique())
    if class_names is None:
        from lossviz.base.data import CIFAR10_CLASSES
        cifar10 = len(classes) == 10 and split.name.startswith("cifar10")
        class_names = CIFAR10_CLASSES if cifar10 else [str(c) for c in classes]
    fig, axes = plt.subplots(len(classes), per_class, figsize=(per_class * size, len(classes) * size), squeeze=False)
    for row, c in enumerate(classes):
        members = np.flatnonzero(split.labels.numpy() == c)[:per_class]
        for col in range(per_class):
            ax = axes[row, col]
            ax.set_xticks([]), ax.set_yticks([])
            if col < len(members):
                ax.imshow(split.images[members[col]].permute(1, 2, 0).numpy(), interpolation="nearest")
            if col == 0:
                ax.set_ylabel(class_names[row], rotation=0, ha="right", va="center", fontsize=9)
    fig.subplots_adjust(wspace=0.05, hspace=0.05)
    return fig



def training_curves(log: Sequence[dict], *, title: str | None = None) -> Figure:
    """Loss and error per epoch, training and test, from a training log (lossviz.compute.train); the test line
    joins the epochs the log measured the test subset on."""
    if not log:
        raise ValueError("log must hold at least one epoch")
    epochs = [e["epoch"] for e in log]
    tested = [e for e in log if "test_loss" in e]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.0, 3.4))
    left.plot(epochs, [e["train_loss"] for e in log], "-o", ms=3, label="train")
    left.plot([e["epoch"] for e in tested], [e["test_loss"] for e in tested], "--o", ms=3, label="test")
    right.plot(epochs, [100.0 - e["train_acc_pct"] for e in log], "-o", ms=3, label="train")
    right.plot([e["epoch"] for e in tested], [100.0 - e["test_acc_pct"] for e in tested], "--o", ms=3, label="test")
    for ax, name in ((left, "loss"), (right, "error (%)")):
        ax.set_xlabel("epoch"), ax.set_ylabel(name), ax.grid(alpha=0.3), ax.legend(fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig



def loss_curves(logs: dict[str, Sequence[dict]], *, final: dict[str, float] | None = None,
                threshold: float | None = None, title: str | None = None, ax: Axes | None = None) -> Figure:
    """`loss_per_epoch` of training logs (lossviz.compute.train: the running train-mode mean over each epoch's
    batches). `final`: {label: the run's training loss after training, in eval mode} (the minimizer criterion's
    measure), drawn as a star at the last epoch beside a dotted line at `threshold` (the profile's
    `minimizer_loss`, given with `final`); the running mean is not what the criterion measures, so without `final`
    no criterion line is drawn."""
    if not logs or any(not log for log in logs.values()):
        raise ValueError("logs must map each label to a training log of at least one epoch")
    if final is not None and threshold is None:
        raise ValueError("final needs threshold=, the minimizer criterion the eval-mode losses are judged by")
    if final is not None and set(final) != set(logs):
        raise ValueError(f"final must give one eval-mode loss per log; got {sorted(final)} for {sorted(logs)}")
    fig = loss_per_epoch({label: ([e["epoch"] for e in log], [e["train_loss"] for e in log])
                          for label, log in logs.items()}, title=title, ax=ax)
    if final is not None and threshold is not None:
        axis = ax if ax is not None else fig.axes[0]
        for k, (label, log) in enumerate(logs.items()):
            axis.plot(log[-1]["epoch"], final[label], "*", color=f"C{k}", mec="k", ms=11, zorder=4)
        axis.axhline(threshold, color="0.3", ls=":", lw=1,
                     label=f"minimizer: eval-mode loss ★ ≤ {threshold:g}")
        axis.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)  # below the x label
    return fig


def layer_ratios(ratios: dict[str, Sequence[float]], *, title: str | None = None, ax: Axes | None = None) -> Figure:
    """Gradient-to-weight norm ratio of each weight layer (lossviz.compute.gradient_scale), input to output, one
    line per network, on a log scale."""
    if not ratios or any(len(r) == 0 for r in ratios.values()):
        raise ValueError("ratios must map each label to at least one layer's ratio")
    ax = drawing.axes(ax, (6.4, 3.6))
    for label, given in ratios.items():
        values = np.asarray(given, dtype=float)
        if not np.all(np.isfinite(values) & (values > 0)):
            raise ValueError(f"ratios[{label!r}] must be finite and positive to draw on a log scale")
        ax.semilogy(np.arange(1, len(values) + 1), values, "-o", ms=2.5, lw=1.2, label=label)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return drawing.label(ax, "weight layer (input → output)", r"$\|\nabla_W L\| \,/\, \|W\|$", title)



def weight_histograms(states: dict[str, dict], *, bins: int = 100, title: str | None = None,
                      ax: Axes | None = None) -> Figure:
    """Histograms of the weights of conv and linear layers (dim > 1), one per labeled state (Li et al. Fig. 2),
    over the central 99.8% of all values (so the shapes, not a few outliers, set the axis), each labeled with its
    standard deviation."""
    if not states:
        raise ValueError("states must hold at least one labeled state dict")
    ax = drawing.axes(ax, figsize=(5.0, 3.4))
    values = {label: np.concatenate([v.detach().cpu().float().numpy().ravel()
                                     for v in directions.layer_weights(state).values()])
              for label, state in states.items()}
    pooled = np.concatenate(list(values.values()))
    edge = float(np.max(np.abs(np.percentile(pooled, [0.1, 99.9]))))
    for label, v in values.items():
        ax.hist(v, bins=list(np.linspace(-edge, edge, bins + 1)), histtype="step", lw=1.3, density=True,
                label=f"{label} (std {v.std():.3f})")
    ax.set_xlim(-edge, edge)
    ax.legend(fontsize=8)
    return drawing.label(ax, "weight value", "density", title)



def budget_errors(budgets, errors: dict[str, Sequence[float | None]], stds: dict[str, Sequence[float | None]]
                  | None = None, *, test_images: int | None = None, title: str | None = None, ax: Axes | None = None,
                  xlabel: str = "budget (multiples of $B$)", ylabel: str = "test error (%)") -> Figure:
    """Test error (%) of each ensembling method against the budget kB (Garipov et al. Table 1 as a plot), with
    error bars: the std over seeds where given, else the binomial standard error on `test_images` images (when
    given), as the legend says; None errors are left out."""
    b = np.ma.getdata(drawing.series("budgets", budgets))
    ax = drawing.axes(ax, figsize=(4.8, 3.6))
    for method, values in errors.items():
        err = drawing.series(f"errors[{method!r}]", [np.nan if v is None else v for v in values], b.size)
        given = (stds or {}).get(method, [None] * b.size)
        keep = ~np.ma.getmaskarray(err)
        bars = [_bar(float(e), s, test_images) for e, s in zip(np.ma.getdata(err), given)]
        ax.errorbar(b[keep], np.ma.getdata(err)[keep], yerr=np.asarray(bars, dtype=float)[keep], marker="o", capsize=3,
                    label=method)
    ax.set_xticks(b)
    ax.legend(fontsize=8, title_fontsize=8, title="bars: std over seeds" + (
        "" if test_images is None else f"; one ensemble: binomial SE, {test_images:,} images"))
    return drawing.label(ax, xlabel, ylabel, title)



def _bar(error: float, std: float | None, test_images: int | None) -> float:
    """An error bar: the std over seeds when there is one, else the binomial SE on test_images (0 without)."""
    if std is not None:
        return std
    if test_images is None or not np.isfinite(error):
        return 0.0
    return stats.binomial_se(error, test_images)



def loss_per_epoch(curves: dict[str, tuple[Sequence[float], Sequence[float]]], *,
                   marks: dict[str, Sequence[float]] | None = None, log: bool = True, title: str | None = None,
                   ax: Axes | None = None, xlabel: str = "epoch", ylabel: str = "training loss") -> Figure:
    """Training loss against epoch of several runs, {label: (epochs, losses)} (Huang et al. Fig. 2: a cyclic
    schedule beside a normal run); `marks`: {label: epochs} where that run's members are taken, drawn as dots."""
    if not curves:
        raise ValueError("curves must hold at least one run: {label: (epochs, losses)}")
    ax = drawing.axes(ax, figsize=(5.5, 3.4))
    for k, (label, (epochs, losses)) in enumerate(curves.items()):
        e = np.ma.getdata(drawing.series(f"curves[{label!r}] epochs", epochs))
        v = drawing.series(f"curves[{label!r}] losses", losses, e.size)
        if log:
            drawing.positive(f"curves[{label!r}] losses", v)
        color = f"C{k}"
        ax.plot(e, v, "-", color=color, lw=1.4, label=label)
        for m in (marks or {}).get(label, ()):
            i = int(np.argmin(np.abs(e - m)))
            if abs(e[i] - m) > 0.5:
                raise ValueError(f"marks[{label!r}] holds epoch {m}, which is not among the run's epochs")
            ax.plot(e[i], v[i], "o", color=color, mec="k", ms=6, zorder=3)
    if log:
        drawing.log_y(ax)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return drawing.label(ax, xlabel, ylabel, title)



def along_t(t, series: dict[str, Sequence[float]], *, ylabel: str, log: bool = False, title: str | None = None,
            ax: Axes | None = None, xlabel: str = "$t$", test_images: int | None = None) -> Figure:
    """One value per t for several paths between two networks, {label: values} (Garipov et al. Fig. 2 style);
    a label starting with "line" is dashed. `test_images`: the values are test errors (%) on that many images, each
    drawn with a band of ± its binomial standard error."""
    tt = np.ma.getdata(drawing.series("t", t))
    if not series:
        raise ValueError("series must hold at least one path: {label: values}")
    ax = drawing.axes(ax, figsize=(4.6, 3.4))
    for label, values in series.items():
        v = drawing.series(f"series[{label!r}]", values, tt.size)
        if log:
            drawing.positive(f"series[{label!r}]", v)
        (line,) = ax.plot(tt, v, "--o" if label.startswith("line") else "-o", ms=3.5, lw=1.4, label=label)
        se = _binomial_bars(v, test_images)
        if se is not None:
            ax.fill_between(tt, np.ma.getdata(v) - se, np.ma.getdata(v) + se, color=line.get_color(), alpha=0.15,
                            lw=0)
    if log:
        drawing.log_y(ax)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=len(series), title_fontsize=8,
              title=None if test_images is None else f"bands: ± binomial SE, {test_images:,} images")  # below: the
    # line peaks mid-way, at the top
    return drawing.label(ax, xlabel, ylabel, title)
