"""Two `rtetl stream` processes in one consumer group on a 4-partition topic."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from rtetl_testlib import (BIN, BROKERS, SRC, Procs, cassandra_session, check, check_true,
                           create_topic, drop_keyspace, expected_rows, finish, kcat_payloads, log,
                           rtetl, status_counts, unique, wait_for)

N = 60000
topic = unique("grp")
keyspace = unique("ks_grp")
group = unique("g_grp")


def assigned(text):
    """Partitions currently assigned according to a stream's log (assign adds, revoke removes)."""
    owned = set()
    for line in text.splitlines():
        m = re.search(r'msg="partitions (assigned|revoked)" partitions=([0-9,]+)', line)
        if not m:
            continue
        parts = {int(x) for x in m.group(2).split(",")}
        owned = owned | parts if m.group(1) == "assigned" else owned - parts
    return owned


def count_rows():
    cluster, s = cassandra_session(keyspace)
    try:
        return s.execute("SELECT count(*) FROM tb_usuarios", timeout=120).one()[0]
    except Exception:
        return -1
    finally:
        cluster.shutdown()


try:
    create_topic(topic, 4)
    args = [BIN, "stream", "--mode", "initial", "--topic", topic, "--group", group, "--keyspace",
            keyspace, "--brokers", BROKERS, "--status-interval", "1s"]
    with Procs() as procs:
        a = procs.start("stream-a", args)
        wait_for("A owns all 4 partitions", lambda: len(assigned(procs.output(a))) == 4, 120)
        # A steady stream, so that B joins while A has writes in flight: A's revoked partitions
        # are drained, then handed over.
        ing = procs.start("ingest", [BIN, "ingest", "--source", "builtin", "--count", str(N),
                                     "--seed", "5", "--topic", topic, "--brokers", BROKERS,
                                     "--rate", "4000/s", "--quiet"])
        wait_for("A is writing", lambda: count_rows() >= 3000, 300, 0.2)
        b = procs.start("stream-b", args)
        wait_for("A and B share the partitions",
                 lambda: assigned(procs.output(a)) and assigned(procs.output(b)) and
                 assigned(procs.output(a)) | assigned(procs.output(b)) == {0, 1, 2, 3} and
                 not assigned(procs.output(a)) & assigned(procs.output(b)), 120)
        log(f"A owns {sorted(assigned(procs.output(a)))}, B owns {sorted(assigned(procs.output(b)))}")
        check_true("both members own partitions", assigned(procs.output(a)) and assigned(procs.output(b)))
        check("ingest delivers everything", 0, ing.wait(timeout=300))
        payloads = kcat_payloads(topic)
        want = expected_rows(payloads)
        wait_for("every row written", lambda: count_rows() >= len(want), 300, 0.5)

        check("A stops cleanly", 0, procs.stop(a))
        wait_for("B takes over every partition", lambda: assigned(procs.output(b)) == {0, 1, 2, 3}, 120)
        rtetl("ingest", "--source", "builtin", "--count", "10000", "--seed", "6", "--topic", topic,
              "--brokers", BROKERS, "--quiet")
        payloads = kcat_payloads(topic)
        want = expected_rows(payloads)
        wait_for("all rows written", lambda: count_rows() == len(want), 300, 0.5)
        check("B stops cleanly", 0, procs.stop(b))
        ca, cb = status_counts(procs.output(a)), status_counts(procs.output(b))
        log(f"A wrote {ca.get('written')}, B wrote {cb.get('written')}")
        check_true("A wrote records", ca.get("written", 0) > 0)
        check_true("B wrote records", cb.get("written", 0) > 0)

    check("table holds every kept record", len(want), count_rows())
    g = subprocess.run([os.path.join(SRC, "scripts", "stack"), "groups", "--describe", "--group",
                        group], capture_output=True, text=True, timeout=180)
    lags = [ln.split() for ln in g.stdout.splitlines() if ln.split()[1:2] == [topic]]
    check("committed offsets at the end of each partition", ["0"] * 4,
          [cols[5] if len(cols) > 5 else "?" for cols in lags])
finally:
    drop_keyspace(keyspace)
finish()
