"""Findings: each claim of a paper beside what this run measured, with its noise, and a verdict by one rule.

The rule, the same for the whole course: a claim's effect is signed so that a positive value is the paper's
direction; it is `reproduced` when it exceeds `MARGIN` times its noise, `contradicted` when it is below minus that,
and `within noise` otherwise (either sign: the run cannot tell). A claim this profile cannot measure is `not
measured`, with the reason. Noise: the binomial standard error of a test error, the standard error of a difference of
two errors (paired on the same images where the per-image outcomes are known), the spread over seeds or trainings,
or, for a rank correlation, its two-sided 5% critical value for n (with margin 1: rho beyond the critical value).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from lossviz.base import stats
from lossviz.course.records import record

VERDICTS = ("reproduced", "within noise", "contradicted", "not measured")
MARGIN = 2.0  # a difference is beyond noise when it exceeds twice its standard error (~95%)
SMALL_PROFILES = {"smoke": "networks train on a few hundred synthetic images for a few epochs: its verdicts test the "
                           "code, not the papers"}


def verdict(effect: float | None, noise: float, margin: float = MARGIN) -> str:
    """The course's rule: `reproduced` if effect > margin * noise, `contradicted` if effect < -margin * noise,
    `within noise` otherwise; `not measured` when there is no effect (None or NaN)."""
    if effect is None or math.isnan(effect):
        return "not measured"
    if not (noise >= 0 and margin > 0):
        raise ValueError(f"noise={noise} must be >= 0 and margin={margin} > 0")
    if effect > margin * noise:
        return "reproduced"
    if effect < -margin * noise:
        return "contradicted"
    return "within noise"


@dataclass(frozen=True)
class Claim:
    """A paper's claim and this run's measurement of it: `effect` signed so that > 0 is the paper's direction
    (None: not measured, see `reason`), compared with `margin` times `noise`; `measured` says it in words."""

    key: str
    claim: str
    paper: str
    effect: float | None
    noise: float = 0.0
    measured: str = ""
    margin: float = MARGIN
    reason: str = ""

    def __post_init__(self) -> None:
        if not self.key.isidentifier():
            raise ValueError(f"key={self.key!r} must be a name (it is recorded as finding_{self.key})")
        if self.effect is None and not self.reason:
            raise ValueError(f"claim {self.key!r} is not measured: give the reason")

    @property
    def verdict(self) -> str:
        """The verdict by the course's rule (`verdict`)."""
        return verdict(self.effect, self.noise, self.margin)


def error_gap(key: str, claim: str, paper: str, worse: tuple[str, float], better: tuple[str, float], n: int,
              paired: tuple[int, int] | None = None) -> Claim:
    """The claim that network `worse` (name, test error %) errs more than `better`, on the same n test images:
    effect = error(worse) - error(better), noise its standard error (paired when `paired` = (images only `worse`
    gets wrong, images only `better` gets wrong) is known, else `stats.difference_se`)."""
    effect = worse[1] - better[1]
    noise = (stats.paired_difference_se(*paired, n) if paired is not None
             else stats.difference_se(worse[1], better[1], n))
    measured = (f"{worse[0]} {worse[1]:.2f}% vs {better[0]} {better[1]:.2f}% on {n:,} images: "
                f"{effect:+.2f} ± {noise:.2f} points")
    return Claim(key, claim, paper, effect, noise, measured)


def correlation(key: str, claim: str, paper: str, rho: float, n: int, sign: int = 1) -> Claim:
    """The claim that two measures rank n runs alike (sign +1) or in reverse (-1): effect = sign * rho, compared
    with the two-sided 5% critical value for n (margin 1)."""
    if sign not in (1, -1):
        raise ValueError(f"sign={sign} must be +1 or -1")
    critical = stats.spearman_critical(n)
    return Claim(key, claim, paper, sign * rho, critical, f"rho = {rho:+.2f} over {n} runs (5% critical value "
                 f"{critical:.2f})", margin=1.0)


def comparison(key: str, claim: str, paper: str, measured: str, effect: float, noise: float) -> Claim:
    """Any other measured claim: an effect in the paper's direction and its noise, said in words by `measured`."""
    return Claim(key, claim, paper, effect, noise, measured)


def not_measured(key: str, claim: str, paper: str, reason: str) -> Claim:
    """A claim this profile does not measure, and why."""
    return Claim(key, claim, paper, None, reason=reason)


def table(claims: Sequence[Claim]) -> str:
    """The claims as a markdown table: claim, paper, this run (with noise), verdict."""
    if not claims:
        raise ValueError("claims must hold at least one claim")
    keys = [c.key for c in claims]
    if len(set(keys)) != len(keys):
        raise ValueError(f"claim keys must be distinct; got {keys}")
    lines = ["| claim | paper | this run | verdict |", "| --- | --- | --- | --- |"]
    for c in claims:
        shown = c.measured if c.effect is not None else c.reason
        lines.append(f"| {c.claim} | {c.paper} | {shown} | **{c.verdict}** |")
    return "\n".join(lines)


def numbers(claims: Sequence[Claim]) -> dict[str, str | float]:
    """What a notebook records of its claims: `finding_<key>` (the verdict) and, where measured, the effect, noise
    and margin it follows from (`finding_<key>_effect`, `_noise`, `_margin`)."""
    found: dict[str, str | float] = {}
    for c in claims:
        found[f"finding_{c.key}"] = c.verdict
        if c.effect is not None and not math.isnan(c.effect):
            found.update({f"finding_{c.key}_effect": c.effect, f"finding_{c.key}_noise": c.noise,
                          f"finding_{c.key}_margin": c.margin})
    return found


def show(claims: Sequence[Claim], profile: str) -> None:
    """Display the claims' table (with the profile's caveat where it has one) and record their numbers."""
    from IPython.display import Markdown, display

    caveat = SMALL_PROFILES.get(profile)
    display(Markdown(table(claims) + (f"\n\n*At the `{profile}` profile {caveat}.*" if caveat else "")))
    record(**numbers(claims))
