"""The command line's conventions, through the real binary: a usage error (unknown command or
option, missing or bad value) exits 2 naming what is wrong and the nearest command or option on
stderr, nothing on stdout; results on stdout, failures on stderr, no JSON log lines unless
--verbose; `help`, -V/--version, a bash completion script that loads and completes, a man page
that renders without warnings; a failed `tenant create` leaves the data directory as it was.

Every test here fails on the previous build: it answered a usage error with "A subcommand is
required" (or "The following arguments were not expected") and exit 106 or 109, printed audit
and receipt verification errors on stdout, mixed JSON log lines into tenant create's stderr, left
a database and a generated master key behind a refused tenant create, and had no help, -V,
completion or man commands."""
import os
import re
import subprocess

import pytest

from conftest import run_cli


def man_page():
    r = run_cli(["man"])
    assert r.returncode == 0 and r.stderr == "", r
    return r.stdout


def leaf_commands():
    """Every command that runs something, as the man page (generated from the tree) lists them."""
    lines = [line.replace("\\-", "-") for line in man_page().splitlines()]  # roff's \- is a hyphen
    return [line[len(".SS bulwark "):-len(" [OPTIONS]")].split()
            for line in lines if line.startswith(".SS bulwark ") and line.endswith(" [OPTIONS]")]


def assert_usage_error(r, *needles):
    assert r.returncode == 2, r
    assert r.stdout == "", r
    for n in needles:
        assert n in r.stderr, (n, r)
    assert not any(line.startswith("{") for line in r.stderr.splitlines()), r  # no log line


def tree(path):
    """Every file and directory below `path` (relative), or None when it does not exist."""
    if not os.path.exists(path):
        return None
    out = set()
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            out.add(os.path.relpath(os.path.join(root, name), path))
    return out


def test_the_tree_is_what_the_tests_below_walk():
    cmds = [" ".join(c) for c in leaf_commands()]
    for expected in ("serve", "config check", "tenant create", "key rotate", "key signing-status",
                     "audit verify", "audit export", "audit pubkey", "receipt verify", "receipt pubkey",
                     "db migrate", "routes", "help", "completion", "man"):
        assert expected in cmds, cmds


@pytest.mark.parametrize("args,needles", [
    (["serv"], ["unknown command 'serv'", "did you mean 'serve'?"]),
    (["audit", "verfy"], ["bulwark audit: unknown command 'verfy'", "did you mean 'verify'?"]),
    (["key", "rotate-signng"], ["did you mean 'rotate-signing'?"]),
    (["audit", "verify", "--dta", "x"], ["bulwark audit verify: unknown option '--dta'", "did you mean '--data'?"]),
    (["tenant", "create", "--nme=acme", "--owner", "a@b.test"], ["unknown option '--nme'", "did you mean '--name'?"]),
    (["--bogus"], ["unknown option '--bogus'"]),
    (["routes", "extra"], ["unexpected argument 'extra'"]),
    (["tenant", "create", "--verbose"], ["option '--verbose' belongs before the command: 'bulwark --verbose tenant create ...'"]),
    ([], ["a command is required: serve, config"]),
    (["receipt"], ["bulwark receipt: a command is required: verify, pubkey"]),
    (["tenant", "create", "--owner", "a@b.test"], ["--name is required"]),
    (["key", "retire", "--version", "abc"], ["--version"]),
    (["completion", "zsh"], ["zsh"]),
    (["help", "audt"], ["unknown command 'audt'", "did you mean 'audit'?"]),
])
def test_usage_errors_exit_2_say_what_is_wrong_and_suggest_the_nearest(args, needles):
    r = run_cli(args)
    assert_usage_error(r, *needles)
    assert "Run 'bulwark help" in r.stderr, r


def test_every_command_refuses_an_unknown_option_with_exit_2_and_describes_itself():
    for cmd in leaf_commands():
        r = run_cli([*cmd, "--no-such-option"])
        assert_usage_error(r, f"bulwark {' '.join(cmd)}: unknown option '--no-such-option'")
        for args in ([*cmd, "--help"], ["help", *cmd]):
            h = run_cli(args)
            assert h.returncode == 0 and h.stderr == "", h
            assert f"\nUsage: bulwark {' '.join(cmd)} " in h.stdout, h


