"""Key numbers a notebook records, in a line of its output that the runner, the index page and the tests read."""
from __future__ import annotations

import json

RESULTS_PREFIX = "LOSSVIZ_RESULT "  # notebooks print key numbers as `LOSSVIZ_RESULT {"name": value}`


def record(**numbers: float | int | str | list) -> dict:
    """Print key numbers in a line the runner and the tests can find (`lossviz.suite.report.key_results`); return
    them."""
    print(RESULTS_PREFIX + json.dumps(numbers, sort_keys=True))
    return numbers
