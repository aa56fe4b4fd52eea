"""Production refuses every unsafe setting at boot: exit 78, every reason on stderr, nothing written.

Each refusal is also checked with `bulwark config check` (exit 1, same reason, nothing written).
"""
import base64
import os
import re
import stat
from pathlib import Path

import pytest

from conftest import EXIT_REFUSED, PUBLIC_URL, Server, b64key, random_token, render_toml, run_cli
from pg_helpers import ON_POSTGRES

GOOD = {"server.public_url": PUBLIC_URL, "mail.disabled": True}


def snapshot(path):
    """Everything under `path` (itself included): relative path -> (mode, bytes or None for dirs)."""
    path = Path(path)
    if not path.exists():
        return None
    out = {}
    for p in [path, *sorted(path.rglob("*"))]:
        st = os.lstat(p)
        rel = str(p.relative_to(path))
        out[rel] = (stat.S_IMODE(st.st_mode), p.read_bytes() if p.is_file() and not p.is_symlink() else None)
    return out


def start_and_stop(srv):
    """Starts a server, stops it with SIGTERM (exit 0), and never leaves it running."""
    try:
        srv.start()
        assert srv.get("/livez").status == 200
        assert srv.stop() == 0
    finally:
        srv.kill()


class Boot:
    """A production boot attempt with a config file, an environment and a data dir."""

    def __init__(self, tmp_path, settings=None, env=None, key=True, public_url=True, data=None):
        self.tmp = Path(tmp_path)
        self.data = Path(data) if data else self.tmp / "data"
        self.log_file = self.tmp / "bulwark-log.jsonl"
        s = {"log.file": str(self.log_file)}
        if public_url:
            s.update(GOOD)
        s.update(settings or {})
        self.settings = s
        self.env = {"BULWARK_MASTER_KEY": b64key()} if key else {}
        self.env.update(env or {})
        self.config = self.tmp / "conf" / "bulwark.toml"

    def write_config(self, text=None):
        self.config.parent.mkdir(exist_ok=True)
        self.config.write_text(text if text is not None else render_toml(self.settings))

    def serve(self):
        return run_cli(["serve", "--config", self.config, "--listen", "127.0.0.1:0", "--data", self.data],
                       env=self.env, cwd=self.tmp)

    def check(self):
        return run_cli(["config", "check", "--config", self.config, "--data", self.data],
                       env=self.env, cwd=self.tmp)


def assert_refused(boot, *reasons, config_text=None):
    """Boots in production: refused with exit 78, each reason (regex) on stderr, nothing written."""
    boot.write_config(config_text)
    before = snapshot(boot.data)
    res = boot.serve()
    assert not res.timed_out, f"production started instead of refusing:\n{res.stderr}"
    assert res.returncode == EXIT_REFUSED, res
    assert re.search(r"bulwark: refusing to start .*nothing was written", res.stderr), res.stderr
    for reason in reasons:
        assert re.search(reason, res.stderr), (reason, res.stderr)
    errors = [line for line in res.stderr.splitlines() if line.startswith("  error: ")]
    assert errors, res.stderr
    assert snapshot(boot.data) == before, "the refused boot changed the data directory"
    if before is None:
        assert not boot.data.exists()
    assert not boot.log_file.exists(), "the refused boot created its log file"

    chk = boot.check()
    assert chk.returncode == 1, chk
    for reason in reasons:
        assert re.search(reason, chk.stdout), (reason, chk.stdout)
    assert "would refuse to start" in chk.stdout
    assert snapshot(boot.data) == before, "config check changed the data directory"
    return res


# --- master key ------------------------------------------------------------------------------

def test_missing_master_key(tmp_path):
    assert_refused(Boot(tmp_path, key=False), r"error: keyring\.master_key: required secret missing")


@pytest.mark.parametrize("value", ["changeme", "passwordpasswordpasswordpassword", "CHANGEME-please-0123456789abcdefgh"])
def test_known_default_master_password(tmp_path, value):
    b = Boot(tmp_path, key=False, settings={"keyring.pbkdf2_iterations": 100000},
             env={"BULWARK_MASTER_PASSWORD": value})
    res = assert_refused(b, r"error: keyring\.master_password: .*known default")
    assert value not in res.stderr


def test_known_default_operator_token(tmp_path):
    b = Boot(tmp_path, env={"BULWARK_OPERATOR_TOKEN": "changeme"})
    assert_refused(b, r"error: operator\.token: .*known default")


