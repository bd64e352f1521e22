"""Crash safety of `rtetl stream` on the real stack.

200,000 records go into a 4-partition topic at a steady 1,500/s from a background `rtetl
ingest`, so the stream works on a live flow whatever its own speed (a pre-loaded topic was
drained before the kills could land). The stream process is killed with SIGKILL three times at
different points (after 15,000, 25,000 and 30,000 writes of its own, read from its status line:
a count(*) over the growing table was too slow on a freshly started node to time the kills) and
restarted; during the next run Cassandra is restarted (through
scripts/stack, which stops it by its PID file). When production is over Kafka is restarted and
a second batch is produced after it, which the same stream process must consume. A last run
drains the rest. Then every record whose email has '@' must be in the table exactly as produced
(Python driver), and the group's committed offsets must be at the end of every partition.
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from rtetl_testlib import (BIN, BROKERS, FIELDS, SRC, Procs, cassandra_session, check,
                           check_true, create_topic, drop_keyspace, expected_rows, finish,
                           kcat_payloads, log, progress, rtetl, status_counts, unique, wait_for)

N = int(os.environ.get("RTETL_CRASH_RECORDS", "200000"))
RATE = 1500  # records/s of the background production: 133 s for the default N
AFTER = 20000  # records produced after the Kafka restart
topic = unique("crash")
keyspace = unique("ks_crash")
group = unique("g_crash")
STACK = os.path.join(SRC, "scripts", "stack")


def stream_args():
    return [BIN, "stream", "--mode", "initial", "--topic", topic, "--group", group,
            "--keyspace", keyspace, "--brokers", BROKERS, "--status-interval", "0.5s",
            "--max-inflight", "1024",
            # A killed member is only evicted when its session times out; the broker's minimum
            # (6 s, not librdkafka's 45 s) lets each restart get its partitions back soon.
            "-X", "session.timeout.ms=6000"]


def stack(*args):
    subprocess.run([STACK, *args], check=True, timeout=400)


try:
    create_topic(topic, 4)

    with Procs() as procs:
        producer = procs.start("ingest", [BIN, "ingest", "--source", "builtin", "--count", str(N),
                                          "--seed", "11", "--rate", f"{RATE}/s", "--topic", topic,
                                          "--brokers", BROKERS, "--quiet"])

        # Three hard kills, each after a number of writes of that process.
        for i, at in enumerate((15000, 25000, 30000)):
            p = procs.start(f"stream-kill{i}", stream_args())
            wait_for(f"{at} writes before kill {i}",
                     lambda: progress(procs, p) >= at or p.poll() is not None, timeout=300,
                     interval=0.2)
            check(f"stream alive before kill {i}", None, p.poll())
            p.send_signal(signal.SIGKILL)
            p.wait()
            log(f"killed stream after {at}+ writes")

        # Cassandra restart in the middle of a run: the stream must ride it out.
        check("production still running at the Cassandra restart", None, producer.poll())
        p = procs.start("stream-cassandra", stream_args())
        wait_for("progress", lambda: progress(procs, p) > 5000 or p.poll() is not None,
                 timeout=300, interval=0.2)
        before = progress(procs, p)
        stack("restart", "cassandra")
        wait_for("writes resume after the Cassandra restart",
                 lambda: progress(procs, p) > before + 10000 or p.poll() is not None, timeout=300,
                 interval=0.5)
        check("stream survived the Cassandra restart", None, p.poll())
        check("background production delivered everything", 0, producer.wait(timeout=600))

        # Kafka restart under the same run; records produced after it must still arrive.
        stack("restart", "kafka")
        c0 = progress(procs, p)
        rtetl("ingest", "--source", "builtin", "--count", str(AFTER), "--seed", "12", "--topic",
              topic, "--brokers", BROKERS, "--quiet")
        payloads = kcat_payloads(topic)
        check("topic holds every record", N + AFTER, len(payloads))
        want = expected_rows(payloads)
        wait_for("writes resume after the Kafka restart",
                 lambda: progress(procs, p) > c0 or p.poll() is not None, timeout=300,
                 interval=0.5)
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
