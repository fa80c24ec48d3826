"""Atomic writes: the new file appears whole on success; on failure the old one stays and no temp file is left."""
import stat

import pytest

from lossviz import files


def test_replaces_the_file_only_when_the_block_succeeds(tmp_path):
    path = tmp_path / "sub" / "result.bin"
    with files.atomic(path) as tmp:
        assert tmp.parent == path.parent and not path.exists()
        tmp.write_bytes(b"first")
    assert path.read_bytes() == b"first" and stat.S_IMODE(path.stat().st_mode) == 0o644
    with pytest.raises(RuntimeError, match="killed"):
        with files.atomic(path) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("killed half-way")
    assert path.read_bytes() == b"first"
    assert [p.name for p in path.parent.iterdir()] == ["result.bin"]


def test_mode_none_keeps_a_private_file(tmp_path):
    with files.atomic(tmp_path / "private", mode=None, suffix=".gif") as tmp:
        assert tmp.suffix == ".gif"
        tmp.write_bytes(b"x")
    assert stat.S_IMODE((tmp_path / "private").stat().st_mode) == 0o600
