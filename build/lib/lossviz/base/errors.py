"""One error path for the command lines (`python -m lossviz`, the runner, publish).

A user's mistake (a bad file, path, value or selection: ValueError or OSError) prints one line naming
the problem and exits with status 2; Ctrl-C or SIGTERM prints one line and exits with 130 or 143 after
the running computation saved what it finished. Anything else is a bug, and its traceback shows.
"""
from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

USAGE = 2  # the exit status of argparse's own usage errors
USER_ERRORS = (ValueError, OSError)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C's KeyboardInterrupt so that finished work is saved on the way out."""


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated(f"signal {signum}")


def one_line(error: BaseException) -> str:
    """The error's message on one line."""
    return " ".join(str(error).split()) or type(error).__name__


def exit_status(prog: str, action: Callable[[], int | None]) -> int:
    """Run `action` and return its exit status (None counts as 0), turning user errors and interruptions into
    one line on stderr (`prog: error: ...`) and status 2, 130 (SIGINT) or 143 (SIGTERM)."""
    main = threading.current_thread() is threading.main_thread()
    if main:  # Ctrl-C raises KeyboardInterrupt even where the shell started us ignoring it; SIGTERM likewise
        previous = signal.signal(signal.SIGINT, signal.default_int_handler), signal.signal(signal.SIGTERM, _terminate)
    try:
        return action() or 0
    except KeyboardInterrupt as stop:
        name = "SIGTERM" if isinstance(stop, Terminated) else "SIGINT"
        print(f"{prog}: interrupted ({name})", file=sys.stderr)
        return 128 + (signal.SIGTERM if name == "SIGTERM" else signal.SIGINT)
    except USER_ERRORS as error:
        print(f"{prog}: error: {one_line(error)}", file=sys.stderr)
        return USAGE
    finally:
        if main:
            signal.signal(signal.SIGINT, previous[0])
            signal.signal(signal.SIGTERM, previous[1])