# --- mail (issue #22, 7) ------------------------------------------------------------------------

def test_no_mail_delivery_is_refused_without_the_explicit_opt_out(tmp_path):
    """No one can sign in or be invited without mail: production without mail.smtp_url is
    refused unless mail.disabled = true says it is meant (the previous build only warned)."""
    b = Boot(tmp_path)
    del b.settings["mail.disabled"]  # neither SMTP nor the opt-out
    assert_refused(b, r"error: mail\.smtp_url: no SMTP server.*mail\.disabled = true")
    (tmp_path / "both").mkdir()
    both = Boot(tmp_path / "both", settings={"mail.smtp_url": "smtps://mail.example.com:465",
                                             "mail.from": "no-reply@example.com"})
    assert_refused(both, r"error: mail\.disabled: .*both set")


@pytest.mark.parametrize("value", ["changeme", "hunter2", "CHANGEME-please-0123456789abcdefgh"])
def test_known_default_smtp_password(tmp_path, value):
    """The SMTP password is checked like every other secret, from the environment or a file
    (the previous build accepted `changeme`); it is never echoed."""
    smtp = {"mail.smtp_url": "smtps://mail.example.com:465", "mail.from": "no-reply@example.com",
            "mail.smtp_username": "bulwark"}
    b = Boot(tmp_path, settings=smtp, env={"BULWARK_SMTP_PASSWORD": value})
    del b.settings["mail.disabled"]
    res = assert_refused(b, r"error: mail\.smtp_password: BULWARK_SMTP_PASSWORD .*(known default|shorter than 32)")
    assert value not in res.stderr
    pw = tmp_path / "smtp-password"
    pw.write_text(value)
    pw.chmod(0o600)
    (tmp_path / "file").mkdir()
    f = Boot(tmp_path / "file", settings={**smtp, "mail.smtp_password_file": str(pw)})
    del f.settings["mail.disabled"]
    res = assert_refused(f, r"error: mail\.smtp_password_file: the password in .*(known default|shorter than 32)")
    assert value not in res.stderr


def test_master_key_shorter_than_32_bytes(tmp_path):
    b = Boot(tmp_path, env={"BULWARK_MASTER_KEY": b64key(16)})
    assert_refused(b, r"error: keyring\.master_key: .*32 bytes")


def test_master_password_shorter_than_32_bytes(tmp_path):
    b = Boot(tmp_path, key=False, settings={"keyring.pbkdf2_iterations": 100000},
             env={"BULWARK_MASTER_PASSWORD": random_token(12)})  # 16 characters
    assert_refused(b, r"error: keyring\.master_password: .*shorter than 32")


def test_master_password_low_entropy(tmp_path):
    b = Boot(tmp_path, key=False, settings={"keyring.pbkdf2_iterations": 100000},
             env={"BULWARK_MASTER_PASSWORD": "a" * 32})
    assert_refused(b, r"error: keyring\.master_password: .*entropy")


@pytest.mark.parametrize("raw", [bytes(32), b"a" * 32, bytes(range(8)) * 4],
                         ids=["zeros", "aaaa", "repeating-8"])
def test_master_key_low_entropy(tmp_path, raw):
    b = Boot(tmp_path, env={"BULWARK_MASTER_KEY": base64.b64encode(raw).decode()})
    assert_refused(b, r"error: keyring\.master_key: .*entropy")


def test_master_key_not_base64(tmp_path):
    b = Boot(tmp_path, env={"BULWARK_MASTER_KEY": "not base64 at all!!"})
    assert_refused(b, r"error: keyring\.master_key: .*base64")


def test_auto_generated_dev_key_refused(tmp_path):
    dev = Server(tmp_path / "dev", dev=True, data_dir=tmp_path / "data")
    start_and_stop(dev)
    key_file = tmp_path / "data" / "keys" / "master.key"
    assert key_file.is_file()
    b = Boot(tmp_path, key=False, settings={"keyring.master_key_file": str(key_file)})
    assert_refused(b, r"error: keyring\.master_key_file: .*auto-generated")


def test_auto_generated_dev_key_refused_when_no_source_named(tmp_path):
    dev = Server(tmp_path / "dev", dev=True, data_dir=tmp_path / "data")
    start_and_stop(dev)
    assert_refused(Boot(tmp_path, key=False), r"keyring\.master_key: .*auto-generated")


