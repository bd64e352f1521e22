"""Kafka broker failover without loss (issue #14): the leader of some partitions is killed with
kill -9 mid-run and restarted, while `rtetl ingest` (idempotent producer, acks=all) and an
updater (confluent-kafka, idempotent, acks=all: UPD_KEYS keys x UPD_VERSIONS versions each, so
"a key's last record" means something) produce into a topic with replication factor 3 and
min.insync.replicas 2, and one `rtetl stream` writes it to Cassandra (RF 1 over the 2 nodes).

Checked afterwards, against the topic itself (read whole with kcat) and the table (read with the
official cassandra-driver): ingest delivered all of its records and none twice (idempotence);
every key of the topic has exactly one row, equal to the key's last record in its partition
(0 lost, 0 stale); the stream kept writing while the broker was down and exited 0 on SIGTERM
after catching up (committed lag 0).
"""
import json
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import rtetl_testlib as tl  # noqa: E402
from clusterlib import cleanup, create_rf3_topic, kill_node  # noqa: E402

N_INGEST = int(os.environ.get("RTETL_FAILOVER_ROWS", "15000"))
RATE = 1000  # records/s of ingest: the run lasts ~N_INGEST/RATE s, the kill lands inside it
UPD_KEYS, UPD_VERSIONS = 300, 20
STATE = os.environ["RTETL_STACK_DIR"]
STACK = os.path.join(tl.SRC, "scripts", "stack")
CONTACTS = os.environ["STACK_CQL_CONTACT_POINTS"]
KS = tl.unique("it_kfail")
TOPIC, GROUP, TABLE = KS, KS + "_g", "t"


def leaders(a):
    md = a.list_topics(TOPIC, timeout=30)
    return {p.id: p.leader for p in md.topics[TOPIC].partitions.values()}


def updater(errors):
    """UPD_KEYS keys, UPD_VERSIONS versions each, paced over ~the ingest's duration."""
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": tl.BROKERS, "enable.idempotence": True, "acks": "all",
                  "message.timeout.ms": 300000})
    pause = (N_INGEST / RATE) / UPD_VERSIONS
    for v in range(UPD_VERSIONS):
        for k in range(UPD_KEYS):
            row = {f: f"{f}-{k}-v{v}" for f in tl.FIELDS}
            row["id"], row["email"] = f"upd-{k:04d}", f"upd{k}.v{v}@example.com"
            p.produce(TOPIC, key=row["id"].encode(), value=json.dumps(row).encode(),
                      on_delivery=lambda err, msg: err and errors.append(str(err)))
        p.poll(0)
        time.sleep(pause)
    left = p.flush(300)
    if left:
        errors.append(f"{left} updates not delivered")


def lag_is_zero():
    """Whether the group's committed lag is 0; False while the probe itself fails: right after
    the broker's restart the group coordinator moves, and asking the old one answers
    NOT_COORDINATOR until the client's metadata catches up."""
    from confluent_kafka import KafkaException
    try:
        return tl.committed_lag(GROUP, TOPIC, 3) == 0
    except KafkaException as e:
        tl.log(f"lag probe: {e}; retrying")
        return False


