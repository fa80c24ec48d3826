"""`python -m lossviz surface|interpolate ...` (see lossviz.cli)."""
from lossviz.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
