"""README.md's "Using it" section, run as a newcomer would: its ```sh blocks, literally and in
order, in one `bash -e -o pipefail`, against a dev server this test starts.

Only where they run differs from a fresh clone, and nothing in the text is rewritten:
  - the working directory is a scratch directory whose build/release/bulwark is the binary under
    test (a symlink) and whose ./data is the dev server's data directory;
  - BULWARK_SERVER_LISTEN is the server's address (it listens on a free port, not 8420), so the
    quickstart prints that address in VAULT_ADDR;
  - /usr/bin comes first in PATH (Debian's python3, which has python3-hvac);
  - on PostgreSQL, BULWARK_STORAGE_URL names the server's database.
"""
import json
import os
import re
import subprocess
from pathlib import Path

from conftest import REPO, Server, clean_env, BIN
from identity_helpers import LOOSE

SECTION = "## Using it\n"


def using_it_blocks():
    text = (REPO / "README.md").read_text()
    start = text.index(SECTION) + len(SECTION)
    end = text.find("\n## ", start)
    section = text[start:end if end != -1 else len(text)]
    return re.findall(r"^```sh\n(.*?)^```$", section, flags=re.S | re.M)


def split_output(text):
    """curl prints a JSON body with no newline after it: the JSON documents, and the other lines."""
    decoder = json.JSONDecoder()
    docs, lines, i = [], [], 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        try:
            doc, i = decoder.raw_decode(text, i)
            docs.append(doc)
        except ValueError:
            end = text.find("\n", i)
            end = len(text) if end == -1 else end
            lines.append(text[i:end])
            i = end
    return docs, lines


def test_readme_blocks_are_there():
    blocks = using_it_blocks()
    assert len(blocks) >= 3, blocks
    script = "\n".join(blocks)
    for needed in ("dev quickstart --dev", "python3 -c", "import os, hvac", "ACCESS_TOKEN=$(", "jq"):
        assert needed in script, needed


def test_readme_using_it_runs_from_nothing_to_a_secret_read_back_with_hvac(tmp_path):
    work = tmp_path / "clone"
    (work / "build" / "release").mkdir(parents=True)
    os.symlink(BIN, work / "build" / "release" / "bulwark")
    srv = Server(work, dev=True, settings=LOOSE, data_dir=work / "data").start()
    try:
        env = clean_env({"BULWARK_SERVER_LISTEN": srv.address,
                         "PATH": "/usr/bin:" + os.environ.get("PATH", "")})
        for k in ("VAULT_ADDR", "VAULT_TOKEN", "VAULT_NAMESPACE", "ACCESS_TOKEN"):
            env.pop(k, None)
        url = srv.settings.get("storage.url")
        if url:
            env["BULWARK_STORAGE_URL"] = url
        script = "\n".join(using_it_blocks())
        proc = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=work, env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, (proc.stdout, proc.stderr)
        docs, lines = split_output(proc.stdout)
        # hvac read back what curl wrote.
        assert "hello" in lines, proc.stdout
        assert {"status": "ok"} in docs, proc.stdout
        # The access token the README set worked: /api/v1/me and the native read as the owner.
        me = [d for d in docs if isinstance(d, dict) and d.get("email") == "owner@dev.test"]
        assert me and me[0]["role"] == "owner", proc.stdout
        read = [d for d in docs if isinstance(d, dict) and d.get("data") == {"greeting": "hello"}]
        assert read, proc.stdout
        # The quickstart's notes went to stderr; the key only to the shell that evaluated it.
        assert "dev quickstart" in proc.stderr
        assert "bwk_" not in proc.stdout
    finally:
        srv.stop()
    assert not (work / "ledger.pem").exists()