def test_version_and_help():
    for flag in ("-V", "--version"):
        r = run_cli([flag])
        assert r.returncode == 0 and r.stderr == "", r
        assert re.fullmatch(r"bulwark \S+ \((?:[0-9a-f]{40}|unknown)\)\n", r.stdout), r
    r = run_cli(["help"])
    assert r.returncode == 0 and r.stderr == "", r
    assert "Exit codes: 0 ok; 1 failure" in r.stdout and "2 usage error" in r.stdout, r
    for name in ("serve", "tenant", "audit", "completion", "man"):
        assert re.search(rf"^\s+{name}\b", r.stdout, re.M), (name, r.stdout)
    r = run_cli(["help", "audit", "verify"])
    assert r.returncode == 0 and "--since-checkpoint" in r.stdout, r


def test_bash_completion_loads_and_completes(tmp_path):
    r = run_cli(["completion", "bash"])
    assert r.returncode == 0 and r.stderr == "", r
    script = tmp_path / "bulwark.bash"
    script.write_text(r.stdout)

    def complete(*words):
        line = " ".join(["bulwark", *words])
        probe = (f'. "$1"; COMP_WORDS=({line}); COMP_CWORD={len(words)}; '
                 '_bulwark; printf "%s\\n" "${COMPREPLY[@]}"')
        res = subprocess.run(["bash", "--norc", "--noprofile", "-c", probe, "probe", str(script)],
                             capture_output=True, text=True, timeout=30)
        assert res.returncode == 0 and res.stderr == "", res
        return res.stdout.split()

    res = subprocess.run(["bash", "--norc", "--noprofile", "-c", '. "$1"; complete -p bulwark', "probe", str(script)],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 0 and res.stderr == "", res
    assert res.stdout.strip() == "complete -F _bulwark bulwark", res
    assert complete("aud") == ["audit"]
    assert complete("audit", "") == ["verify", "export", "pubkey", "--help", "-h"]
    assert complete("audit", "verify", "--si") == ["--since-checkpoint"]
    assert "--kind" in complete("key", "rotate-signing", "--")
    # A valued option completes file names.
    (tmp_path / "pinned.pem").write_text("")
    assert complete("audit", "verify", "--pubkey", str(tmp_path / "pin")) == [str(tmp_path / "pinned.pem")]


def test_man_page_renders_without_warnings(tmp_path):
    page = tmp_path / "bulwark.1"
    page.write_text(man_page())
    res = subprocess.run(["groff", "-man", "-Tutf8", "-ww", str(page)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stderr == "", res.stderr
    text = " ".join(re.sub(r".\x08", "", res.stdout).split())
    for needle in ("bulwark audit verify", "--since-checkpoint", "EXIT STATUS", "Usage error", "tenant create"):
        assert needle in text, needle
    man = subprocess.run(["man", "--warnings", "-l", str(page)], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "MANPAGER": "cat", "PAGER": "cat", "MANWIDTH": "100"})
    assert man.returncode == 0 and man.stderr == "", man.stderr


def test_results_on_stdout_failures_on_stderr_and_no_log_lines_unless_verbose(tmp_path):
    data = tmp_path / "data"
    ok = run_cli(["tenant", "create", "--dev", "--data", data, "--name", "acme", "--owner", "ada@acme.test"])
    assert ok.returncode == 0, ok
    assert set(__import__("json").loads(ok.stdout)) == {"tenant_id", "name", "owner_user_id"}
    # No JSON log line mixed in; a warning an operator must see stays, as one human line.
    assert ok.stderr.splitlines() == [
        "bulwark: warning: dev.master_key_generated: DEV MODE: a master key was generated into the "
        "data directory. Never use this data directory or key in production."], ok

    # Refusals: a human message on stderr, nothing on stdout, no JSON log lines.
    before = tree(data)
    taken = run_cli(["tenant", "create", "--dev", "--data", data, "--name", "acme", "--owner", "bob@acme.test"])
    assert taken.returncode == 1 and taken.stdout == "", taken
    assert tree(data) == before
    assert taken.stderr.startswith("bulwark: tenant create: ") and "{" not in taken.stderr, taken
    verbose = run_cli(["--verbose", "tenant", "create", "--dev", "--data", data, "--name", "acme",
                       "--owner", "bob@acme.test"])
    assert verbose.returncode == 1 and '"event":' in verbose.stderr, verbose  # asked for: logged

    pub = run_cli(["audit", "pubkey", "--data", data])
    assert pub.returncode == 0 and "BEGIN PUBLIC KEY" in pub.stdout and pub.stderr == "", pub
    missing = run_cli(["audit", "pubkey", "--data", data, "--kid", "ed25519:none"])
    assert missing.returncode == 1 and missing.stdout == "", missing
    assert "audit pubkey: error: no checkpoint signing key ed25519:none" in missing.stderr, missing
    nokey = run_cli(["receipt", "pubkey", "--data", data, "--kid", "ed25519:none"])
    assert nokey.returncode == 1 and nokey.stdout == "" and "receipt pubkey: error" in nokey.stderr, nokey

    # audit verify: the verdict on stdout when it holds, what is wrong on stderr otherwise.
    v = run_cli(["audit", "verify", "--data", data])
    assert v.returncode == 0 and v.stdout.startswith("audit verify: OK: "), v
    assert "warning" in v.stderr and "warning" not in v.stdout, v
    bad = run_cli(["audit", "verify", "--data", tmp_path / "nowhere"])
    assert bad.returncode == 2 and bad.stdout == "" and bad.stderr.startswith("audit verify: error: "), bad
    (tmp_path / "junk.pem").write_text("not a key\n")
    bad = run_cli(["audit", "verify", "--data", data, "--pubkey", tmp_path / "junk.pem"])
    assert bad.returncode == 2 and bad.stdout == "" and "audit verify: error: " in bad.stderr, bad

    # receipt verify: the same.
    (tmp_path / "r.json").write_text("{}\n")
    keys = tmp_path / "receipt.pem"
    rk = run_cli(["receipt", "pubkey", "--data", data])
    assert rk.returncode == 0 and rk.stderr == "", rk
    keys.write_text(pub.stdout)  # a key (the ledger's), to get as far as the receipt itself
    rv = run_cli(["receipt", "verify", tmp_path / "r.json", "--pubkey", keys])
    assert rv.returncode == 1 and rv.stdout == "" and "receipt verify: FAILED" in rv.stderr, rv
    rv = run_cli(["receipt", "verify", tmp_path / "missing.json", "--pubkey", keys])
    assert rv.returncode == 2 and rv.stdout == "" and "receipt verify: error" in rv.stderr, rv

    # Maintenance commands: failures on stderr only.
    for args in (["key", "status", "--data", tmp_path / "empty"], ["db", "migrate", "--data", tmp_path / "empty"],
                 ["key", "rotate-signing", "--kind", "nope", "--dev", "--data", data]):
        r = run_cli(args)
        assert r.returncode in (1, 2, 78) and r.stdout == "" and r.stderr.strip(), r
        assert not any(line.startswith("{") for line in r.stderr.splitlines()), r
    r = run_cli(["routes"])
    assert r.returncode == 0 and r.stderr == "" and r.stdout.startswith("{"), r


@pytest.mark.parametrize("existing", [False, True])
def test_a_failed_tenant_create_leaves_the_data_directory_unchanged(tmp_path, existing):
    data = tmp_path / "data"
    if existing:
        data.mkdir()
        (data / "notes.txt").write_text("mine\n")
    before = tree(data)
    for name, owner in (("Not A Valid Name", "ada@acme.test"), ("acme", "not-an-email")):
        r = run_cli(["tenant", "create", "--dev", "--data", data, "--name", name, "--owner", owner])
        assert r.returncode == 1 and r.stdout == "", r
        assert r.stderr.startswith("bulwark: tenant create: "), r
        assert tree(data) == before, (tree(data), before)  # no database, no generated master key