# --- mode, flags, overlay --------------------------------------------------------------------

def test_dev_mode_in_config_file(tmp_path):
    assert_refused(Boot(tmp_path, settings={"mode": "dev"}), r"error: mode: dev mode is on")


def test_dev_mode_in_environment(tmp_path):
    assert_refused(Boot(tmp_path, env={"BULWARK_MODE": "dev"}), r"error: mode: dev mode is on")


def test_tenant_bypass_flag(tmp_path):
    assert_refused(Boot(tmp_path, settings={"debug.tenant_bypass": True}), r"error: debug\.tenant_bypass: ")


def test_debug_log_bodies_flag(tmp_path):
    assert_refused(Boot(tmp_path, settings={"debug.log_bodies": True}), r"error: debug\.log_bodies: ")


def test_debug_flag_from_environment(tmp_path):
    assert_refused(Boot(tmp_path, env={"BULWARK_DEBUG_TENANT_BYPASS": "true"}), r"error: debug\.tenant_bypass: ")


def test_local_overlay_enabled(tmp_path):
    assert_refused(Boot(tmp_path, settings={"local_overlay.enabled": True}),
                   r"error: local_overlay\.enabled: .*off in production")


# --- server ----------------------------------------------------------------------------------

def test_public_url_http(tmp_path):
    assert_refused(Boot(tmp_path, settings={"server.public_url": "http://bulwark.example.com"}),
                   r"error: server\.public_url: must be an https:// URL")


def test_public_url_missing(tmp_path):
    assert_refused(Boot(tmp_path, public_url=False), r"error: server\.public_url: required in production")


def test_cors_wildcard_origin(tmp_path):
    assert_refused(Boot(tmp_path, settings={"cors.allowed_origins": ["*"]}),
                   r"error: cors\.allowed_origins: .*wildcard")


# --- storage ---------------------------------------------------------------------------------

