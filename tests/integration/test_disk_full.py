"""A full disk under the SQLite store: writes fail closed (503), and freeing a little room brings
them back, without a restart and after one (issue #22, defect 7: the WAL must not take back what
was freed). Runs on a small tmpfs of its own, so it needs root (mount) and SQLite."""
import os
import shutil
import subprocess
import uuid

import hvac
import pytest

import pg_helpers
from identity_helpers import LOOSE
from vault_helpers import api_key, owner, put_policy

VOLUME_MIB = 8
FREED_MIB = 1.5

pytestmark = [
    pytest.mark.skipif(pg_helpers.ON_POSTGRES, reason="the SQLite store's files on a small volume"),
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("mount") is None, reason="needs root to mount a tmpfs"),
]


@pytest.fixture
def small_volume(tmp_path):
    mnt = tmp_path / "volume"
    mnt.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={VOLUME_MIB}m,mode=0700", "tmpfs", str(mnt)],
                         capture_output=True, text=True)
    if res.returncode != 0:  # root without CAP_SYS_ADMIN (some containers)
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _write(client, path, size=24 * 1024):
    """One secret write; True if acknowledged, False if the store refused it (503)."""
    try:
        client.secrets.kv.v2.create_or_update_secret(path, {"blob": os.urandom(size // 2).hex()})
        return True
    except hvac.exceptions.VaultDown:
        return False
    except hvac.exceptions.InternalServerError:
        return False


def test_writes_come_back_after_freeing_a_little_room(make_server, small_volume):
    filler = small_volume / "filler"
    filler.write_bytes(b"\0" * int(FREED_MIB * 1024 * 1024))
    srv = make_server(dev=True, settings=LOOSE, data_dir=small_volume / "data")
    _, tokens, codes = owner(srv)
    put_policy(srv, tokens, codes, "all", {"*": ["create", "read", "update", "delete", "list"]})
    key, _ = api_key(srv, tokens, codes, policy="all")
    client = hvac.Client(url=srv.url, token=key, timeout=10)

    written = []
    for i in range(2000):
        path = f"fill/{i}"
        if not _write(client, path):
            break
        written.append(path)
    else:
        pytest.fail("the volume never filled")
    assert written, "not one write fit"
    # Full: refused, and nothing acknowledged was lost.
    assert not _write(client, "fill/refused")
    assert srv.get("/livez").status == 200

    filler.unlink()
    ok = sum(_write(client, f"after/{uuid.uuid4().hex}", size=4 * 1024) for _ in range(40))
    assert ok == 40, f"only {ok} of 40 small writes were acknowledged after freeing {FREED_MIB} MiB"
    wal = small_volume / "data" / "bulwark.db-wal"
    if wal.exists():
        assert wal.stat().st_size <= (1 << 20) + (256 << 10), wal.stat().st_size

    # And after a restart.
    srv.stop()
    srv.start()
    client = hvac.Client(url=srv.url, token=key, timeout=10)
    assert _write(client, "after-restart", size=1024)
    for path in written[:: max(1, len(written) // 10)]:
        assert client.secrets.kv.v2.read_secret_version(path)["data"]["data"]["blob"]
