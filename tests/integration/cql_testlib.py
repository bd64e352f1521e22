"""Helpers for the CQL client's integration tests (cql_*_test.sh): checks that print both values,
a unique keyspace dropped at exit, and runners for the rtetl binary and the C driver.
Cassandra is cross-checked with the official Python cassandra-driver."""
import os
import subprocess
import sys
import uuid

SRC = os.environ.get("RTETL_SRC") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
BUILD = os.environ.get("RTETL_BUILD") or os.path.join(SRC, "build")
BIN = os.environ.get("RTETL_BIN") or os.path.join(BUILD, "rtetl")
DRIVER = os.path.join(os.path.dirname(BIN), "cql_driver")
HOST = os.environ.get("RTETL_TEST_CQL_HOST", "127.0.0.1")

_failures = []


def check(name, expected, actual):
    if expected == actual:
        print(f"PASS {name}", flush=True)
    else:
        e, a = repr(expected), repr(actual)
        print(f"FAIL {name}: expected {e[:300]} got {a[:300]}", flush=True)
        _failures.append(name)


def check_true(name, cond, detail=""):
    check(name, True, bool(cond)) if cond else (print(f"FAIL {name} {detail}", flush=True), _failures.append(name))


_cleanups = []


def cleanup():
    """Runs the registered clean-ups (newest first); called by finish() and run()."""
    while _cleanups:
        fn = _cleanups.pop()
        try:
            fn()
        except Exception as e:  # clean-up must not hide the test's own result
            print(f"cleanup: {e}")


def run(main):
    """Runs main() and always cleans up, even when main raises."""
    try:
        main()
    finally:
        cleanup()
    finish()


def finish():
    cleanup()
    if _failures:
        print(f"{len(_failures)} check(s) failed: {', '.join(_failures)}")
        sys.exit(1)
    print("all checks passed")
    sys.exit(0)


def python_session():
    from cassandra.cluster import Cluster
    cluster = Cluster([HOST], protocol_version=4)
    session = cluster.connect()
    _cleanups.append(cluster.shutdown)
    return session


def keyspace(session, prefix):
    """Creates a unique keyspace that is dropped when the test exits, pass or fail."""
    ks = f"{prefix}_{uuid.uuid4().hex[:10]}"
    session.execute(f"CREATE KEYSPACE {ks} WITH replication = "
                    "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    _cleanups.append(lambda: session.execute(f"DROP KEYSPACE IF EXISTS {ks}", timeout=120))
    return ks


def rtetl(*args, stdin=None, timeout=120):
    """Runs `rtetl ARGS`; returns (exit code, stdout, stderr) as bytes."""
    p = subprocess.run([BIN, *args], input=stdin, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def driver(*args, timeout=300):
    p = subprocess.run([DRIVER, *args], capture_output=True, timeout=timeout, text=True)
    sys.stdout.write(p.stdout)
    sys.stdout.write(p.stderr)
    return p.returncode, p.stdout