def test_data_dir_group_readable(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    os.chmod(data, 0o750)
    assert_refused(Boot(tmp_path), r"error: storage\.data_dir: .*(0750|chmod 700)")


def test_file_in_data_dir_world_readable(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    os.chmod(data, 0o700)
    f = data / "notes.txt"
    f.write_bytes(b"operator notes\n")
    os.chmod(f, 0o644)
    assert_refused(Boot(tmp_path), r"error: storage\.data_dir: .*notes\.txt.*(0644|group or others)")


@pytest.mark.parametrize("key,value,phrase", [
    ("storage.journal_mode", "DELETE", "journal_mode must be WAL"),
    ("storage.synchronous", "NORMAL", "synchronous must be FULL"),
    ("storage.foreign_keys", False, "foreign_keys must be on"),
])
def test_storage_not_strict(tmp_path, key, value, phrase):
    assert_refused(Boot(tmp_path, settings={key: value}), rf"error: {re.escape(key)}: .*{phrase}")


@pytest.mark.skipif(ON_POSTGRES, reason="about an existing SQLite database file; on PostgreSQL there is none")
def test_storage_not_strict_on_existing_database(tmp_path):
    # A real, good database is left byte-identical by a refused boot.
    good = Server(tmp_path / "good", data_dir=tmp_path / "data")
    start_and_stop(good)
    assert (tmp_path / "data" / "bulwark.db").is_file()
    assert_refused(Boot(tmp_path, settings={"storage.synchronous": "OFF"}), r"synchronous must be FULL")


@pytest.mark.skipif(ON_POSTGRES, reason="the lock is on an SQLite data directory")
def test_a_second_server_on_the_same_data_directory_is_refused(tmp_path):
    """One server per SQLite data directory: it keeps what it reads in memory and only its own
    changes drop it. A second one is refused while the first runs, and starts once it is gone."""
    first = Server(tmp_path / "first", data_dir=tmp_path / "data")
    key = {"BULWARK_MASTER_KEY": first.env["BULWARK_MASTER_KEY"]}
    try:
        first.start()
        second = Boot(tmp_path, env=key, data=tmp_path / "data")
        second.write_config()
        res = second.serve()
        assert not res.timed_out, "a second server started on the same data directory"
        assert res.returncode == EXIT_REFUSED, res
        assert "refusing to start: storage: another bulwark server is serving the data directory" \
            in res.stderr, res.stderr
        assert first.get("/livez").status == 200
        first.kill()  # however it ends, the directory is free again
        third = Server(tmp_path / "third", data_dir=tmp_path / "data", env=key)
        start_and_stop(third)
    finally:
        first.kill()


def test_store_unreachable_database_is_a_directory(tmp_path):
    data = tmp_path / "data"
    (data / "bulwark.db").mkdir(parents=True)
    os.chmod(data, 0o700)
    os.chmod(data / "bulwark.db", 0o700)
    assert_refused(Boot(tmp_path), r"error: storage: .*unreachable")


def test_store_unreachable_data_dir_under_regular_file(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_bytes(b"not a directory")
    b = Boot(tmp_path, data=blocker / "data")
    assert_refused(b, r"error: storage\.data_dir: .*unreachable")
    assert blocker.read_bytes() == b"not a directory"


def test_audit_sink_not_writable(tmp_path):
    b = Boot(tmp_path, settings={"audit.file": str(tmp_path / "no-such-dir" / "audit.jsonl")})
    assert_refused(b, r"error: audit\.file: .*audit sink")
    assert not (tmp_path / "no-such-dir").exists()


# --- secrets in the file ---------------------------------------------------------------------

@pytest.mark.parametrize("key", ["keyring.master_key", "keyring.master_password", "operator.token"])
def test_inline_secret_in_config_refused(tmp_path, key):
    value = b64key() if key == "keyring.master_key" else random_token()
    b = Boot(tmp_path, settings={key: value})
    res = assert_refused(b, rf"error: {re.escape(key)}: secrets are not accepted in the configuration file")
    assert value not in res.stderr
    assert value not in b.check().stdout


# --- all at once -----------------------------------------------------------------------------

def test_all_problems_listed_at_once(tmp_path):
    b = Boot(tmp_path, key=False, settings={
        "server.public_url": "http://insecure.example.com",
        "debug.log_bodies": True,
        "cors.allowed_origins": ["*"],
        "storage.journal_mode": "DELETE",
    })
    reasons = [r"error: server\.public_url: ", r"error: debug\.log_bodies: ",
               r"error: cors\.allowed_origins: ", r"error: storage\.journal_mode: ",
               r"error: keyring\.master_key: required secret missing"]
    res = assert_refused(b, *reasons)
    assert "5 problem(s)" in res.stderr, res.stderr
    assert len([l for l in res.stderr.splitlines() if l.startswith("  error: ")]) == 5


def test_all_problems_listed_even_with_a_config_file_error(tmp_path):
    # A file-level problem (an inline secret, an unknown key) must not hide the unsafe settings.
    b = Boot(tmp_path, settings={
        "keyring.master_key": b64key(),
        "server.publc_url": "typo",
        "server.public_url": "http://insecure.example.com",
        "debug.tenant_bypass": True,
    })
    assert_refused(b, r"error: keyring\.master_key: secrets are not accepted",
                   r"error: server\.publc_url: unknown setting",
                   r"error: server\.public_url: must be an https:// URL",
                   r"error: debug\.tenant_bypass: ")


# --- the good path ---------------------------------------------------------------------------

def test_config_check_ok_for_good_production_config(tmp_path):
    b = Boot(tmp_path)
    b.write_config()
    res = b.check()
    assert res.returncode == 0, res
    assert "configuration OK for production" in res.stdout
    assert not b.data.exists(), "config check created the data directory"


def test_config_check_dev_flag(tmp_path):
    b = Boot(tmp_path, key=False, public_url=False)
    b.write_config()
    res = run_cli(["config", "check", "--dev", "--config", b.config, "--data", b.data], env=b.env)
    assert res.returncode == 0, res
    assert "configuration OK for dev" in res.stdout


def test_good_production_config_starts_and_serves(tmp_path):
    srv = Server(tmp_path / "srv", data_dir=tmp_path / "data")
    try:
        srv.start()
        res = srv.get("/livez")
        assert res.status == 200 and res.json() == {"status": "ok"}
        ev = srv.find_event("server.listening")
        assert ev["mode"] == "production"
        assert stat.S_IMODE(os.stat(tmp_path / "data").st_mode) == 0o700
        if not ON_POSTGRES:  # on PostgreSQL the data directory holds no database file
            db_mode = stat.S_IMODE(os.stat(tmp_path / "data" / "bulwark.db").st_mode)
            assert db_mode & 0o077 == 0, oct(db_mode)
        assert srv.stop() == 0
    finally:
        srv.kill()
