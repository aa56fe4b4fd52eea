"""The store behind the servers the suite starts, and one way for tests to look into it.

BULWARK_TEST_BACKEND=postgresql runs the whole suite on a throwaway PostgreSQL 15: one cluster per
pytest session (initdb and pg_ctl into a temporary directory, a free port, TLS with a test CA so
production servers accept the URL), one fresh database per data directory. Without it, the suite
runs on SQLite as always.

`db_for(server)` opens the server's store, whichever it is, for queries with `?` placeholders;
blobs come back as bytes on both backends.

Not collected by pytest (the name does not start with test_)."""
import atexit
import contextlib
import os
import pwd
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import urllib.parse
from pathlib import Path

BACKEND = os.environ.get("BULWARK_TEST_BACKEND", "sqlite")
ON_POSTGRES = BACKEND == "postgresql"
if BACKEND not in ("sqlite", "postgresql"):
    raise RuntimeError(f"BULWARK_TEST_BACKEND must be sqlite or postgresql, not {BACKEND!r}")

PG_BIN = "/usr/lib/postgresql/15/bin/"


def _ephemeral_ports():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = map(int, f.read().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999


def free_port():
    """A free port for a peer that is told its port (PostgreSQL, nginx, rsyslog), below the
    kernel's ephemeral range: the port stays free between this check and the peer's bind, and
    while a peer restarts on it, whatever else binds port 0 or connects out meanwhile (the
    servers under test, the other test process's clients). Only another such choice can take
    it, one in about 10,000."""
    low, _ = _ephemeral_ports()
    first = max(1024, low - 12000)
    for _ in range(200):
        port = random.randrange(first, low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise AssertionError("no free port below the ephemeral range")


class Postgres:
    """A PostgreSQL 15 cluster in a temporary directory, superuser `bulwark`, trust auth on
    127.0.0.1, TLS with a certificate for 127.0.0.1 signed by a CA made for it (`ca_file`)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="bulwark-pg-")
        self.port = None
        self.as_user = []
        self.count = 0
        self.live = []
        self.by_data_dir = {}
        self.started = False
        try:
            self._tls_files()
            if os.geteuid() == 0:  # initdb refuses root: the cluster belongs to `postgres`
                pw = pwd.getpwnam("postgres")
                for p in [self.dir, f"{self.dir}/server.key", f"{self.dir}/server.crt"]:
                    os.chown(p, pw.pw_uid, pw.pw_gid)
                self.as_user = ["runuser", "-u", "postgres", "--"]
            os.chmod(self.dir, 0o755)  # the CA certificate is read by the servers under test
            # A language's collation, as most production databases have (ICU's en-US: this image
            # holds no libc locale but C): text sorts "~" below letters and compares case last,
            # unlike SQLite, so anything that relies on byte order shows here.
            self.run([PG_BIN + "initdb", "-D", f"{self.dir}/data", "-U", "bulwark", "--auth=trust", "-E", "UTF8",
                      "--locale-provider=icu", "--icu-locale=en-US", "--no-sync", "--no-instructions"])
            # The port is picked just before the start, and picked again if something else took
            # it in between (another test process binds ports too).
            for attempt in range(3):
                self.port = free_port()
                # A throwaway cluster: durability across an OS crash buys nothing here.
                options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                           f"-c full_page_writes=off -c max_connections=300 -c ssl=on "
                           f"-c ssl_cert_file={self.dir}/server.crt -c ssl_key_file={self.dir}/server.key")
                try:
                    self.run([PG_BIN + "pg_ctl", "-D", f"{self.dir}/data", "-l", f"{self.dir}/server.log", "-w",
                              "-o", options, "start"])
                    break
                except subprocess.CalledProcessError:
                    log = Path(f"{self.dir}/server.log")
                    if attempt == 2 or not log.exists() or "could not bind" not in log.read_text():
                        raise
            self.started = True
        except BaseException:
            self.stop()
            raise

    def _tls_files(self):
        d = self.dir
        openssl = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                   "-days", "2"]
        self.run_here(openssl + ["-keyout", f"{d}/ca.key", "-out", f"{d}/ca.crt", "-subj", "/CN=bulwark test CA"])
        self.run_here(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                       "-keyout", f"{d}/server.key", "-out", f"{d}/server.csr", "-subj", "/CN=127.0.0.1"])
        Path(f"{d}/san.ext").write_text("subjectAltName = IP:127.0.0.1\n")
        self.run_here(["openssl", "x509", "-req", "-in", f"{d}/server.csr", "-CA", f"{d}/ca.crt", "-CAkey",
                       f"{d}/ca.key", "-CAcreateserial", "-days", "2", "-extfile", f"{d}/san.ext", "-out",
                       f"{d}/server.crt"])
        os.chmod(f"{d}/server.key", 0o600)
        self.ca_file = f"{d}/ca.crt"

    @staticmethod
    def run_here(args):
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)

    def run(self, args):
        subprocess.run(self.as_user + args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=60)

    def url(self, db):
        """Plain TCP (what dev mode accepts)."""
        return f"postgresql://bulwark@127.0.0.1:{self.port}/{db}"

    def verified_url(self, db):
        """TLS with certificate and host name verification (what production requires)."""
        return f"{self.url(db)}?sslmode=verify-full&sslrootcert={self.ca_file}"

    def _admin(self, *statements):
        import psycopg2  # only needed when PostgreSQL is used
        con = psycopg2.connect(self.url("postgres"))
        try:
            con.autocommit = True
            with con.cursor() as cur:
                for sql in statements:
                    cur.execute(sql)
        finally:
            con.close()

    def new_database(self):
        """A fresh empty database (dropped by drop_databases); returns its plain URL."""
        self.count += 1
        name = f"t_{self.count}"
        self._admin(f"CREATE DATABASE {name}")
        self.live.append(name)
        return self.url(name)

    def drop_databases(self):
        """Drops every database made since the last call, whoever is still connected: a test's
        databases end with it (each is a copy of template1, some MB)."""
        names, self.live = self.live, []
        self.by_data_dir.clear()
        if names:
            self._admin(*(f"DROP DATABASE IF EXISTS {n} WITH (FORCE)" for n in names))

    def database_for(self, data_dir):
        """The verified URL of the database that belongs to `data_dir` (created on first use), so
        a restart or a second server on the same data directory finds the same data."""
        key = str(Path(data_dir).resolve())
        if key not in self.by_data_dir:
            plain = self.new_database()
            self.by_data_dir[key] = self.verified_url(plain.rpartition("/")[2])
        return self.by_data_dir[key]

    def sql(self, url, query):
        out = subprocess.run(["psql", url, "-At", "-c", query], capture_output=True, text=True, timeout=30)
        return out.returncode, out.stdout.strip(), out.stderr

    def stop(self):
        if self.started:
            try:
                self.run([PG_BIN + "pg_ctl", "-D", f"{self.dir}/data", "-m", "immediate", "-w", "stop"])
            except subprocess.SubprocessError:
                self._kill_postmaster()
            self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)

    def _kill_postmaster(self):
        try:
            pid = int(Path(f"{self.dir}/data/postmaster.pid").read_text().split()[0])
            os.kill(pid, signal.SIGQUIT)
        except (OSError, ValueError, IndexError):
            pass


_cluster = None


def cluster():
    """The session's cluster, started on first use; stop_cluster() ends it."""
    global _cluster
    if _cluster is None:
        _cluster = Postgres()
        atexit.register(stop_cluster)  # also when the session ends without its teardown
    return _cluster


def running_cluster():
    """The session's cluster if one was started, else None."""
    return _cluster


def stop_cluster():
    global _cluster
    if _cluster is not None:
        c, _cluster = _cluster, None
        c.stop()


def storage_url_for(data_dir):
    """The storage.url a server on `data_dir` gets on this backend (None: SQLite in the data dir)."""
    return cluster().database_for(data_dir) if ON_POSTGRES else None


# --------------------------------------------------------------------------------------------
# A backend-neutral look into a server's store.

# The append-only guards of the ledger and the receipts (migrations: BEFORE UPDATE/DELETE).
GUARDED = ("audit_ledger", "audit_checkpoints", "audit_signing_keys", "audit_index", "receipts",
           "receipt_signing_keys")


class Db:
    """One connection to a store; `?` placeholders; blobs as bytes; rows as tuples."""

    def __init__(self, con, postgres):
        self.con = con
        self.postgres = postgres

    def _sql(self, sql):
        return sql.replace("%", "%%").replace("?", "%s") if self.postgres else sql

    @staticmethod
    def _value(v):
        return bytes(v) if isinstance(v, memoryview) else v

    def query(self, sql, params=()):
        cur = self.con.cursor()
        try:
            cur.execute(self._sql(sql), tuple(params))
            return [tuple(self._value(v) for v in row) for row in cur.fetchall()]
        finally:
            cur.close()

    def execute(self, sql, params=()):
        """Runs one statement and commits it; returns the number of rows changed."""
        return self.execute_many([(sql, params)])

    def execute_many(self, statements):
        """Runs [(sql, params), ...] in one transaction and commits it (rolls back and raises if
        one fails); returns the number of rows the last one changed."""
        cur = self.con.cursor()
        try:
            for sql, params in statements:
                cur.execute(self._sql(sql), tuple(params))
            n = cur.rowcount
        except Exception:
            self.con.rollback()
            raise
        finally:
            cur.close()
        self.con.commit()
        return n

    def tables(self):
        if self.postgres:
            sql = ("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
                   "AND table_type = 'BASE TABLE'")
        else:
            sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
        return sorted(r[0] for r in self.query(sql))

    def columns(self, table):
        if self.postgres:
            return [r[0] for r in self.query("SELECT column_name FROM information_schema.columns WHERE "
                                             "table_schema = current_schema() AND table_name = ? "
                                             "ORDER BY ordinal_position", (table,))]
        return [r[1] for r in self.query(f"PRAGMA table_info({table})")]

    @contextlib.contextmanager
    def unguarded(self, *tables):
        """The append-only triggers of `tables` (default: all guarded tables) off, then back on: what
        an attacker with the database's owner account can do."""
        tables = tables or GUARDED
        if self.postgres:
            for t in tables:
                self.execute(f"ALTER TABLE {t} DISABLE TRIGGER USER")
            try:
                yield self
            finally:
                for t in tables:
                    self.execute(f"ALTER TABLE {t} ENABLE TRIGGER USER")
            return
        marks = ",".join("?" * len(tables))
        triggers = self.query(f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ({marks})",
                              tables)
        for name, _ in triggers:
            self.execute(f"DROP TRIGGER {name}")
        try:
            yield self
        finally:
            for _, sql in triggers:
                self.execute(sql)

    def close(self):
        self.con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def connect(storage_url=None, db_path=None, readonly=False):
    if storage_url:
        import psycopg2  # only needed when PostgreSQL is used
        con = psycopg2.connect(storage_url)
        if readonly:
            con.set_session(readonly=True, autocommit=True)
        return Db(con, postgres=True)
    uri = f"file:{db_path}" + ("?mode=ro" if readonly else "")
    return Db(sqlite3.connect(uri, uri=True, timeout=10), postgres=False)


def db_for(srv, readonly=False):
    """The store of `srv` (a conftest.Server): its storage.url, else <data dir>/bulwark.db."""
    return connect(srv.settings.get("storage.url"), Path(srv.data_dir) / "bulwark.db", readonly)


def query(srv, sql, params=()):
    """One read-only query on the store of `srv`."""
    with db_for(srv, readonly=True) as db:
        return db.query(sql, params)


@contextlib.contextmanager
def store_outage(srv):
    """The store of `srv` unreachable, then back: the SQLite file moved away and back; the
    PostgreSQL database refusing connections with its open ones ended, then allowing them again."""
    url = srv.settings.get("storage.url")
    if not url:
        db = Path(srv.data_dir) / "bulwark.db"
        moved = db.with_name("bulwark.db.moved")
        db.rename(moved)
        try:
            yield
        finally:
            moved.rename(db)
        return
    import psycopg2  # only needed when PostgreSQL is used
    name = urllib.parse.urlsplit(url).path.lstrip("/")
    con = psycopg2.connect(cluster().url("postgres"))
    con.autocommit = True
    try:
        with con.cursor() as cur:
            cur.execute(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false")
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        yield
    finally:
        with con.cursor() as cur:
            cur.execute(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true")
        con.close()


def dump(db, tables=None):
    """Every row of every table (or of `tables`), sorted: for "nothing changed" comparisons."""
    return {t: sorted(db.query(f"SELECT * FROM {t}"), key=repr) for t in (tables or db.tables())}


def scan_store(srv, needles):
    """Asserts that no stored value (any table, any column) contains one of `needles` (bytes);
    returns the number of rows seen."""
    rows = 0
    with db_for(srv, readonly=True) as db:
        for table in db.tables():
            for row in db.query(f'SELECT * FROM "{table}"'):
                rows += 1
                for v in row:
                    if v is None or isinstance(v, (int, float)):
                        continue
                    data = v.encode() if isinstance(v, str) else bytes(v)
                    for n in needles:
                        assert n not in data and n.lower() not in data.lower(), (table, n[:12])
    return rows
