"""A stop while the Kafka broker does not answer ends in bounded time and loses nothing.

librdkafka 2.0's rd_kafka_consumer_close waits for the group coordinator without bound, and its
rd_kafka_query_watermark_offsets (the consumer's fetch wake-up) can block past its timeout when
the broker stops answering: `rtetl stream` stopped with SIGTERM then never exited (measured:
still running after 150 s). Here the stack's broker is frozen with SIGSTOP (a broker that
accepts connections and answers nothing, as a hung JVM would) while a stream is mid-run; the
stream gets SIGTERM and must exit within the bound (the offsets' commit 10 s, the group close
20 s in all, a blocked wake-up query 6 s more), saying that it left without closing. Then the
broker is continued and a second run in the same group finishes the topic: every key is in
Cassandra with its last version (read with the official driver), so the commit that could not
be made lost nothing; the records after the last commit were written again.
"""
import json
import os
import signal
import subprocess
import time

from rtetl_testlib import (BIN, BROKERS, FIELDS, STACK_DIR, Procs, cassandra_session, check,
                           check_true, committed_lag, create_topic, delete_topics, drop_keyspace,
                           finish, log, pipeline_yaml, produce, progress, status_counts, unique,
                           wait_for)

KEYS, VERSIONS, PARTS = 1500, 4, 2
N = KEYS * VERSIONS
STOP_BOUND_S = 60  # what the test allows the stop: 36 s by the code's bounds, and slack
topic, keyspace, group = unique("frozen"), unique("ks_frozen"), unique("g_frozen")


def broker_pid():
    with open(os.path.join(STACK_DIR, "kafka.pid")) as f:
        return int(f.read().split()[0])


def record(k, v):
    rec = {f: f"{f}-{k}" for f in FIELDS}
    rec.update(id=f"k{k:05d}", username=f"v{v}", email=f"user{k}@example.com")
    return rec


def broker_answers():
    from confluent_kafka.admin import AdminClient
    try:
        AdminClient({"bootstrap.servers": BROKERS}).list_topics(topic, timeout=5)
        return True
    except Exception:  # noqa: BLE001 - retried by the wait
        return False


def args(yaml, *extra):
    # A small in-flight limit keeps the first run busy for a while; the broker's minimum session
    # timeout lets the second run take the partitions soon after the first left without a
    # LeaveGroup.
    return [BIN, "stream", "--config", yaml, "--group", group, "--brokers", BROKERS,
            "--max-inflight", "2", "--batch-rows", "1", "--status-interval", "0.2s",
            "-X", "session.timeout.ms=6000", *extra]


create_topic(topic, PARTS)
produce(topic, [json.dumps(record(k, v)).encode() for v in range(1, VERSIONS + 1)
                for k in range(KEYS)],
        keys=[f"k{k:05d}".encode() for v in range(1, VERSIONS + 1) for k in range(KEYS)])
log(f"produced {N} records ({KEYS} keys x {VERSIONS} versions) to {topic}")
pid = broker_pid()
frozen = False
try:
    with Procs() as procs:
        yaml = pipeline_yaml(os.path.join(procs.tmp, "t.yaml"), topic, keyspace, "t")
        p = procs.start("first", args(yaml))
        wait_for("1,000 writes", lambda: progress(procs, p) >= 1000 or p.poll() is not None,
                 timeout=120, interval=0.1)
        written = progress(procs, p)
        check_true("the first run is mid-topic when the broker freezes", p.poll() is None
                   and written < N, f"written {written} of {N}, exit {p.poll()}")
        os.kill(pid, signal.SIGSTOP)
        frozen = True
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(timeout=STOP_BOUND_S)
        except subprocess.TimeoutExpired:
            rc = None
        took = time.monotonic() - t0
        os.kill(pid, signal.SIGCONT)
        frozen = False
        out = procs.output(p)
        log(f"the first run, stopped with the broker frozen: exit {rc} after {took:.1f} s, "
            f"final {status_counts(out)}")
        check_true(f"it exits within {STOP_BOUND_S} s of SIGTERM", rc is not None,
                   f"still running; its last lines:\n{out[-3000:]}")
        check("it exits 0 (the stop was asked for)", 0, rc)
        check_true("it says it left the group without closing",
                   "the group close did not finish in time" in out, out[-3000:])

        wait_for("the broker to answer again", broker_answers, timeout=120, interval=1)
        q = procs.start("second", args(yaml))
        wait_for("the group's commits at the end of the topic",
                 lambda: committed_lag(group, topic, PARTS) == 0 or q.poll() is not None,
                 timeout=240, interval=0.5)
        check("the second run commits the end of every partition", 0,
              committed_lag(group, topic, PARTS))
        rc2 = procs.stop(q)
        log(f"the second run: exit {rc2}, final {status_counts(procs.output(q))}")
        check("the second run exits 0", 0, rc2)
    cluster, session = cassandra_session()
    try:
        rows = {r.id: r.username for r in session.execute(
            f"SELECT id, username FROM {keyspace}.t", timeout=60)}
    finally:
        cluster.shutdown()
    check("every key is in Cassandra", KEYS, len(rows))
    stale = sorted(k for k, u in rows.items() if u != f"v{VERSIONS}")
    check(f"every key holds its last version (v{VERSIONS})", [], stale[:5])
finally:
    if frozen:
        os.kill(pid, signal.SIGCONT)
    drop_keyspace(keyspace)
    delete_topics(topic, topic + ".dlq")
finish()
