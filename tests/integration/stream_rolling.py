"""Three `rtetl stream` members of one consumer group under rolling restarts and a kill -9
(issue #14), on the shared single-node stack.

300 keys x 60 versions of the user record are produced by confluent-kafka, keyed by id (one
version of every key per round, in a shuffled order), at a steady rate into a 6-partition
topic while the members run. Each member logs its partitions and serves /metrics; the test
checks that the three together own the six partitions, each exactly once, and that each
member's /metrics has a lag series for exactly the partitions its log says it owns. Then each
member in turn is stopped with SIGTERM (it must exit 0) and started again, and one is killed
with SIGKILL and started again, all while records flow. When production is over and the
group's committed offsets reach the end of every partition, every key must hold its last
version (0 lost, 0 stale: read with the official Python driver).
"""
import json
import os
import random
import re
import signal
import sys
import threading
import time
import traceback
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from rtetl_testlib import (BIN, BROKERS, FIELDS, Procs, cassandra_session, check, check_true,
                           committed_lag, create_topic, drop_keyspace, finish, kafka_producer, log,
                           produce, unique, wait_for)

KEYS = int(os.environ.get("RTETL_ROLLING_KEYS", "300"))
VERSIONS = int(os.environ.get("RTETL_ROLLING_VERSIONS", "60"))
SECONDS = float(os.environ.get("RTETL_ROLLING_SECONDS", "40"))  # production time
PARTITIONS = 6
MEMBERS = ("a", "b", "c")
topic, group, keyspace = unique("rolling"), unique("g_rolling"), unique("ks_rolling")


def record(k, v):
    rec = {f: f"{f}-{k}" for f in FIELDS}
    rec.update(id=f"k{k:04d}", username=f"v{v}", email=f"user{k}@example.com")
    return rec


def producer_thread(state):
    """One round (every key once, shuffled) per SECONDS / VERSIONS seconds."""
    try:
        p, rnd = kafka_producer(), random.Random(14)
        t0 = time.monotonic()
        for v in range(1, VERSIONS + 1):
            order = list(range(KEYS))
            rnd.shuffle(order)
            produce(topic, [json.dumps(record(k, v)).encode() for k in order],
                    keys=[f"k{k:04d}".encode() for k in order], producer=p)
            state["versions"] = v
            time.sleep(max(0.0, t0 + v * SECONDS / VERSIONS - time.monotonic()))
    except Exception as e:  # reported by the main thread
        state["error"] = repr(e)


def owned(text):
    """Partitions a member owns now, from its log (assigned adds, revoked removes)."""
    parts = set()
    for m in re.finditer(r'msg="partitions (assigned|revoked)" partitions=([0-9,]*)', text):
        got = {int(x) for x in m.group(2).split(",") if x}
        parts = parts | got if m.group(1) == "assigned" else parts - got
    return parts


def metrics_parts(text):
    """Partitions with a lag series in the member's /metrics, or None when it does not answer."""
    m = re.search(r'msg="serving metrics" addr=127\.0\.0\.1:(\d+)', text)
    if not m:
        return None
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{m.group(1)}/metrics", timeout=5) as r:
            body = r.read().decode()
    except OSError:
        return None
    return {int(p) for p in re.findall(r'rtetl_stream_partition_lag\{[^}]*partition="(\d+)"', body)}


class Group:
    def __init__(self, procs):
        self.procs, self.runs, self.live = procs, {}, {}

    def start(self, name):
        n = self.runs.get(name, 0) + 1
        self.runs[name] = n
        self.live[name] = self.procs.start(f"{name}{n}", [
            BIN, "stream", "--mode", "initial", "--topic", topic, "--group", group, "--keyspace",
            keyspace, "--brokers", BROKERS, "--metrics-port", "0", "--status-interval", "1s",
            # A killed member leaves the group when its session times out: the broker's
            # minimum (6 s) gives its partitions back soon.
            "-X", "session.timeout.ms=6000"])

    def balanced(self):
        """True when every live member owns partitions, together all of them once, and each
        member's /metrics shows exactly the partitions its log says it owns."""
        seen = []
        for name, p in self.live.items():
            if p.poll() is not None:
                raise RuntimeError(f"member {name} exited with {p.returncode}")
            text = self.procs.output(p)
            mine = owned(text)
            if not mine or metrics_parts(text) != mine:
                return False
            seen.append(mine)
        union = set().union(*seen)
        return union == set(range(PARTITIONS)) and sum(len(s) for s in seen) == PARTITIONS

    def wait_balanced(self, what):
        wait_for(what, self.balanced, timeout=180, interval=0.5)


def main():
    create_topic(topic, PARTITIONS)
    state = {"versions": 0}
    with Procs() as procs:
        g = Group(procs)
        for name in MEMBERS:
            g.start(name)
        g.wait_balanced("three members to share the six partitions")
        check_true("three members share the partitions; each one's /metrics lists its own", True)
        prod = threading.Thread(target=producer_thread, args=(state,), daemon=True)
        prod.start()

        # Rolling restart: SIGTERM each member in turn (a clean exit: 0), start it again.
        for name in MEMBERS:
            wait_for("records to flow", lambda: state["versions"] > 0 or "error" in state, 60)
            p = g.live.pop(name)
            rc = procs.stop(p, signal.SIGTERM, timeout=90)
            check(f"rolling restart: member {name} exits 0 after SIGTERM", 0, rc)
            g.start(name)
            g.wait_balanced(f"the group to rebalance after restarting {name}")
        # One kill -9 while records flow, and a restart.
        p = g.live.pop("b")
        procs.stop(p, signal.SIGKILL)
        g.start("b")
        g.wait_balanced("the group to rebalance after the kill -9")
        check_true("the group rebalanced after each restart and the kill -9", True)

        prod.join(timeout=SECONDS * 4 + 120)
        check_true("the producer finished", not prod.is_alive() and "error" not in state,
                   state.get("error", "still running"))
        wait_for("the group's committed offsets at the end of every partition",
                 lambda: committed_lag(group, topic, PARTITIONS) == 0, timeout=300, interval=1)
        for name, p in list(g.live.items()):
            check(f"member {name} exits 0 at the end", 0, procs.stop(p, signal.SIGTERM, 90))
        for name in MEMBERS:
            logs = "".join(procs.output(p) for p in procs.procs if p.name.startswith(name))
            check_true(f"member {name} logged its partitions", 'msg="partitions assigned"' in logs)

    cluster, s = cassandra_session(keyspace)
    try:
        rows = {r.id: r.username for r in s.execute("SELECT id, username FROM tb_usuarios",
                                                     timeout=120)}
    finally:
        cluster.shutdown()
    missing = [f"k{k:04d}" for k in range(KEYS) if f"k{k:04d}" not in rows]
    stale = sorted(k for k, v in rows.items() if v != f"v{VERSIONS}")
    log(f"{len(rows)} rows, {len(missing)} missing, {len(stale)} stale, e.g. "
        f"{[(k, rows[k]) for k in stale[:5]]}")
    check("every key present (0 lost)", [], missing[:5])
    check("every key at its last version (0 stale)", 0, len(stale))


try:
    main()
except Exception:
    traceback.print_exc()
    check_true("the test ran to the end", False)
finally:
    drop_keyspace(keyspace)
    finish()
