"""Crash safety of `rtetl stream` on the real stack.

200,000 records in a 4-partition topic. The stream process is killed with SIGKILL three times
at different points and restarted; during later runs Cassandra is restarted once and Kafka once
(through scripts/stack, which stops them by their PID files). A last run drains the rest. Then
every record whose email has '@' must be in the table exactly as produced (Python driver), and
the group's committed offsets must be at the end of every partition.
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from rtetl_testlib import (BIN, BROKERS, FIELDS, SRC, Procs, cassandra_session, check,
                           check_true, create_topic, drop_keyspace, expected_rows, finish,
                           kcat_payloads, log, rtetl, status_counts, unique, wait_for)

N = int(os.environ.get("RTETL_CRASH_RECORDS", "200000"))
topic = unique("crash")
keyspace = unique("ks_crash")
group = unique("g_crash")
STACK = os.path.join(SRC, "scripts", "stack")


def count_rows():
    cluster, s = cassandra_session(keyspace)
    try:
        return s.execute("SELECT count(*) FROM tb_usuarios", timeout=120).one()[0]
    finally:
        cluster.shutdown()


def safe_count():
    try:
        return count_rows()
    except Exception:
        return -1


def stream_args():
    return [BIN, "stream", "--mode", "initial", "--topic", topic, "--group", group,
            "--keyspace", keyspace, "--brokers", BROKERS, "--status-interval", "2s",
            "--max-inflight", "1024"]


def stack(*args):
    subprocess.run([STACK, *args], check=True, timeout=400)


try:
    create_topic(topic, 4)
    rtetl("ingest", "--source", "builtin", "--count", str(N), "--seed", "11", "--topic", topic,
          "--brokers", BROKERS, "--quiet")
    payloads = kcat_payloads(topic)
    check("topic holds every record", N, len(payloads))
    want = expected_rows(payloads)

    with Procs() as procs:
        # Three hard kills at growing row counts.
        for i, at in enumerate((N // 10, N // 4, N // 2)):
            p = procs.start(f"stream-kill{i}", stream_args())
            wait_for(f"{at} rows before kill {i}", lambda: safe_count() >= at or p.poll() is not None,
                     timeout=300, interval=0.5)
            check(f"stream alive before kill {i}", None, p.poll())
            p.send_signal(signal.SIGKILL)
            p.wait()
            log(f"killed stream at ~{at} rows")

        # Cassandra restart in the middle of a run: the stream must ride it out.
        p = procs.start("stream-cassandra", stream_args())
        before = safe_count()
        wait_for("progress", lambda: safe_count() > before + 5000 or p.poll() is not None,
                 timeout=300, interval=0.5)
        stack("restart", "cassandra")
        wait_for("writes resume after the Cassandra restart",
                 lambda: safe_count() > before + 15000 or p.poll() is not None, timeout=300,
                 interval=1)
        check("stream survived the Cassandra restart", None, p.poll())

        # Kafka restart in the middle of the same run.
        stack("restart", "kafka")
        c0 = safe_count()
        wait_for("writes resume after the Kafka restart",
                 lambda: safe_count() > c0 or len(want) == safe_count() or p.poll() is not None,
                 timeout=300, interval=1)
        check("stream survived the Kafka restart", None, p.poll())
        rc = procs.stop(p)
        check("graceful stop exits 0", 0, rc)

        # Last run: drain whatever is left, then stop when idle.
        p = procs.start("stream-final", stream_args() + ["--idle-exit", "5s"])
        rc = p.wait(timeout=900)
        check("final run exits 0", 0, rc)
        counts = status_counts(procs.output(p))
        log(f"final run counters: {counts}")

    cluster, s = cassandra_session(keyspace)
    rows = {r.id: {f: getattr(r, f) for f in FIELDS}
            for r in s.execute("SELECT * FROM tb_usuarios", timeout=300)}
    cluster.shutdown()
    check("no record missing", 0, len(set(want) - set(rows)))
    check("no unexpected row", 0, len(set(rows) - set(want)))
    check("no record corrupted", [], [k for k in want if k in rows and rows[k] != want[k]][:5])

    g = subprocess.run([STACK, "groups", "--describe", "--group", group], capture_output=True,
                       text=True, timeout=180)
    lags = [ln.split() for ln in g.stdout.splitlines() if ln.split()[1:2] == [topic]]
    check("committed offset on every partition", 4, len(lags))
    check("committed offsets at the end of each partition", ["0"] * len(lags),
          [cols[5] if len(cols) > 5 else "?" for cols in lags])
finally:
    drop_keyspace(keyspace)
finish()
