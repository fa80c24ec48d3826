"""Atomic writes: the new file appears whole on success; on failure the old one stays and no temp file is left."""
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lossviz.base import files

REPO = Path(__file__).resolve().parents[1]


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


def _killed_writer(target) -> Path:
    """Start a writer that stops inside `atomic(target)`, kill -9 it, and return the temp file it left."""
    code = ("import sys, time; from lossviz import files\n"
            "with files.atomic(sys.argv[1]) as tmp:\n"
            "    tmp.write_bytes(b'half'); print(tmp, flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(target)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        tmp = Path(proc.stdout.readline().strip())
        assert files.temp_files(target) == [tmp]
        # while the writer lives, its temp file is left alone however old it is
        os.utime(tmp, (time.time() - 3600, time.time() - 3600))
        assert files.clean_stale(target) == [] and tmp.exists()
    finally:
        proc.kill()
        proc.wait()
    return tmp


def test_temp_file_of_a_killed_writer_is_removed_by_the_next_write(tmp_path):
    target = tmp_path / "result.h5"
    tmp = _killed_writer(target)
    assert tmp.exists() and not target.exists()  # kill -9: the temp file stays, the target never appeared
    young = tmp_path / f".{target.name}.abcdefgh.tmp"  # unlocked but just created: its writer may be starting
    young.write_bytes(b"")
    other = tmp_path / ".result.h5.old.tmp"  # not a name atomic() makes: never touched
    other.write_bytes(b"keep")
    os.utime(tmp, (time.time() - 10, time.time() - 10))
    with files.atomic(target) as new:
        new.write_bytes(b"whole")
    assert target.read_bytes() == b"whole"
    assert not tmp.exists() and young.exists() and other.read_bytes() == b"keep"
    assert files.temp_files(target) == [young]


def test_write_bytes_leaves_no_temp_files_and_keeps_the_old_file_on_failure(tmp_path):
    path = tmp_path / "f.bin"
    files.write_bytes(path, b"old")
    with pytest.raises(TypeError):
        files.write_bytes(path, None)  # fails while writing
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # as a plain open() would make it


def test_a_symlink_is_written_through_to_its_target(tmp_path):
    """A link keeps pointing where it did; the file it points to gets the new bytes (a dangling link: created)."""
    (tmp_path / "store").mkdir()
    target, link = tmp_path / "store" / "result.h5", tmp_path / "result.h5"
    target.write_bytes(b"old")
    link.symlink_to(target)
    files.write_bytes(link, b"new")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() == b"new"
    dangling, missing = tmp_path / "later.h5", tmp_path / "store" / "later.h5"
    dangling.symlink_to(missing)
    with files.atomic(dangling) as tmp:
        assert tmp.parent == missing.parent  # the temp file lies beside the target, so os.replace is atomic
        tmp.write_bytes(b"made")
    assert dangling.is_symlink() and missing.read_bytes() == b"made"
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == ["later.h5", "result.h5"]


def test_a_lock_refuses_a_second_holder_and_leaves_no_file(tmp_path):
    out = tmp_path / "surface.h5"
    code = ("import sys, time; from lossviz.base import files\n"
            "with files.lock(sys.argv[1]):\n"
            "    print('locked', flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(ValueError, match=f"{out} is in use by another run \\(process {proc.pid}\\)"), \
                files.lock(out):
            pass
        link = tmp_path / "link.h5"
        link.symlink_to(out)  # another name of the same file: the same lock
        with pytest.raises(ValueError, match="in use by another run"), files.lock(link):
            pass
    finally:
        proc.kill()
        proc.wait()
    with files.lock(out):  # the killed holder's lock is gone with it
        with files.lock(out):  # re-entrant in one process
            assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".lock")] == [".surface.h5.lock"]
        assert (tmp_path / ".surface.h5.lock").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.h5"]  # the lock file goes with the last holder


def test_readers_share_a_lock_that_a_writer_cannot_take(tmp_path):
    plane = tmp_path / "plane.h5"
    code = ("import sys, time; from lossviz.base import files\n"
            "with files.lock(sys.argv[1], shared=True):\n"
            "    print('reading', flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(plane)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert proc.stdout.readline().strip() == "reading"
        with files.lock(plane, shared=True):  # a second reader
            pass
        assert files.lock_file(plane).exists()  # the first reader still holds it
        with pytest.raises(ValueError, match=f"{plane} is in use by another run: wait for it to end"), \
                files.lock(plane):
            pass
    finally:
        proc.kill()
        proc.wait()
    with files.lock(plane):
        pass
    assert sorted(tmp_path.iterdir()) == []