def main():
    a = create_rf3_topic(TOPIC)
    from cassandra.cluster import Cluster
    cluster = Cluster([c.split(":")[0] for c in CONTACTS.split(",")], port=tl.CQL_PORT)
    s = cluster.connect()
    s.execute(f"CREATE KEYSPACE {KS} WITH replication = {{'class': 'NetworkTopologyStrategy', 'dc1': 1}}")
    # The table is rtetl stream's to create (create_if_missing): its CREATE TABLE reaches one
    # node and its PREPARE may reach the other, which must know the table by then (the stream
    # waits for schema agreement in between).
    try:
        with tl.Procs() as procs:
            stream = procs.start("stream", [tl.BIN, "stream", "--brokers", tl.BROKERS, "--topic", TOPIC,
                                            "--group", GROUP, "--mode", "initial", "--keyspace", KS,
                                            "--table", TABLE, "--cassandra", CONTACTS,
                                            "--status-interval", "1s"])
            ingest = procs.start("ingest", [tl.BIN, "ingest", "--brokers", tl.BROKERS, "--topic", TOPIC,
                                            "--no-create-topic", "--count", str(N_INGEST), "--rate",
                                            str(RATE), "--progress-interval", "2s"])
            errors = []
            upd = threading.Thread(target=updater, args=(errors,))
            upd.start()
            tl.wait_for("the stream to write a first quarter", lambda: tl.progress(procs, stream) >= N_INGEST // 4
                        or stream.poll() is not None, timeout=180)
            if stream.poll() is not None:
                raise RuntimeError(f"rtetl stream exited {stream.returncode} early:\n{procs.output(stream)[-3000:]}")
            before = leaders(a)
            victim = before[0]
            led = sorted(p for p, b in before.items() if b == victim)
            t_kill = time.monotonic()
            pid = kill_node(STATE, f"kafka{victim}")
            at_kill = tl.progress(procs, stream)
            tl.log(f"killed broker {victim} (pid {pid}), leader of partitions {led}, at {at_kill} rows written")
            # The controller fences a broker that stopped heartbeating after
            # broker.session.timeout.ms (9 s by default), then elects new leaders from the ISR.
            after = tl.wait_for("new leaders for the killed broker's partitions", lambda: (
                lambda now: now if all(now[p] not in (victim, -1) for p in led) else None)(leaders(a)),
                timeout=90, interval=0.5)
            t_failover = time.monotonic() - t_kill
            at_failover = tl.progress(procs, stream)
            tl.log(f"leaders {before} -> {after} after {t_failover:.1f} s")
            # 2,000 more rows, or every record when fewer were left to produce (a slow fencing
            # on a loaded box can outlast the production).
            everything = N_INGEST + UPD_KEYS * UPD_VERSIONS
            tl.wait_for("the stream to go on writing after the failover",
                        lambda: tl.progress(procs, stream) >= min(at_failover + 2000, everything)
                        or stream.poll() is not None, timeout=120)
            during = tl.progress(procs, stream) - at_kill
            t0 = time.monotonic()
            subprocess.run([STACK, "up"], check=True, timeout=600, stdin=subprocess.DEVNULL)
            tl.log(f"broker {victim} down {t0 - t_kill:.1f} s (stream wrote {during} rows meanwhile); "
                   f"restarted and ready in {time.monotonic() - t0:.1f} s")
            tl.check_true("stream kept writing while the broker was down (2000 rows after the "
                          "failover, or every record)",
                          tl.progress(procs, stream) >= min(at_failover + 2000, everything),
                          str(during))
            rc = ingest.wait(timeout=600)
            upd.join(600)
            out = procs.output(ingest)
            summary = [ln for ln in out.splitlines() if "delivered=" in ln][-1:]
            tl.log(f"ingest: {summary}")
            tl.check("rtetl ingest exit status", 0, rc)
            m = re.search(r"\bdelivered=(\d+)", summary[0] if summary else "")
            tl.check("rtetl ingest delivered", N_INGEST, int(m.group(1)) if m else None)
            tl.check("updater delivery errors", [], errors[:3])
            tl.wait_for("the stream to catch up (committed lag 0)",
                        lambda: lag_is_zero() or stream.poll() is not None, timeout=300)
            rc = procs.stop(stream)
            tl.check("rtetl stream exit status on SIGTERM", 0, rc)
            if rc != 0:
                tl.log(procs.output(stream)[-3000:])
        last, ingest_ids, total = {}, [], 0
        for _, value in tl.kcat_records(TOPIC):
            rec = json.loads(value)
            total += 1
            last[rec["id"]] = rec
            if not rec["id"].startswith("upd-"):
                ingest_ids.append(rec["id"])
        tl.check("topic: ingest records, none twice (idempotent producer)", (N_INGEST, N_INGEST),
                 (len(ingest_ids), len(set(ingest_ids))))
        tl.check("topic: updater records", UPD_KEYS * UPD_VERSIONS, total - len(ingest_ids))
        rows = {r.id: r._asdict() for r in s.execute(f"SELECT * FROM {KS}.{TABLE}", timeout=120)}
        tl.check("rows == keys of the topic (0 lost)", len(last), len(rows))
        missing = [k for k in last if k not in rows]
        stale = [k for k, rec in last.items() if k in rows and any(
            rows[k][f] != rec[f] for f in tl.FIELDS)]
        tl.check("keys missing from the table", [], missing[:5])
        tl.check("rows not at their key's last record (stale)", [], stale[:5])
        tl.check_true("updater keys end at their last version", all(
            rows.get(f"upd-{k:04d}", {}).get("first_name") == f"first_name-{k}-v{UPD_VERSIONS - 1}"
            for k in range(UPD_KEYS)))
    finally:
        cleanup(cluster, s, KS, TOPIC)
    tl.finish()


if __name__ == "__main__":
    main()
