"""A Cassandra node killed mid-run with replication factor 2 (issue #14).

The keyspace has NetworkTopologyStrategy {'dc1': 2} over the 2 nodes: every row lives on both.
An updater (confluent-kafka, idempotent, acks=all) produces keyed updates (UPD_KEYS keys, a new
version of each every round, so "a key's last record" means something) into a topic with
replication factor 3, and two `rtetl stream` consume it in two groups, one per consistency
level given in its pipeline (target.consistency), each into its own table. Mid-run the node that
holds both streams' control connection (the first contact point) is killed with kill -9 (by the
PID scripts/stack records) and restarted with `scripts/stack up`, so the cluster is whole again
afterwards. One outage serves both levels (a Cassandra restart is the slow part of the test).

- ONE: the stream goes on writing through the survivor while the node is down.
- QUORUM (2 of 2 replicas): while the node is down the writes fail (Unavailable once the
  survivor's failure detector has convicted the node, WriteTimeout before): rtetl retries them
  with backoff, writes nothing, dead-letters nothing, and resumes when the node is back.

Evidence that rtetl noticed the node going down and up, from its side: its log lines (host
DOWN/UP) and /metrics (rtetl_cassandra_hosts_up, per host up and requests sent: none to the node
while it is down, some again after it is back). From the server side: the restarted node's
system_views.coordinator_write_latency (in memory, so it counts from its restart) grows for
both tables while rtetl writes after the restart, i.e. rtetl routes to it again.

Afterwards, read with the official cassandra-driver at consistency ALL: every key of the topic
has one row per table, equal to the key's last record (0 lost, 0 stale); the dead-letter topics
got nothing; both streams exit 0 on SIGTERM once caught up (committed lag 0).
"""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import rtetl_testlib as tl  # noqa: E402
from clusterlib import (Nodes, Stream, Updater, check_rows_at_all, cleanup,  # noqa: E402
                        create_rf3_topic, create_table, dlq_count, kill_node, last_records)

UPD_KEYS = 400
BURST = 15  # rounds produced at once while the node is down: ONE's write rate through one node
RATE = int(os.environ.get("RTETL_NODELOSS_RATE", "300"))  # records/s the updater produces
STATE = os.environ["RTETL_STACK_DIR"]
STACK = os.path.join(tl.SRC, "scripts", "stack")
CONTACTS = os.environ["STACK_CQL_CONTACT_POINTS"]
HOSTS = [c.split(":")[0] for c in CONTACTS.split(",")]
VICTIM, VICTIM_NAME = HOSTS[0], "cassandra1"  # the first contact point: the control connection's
VICTIM_ADDR = CONTACTS.split(",")[0]
KS = tl.unique("it_nodeloss")
TOPIC = KS
LEVELS = ("one", "quorum")


def start_stream(procs, level):
    """`rtetl stream` at consistency `level` into table t_<level>, retries capped at 2 s
    (default 10 s) so that the resume after the outage is quick to observe."""
    # At QUORUM every record in flight waits in backoff through the outage, and each retry is a
    # request the survivor refuses: fewer in flight keep that load (and the debug lines that
    # name each retry's reason) small on a 2-core box.
    q = level == "quorum"
    return Stream(procs, level, TOPIC, KS, f"t_{level}", CONTACTS,
                  yaml_edits={"consistency": level, "max": "2s"},
                  extra=["--max-inflight", "512"] if q else [],
                  env={"RTETL_LOG_LEVEL": "debug"} if q else None)


def retry_reasons(stream):
    """{reason: count} of the quorum stream's "write retry scheduled" debug lines."""
    out = {}
    for ln in stream.lines("write retry scheduled"):
        m = re.search(r'reason="([^"]*)"', ln)
        r = m.group(1) if m else "?"
        r = "unavailable" if "Cannot achieve consistency" in r else "timeout" if "timed out" in r.lower() else r[:60]
        out[r] = out.get(r, 0) + 1
    return out


def sample(streams):
    """{level: (victim up, requests to the victim, written, write retries)} of each stream."""
    out = {}
    for lv, s in streams.items():
        m = s.metrics()
        out[lv] = (sum(v for k, v in m.items() if k.startswith(
                       f'rtetl_cassandra_host_up{{host="{VICTIM_ADDR}",')),
                   sum(v for k, v in m.items() if k.startswith(
                       f'rtetl_cassandra_host_requests_total{{host="{VICTIM_ADDR}",')),
                   m.get('rtetl_stream_records_total{stage="written"}', 0),
                   m.get("rtetl_stream_write_retries_total", 0))
    return out


def outage(streams, upd, t):
    """Kills the victim and waits until both streams have noticed it and ONE has written through
    the survivor, QUORUM retried Unavailable writes; returns the sample taken then."""
    one, quorum = streams["one"], streams["quorum"]
    t["kill"] = time.monotonic()
    t["at_kill"] = sample(streams)
    pid = kill_node(STATE, VICTIM_NAME)
    tl.log(f"killed {VICTIM_NAME} ({VICTIM_ADDR}, pid {pid}) after {t['kill'] - t['start']:.1f} s")
    for s in streams.values():
        tl.wait_for(f"stream {s.name} to see the host down (hosts_up 1)",
                    lambda: s.m("rtetl_cassandra_hosts_up") == 1, timeout=30, interval=0.2)
        tl.wait_for(f"stream {s.name} to log {VICTIM_ADDR} DOWN",
                    lambda: s.lines(rf"cassandra host.*host={re.escape(VICTIM_ADDR)}.*DOWN"), timeout=30)
    t["detect"] = time.monotonic()
    down = sample(streams)
    # ONE: three more rounds of every key written while the node is down.
    tl.wait_for("stream one to go on writing through the survivor",
                lambda: one.written() >= down["one"][2] + 3 * UPD_KEYS, timeout=60, interval=0.2)
    # ONE's rate through the survivor alone: a burst of BURST rounds, written how fast.
    t0, w0, mark = time.monotonic(), one.written(), upd.produced
    upd.burst(BURST)
    tl.wait_for("the burst to be produced", lambda: upd.produced >= mark + BURST * UPD_KEYS, timeout=60)
    target = upd.produced
    tl.wait_for("stream one to write the burst through the survivor",
                lambda: one.written() >= target, timeout=90, interval=0.1)
    t["one_burst_rate"] = (one.written() - w0) / (time.monotonic() - t0)
    # QUORUM: Unavailable once the survivor has convicted the node (its failure detector takes
    # some seconds; before that the writes time out on the coordinator).
    tl.wait_for("stream quorum to retry writes failing as Unavailable",
                lambda: quorum.alive() and retry_reasons(quorum).get("unavailable", 0) > 0, timeout=90)
    t["unavailable"] = time.monotonic()
    unavailable, mark = sample(streams), upd.produced
    tl.wait_for("two more rounds produced while QUORUM cannot write",
                lambda: upd.produced >= mark + 2 * UPD_KEYS, timeout=30)
    return down, unavailable


def recovery(streams, nodes, t):
    """Restarts the victim with `scripts/stack up`, sampling the streams meanwhile: returns the
    sample from before the restart, the last one in which both still had the victim down (the
    restarting node may take mutations from its peer before rtetl can connect to it), and the
    restarted node's coordinator counts once both streams write through it again (checked from
    rtetl's side first, then from the server's)."""
    t["restart"] = t["last_down"] = time.monotonic()
    before = last_down = sample(streams)
    up = subprocess.Popen([STACK, "up"], stdin=subprocess.DEVNULL)
    try:
        while up.poll() is None:
            now = sample(streams)
            if all(v[0] == 0 for v in now.values()):
                last_down, t["last_down"] = now, time.monotonic()
            time.sleep(0.5)
    finally:
        if up.poll() is None:
            up.kill()
    tl.check("scripts/stack up exit status (the node restarted)", 0, up.wait())
    t["back"] = time.monotonic()
    tl.log(f"{VICTIM_NAME} down {t['restart'] - t['kill']:.1f} s before `scripts/stack up`, "
           f"which took {t['back'] - t['restart']:.1f} s")
    quorum = streams["quorum"]
    wq = quorum.written()
    req = {lv: s.host_requests(VICTIM_ADDR) for lv, s in streams.items()}
    for s in streams.values():
        tl.wait_for(f"stream {s.name} to see the host up again (hosts_up 2)",
                    lambda: s.m("rtetl_cassandra_hosts_up") == 2, timeout=60)
        tl.wait_for(f"stream {s.name} to send requests to {VICTIM_ADDR} again",
                    lambda: s.host_requests(VICTIM_ADDR) > req[s.name], timeout=60)
    tl.wait_for("stream quorum to resume writing", lambda: quorum.written() > wq + UPD_KEYS, timeout=60)
    t["resumed"] = time.monotonic()
    nodes.wait_all_up(len(HOSTS), timeout=90)
    # Server side: the restarted node coordinates writes of both tables again (its virtual
    # tables count from its restart).
    coord = tl.wait_for("the restarted node to coordinate rtetl's writes of both tables", lambda: (
        lambda c: c if all(c.values()) else None)(
            {s.table: nodes.table_count(VICTIM, "coordinator_write_latency", KS, s.table)
             for s in streams.values()}), timeout=60, interval=0.5)
    return before, last_down, coord


def check_rows(nodes, admin, streams):
    last, total = last_records(TOPIC)
    tl.check("topic: every key", UPD_KEYS, len(last))
    for s in streams.values():
        check_rows_at_all(nodes.s, KS, s.table, last, s.name)
        tl.check(f"{s.name}: dead-letter topic {s.dlq} records", 0, dlq_count(admin, s.dlq))
    return total


def main():
    t = {"start": time.monotonic()}
    admin = create_rf3_topic(TOPIC)
    nodes = Nodes(HOSTS)
    nodes.s.execute(f"CREATE KEYSPACE {KS} WITH replication = "
                    "{'class': 'NetworkTopologyStrategy', 'dc1': 2}")
    try:
        for lv in LEVELS:
            create_table(nodes.cluster, nodes.s, KS, f"t_{lv}")
        upd = Updater(TOPIC, UPD_KEYS, RATE)
        with tl.Procs() as procs:
            streams = {lv: start_stream(procs, lv) for lv in LEVELS}
            upd.start()
            try:
                for s in streams.values():
                    tl.wait_for(f"stream {s.name} to write two rounds through both nodes", lambda: (
                        s.written() >= 2 * UPD_KEYS and s.m("rtetl_cassandra_hosts_up") == 2
                        and s.host_requests(VICTIM_ADDR) > 0), timeout=120)
                down, unavailable = outage(streams, upd, t)
                before, last_down, coord = recovery(streams, nodes, t)
                reasons = retry_reasons(streams["quorum"])
            finally:
                upd.stop.set()
                upd.join(180)
            tl.check("updater delivery errors", [], upd.errors[:3])
            for s in streams.values():
                tl.wait_for(f"stream {s.name} to catch up (committed lag 0)",
                            s.caught_up, timeout=180)
            t["caught_up"] = time.monotonic()
            retries = streams["quorum"].m("rtetl_stream_write_retries_total")
            for s in streams.values():
                rc = procs.stop(s.p)
                tl.check(f"{s.name}: rtetl stream exit status on SIGTERM", 0, rc)
                final = tl.status_counts(s.out())
                tl.check(f"{s.name}: dead-lettered (final status)", 0, final.get("dead_lettered"))
                tl.check(f"{s.name}: consumed == written + filtered", final.get("consumed"),
                         (final.get("written") or 0) + (final.get("filtered") or 0))
                about = s.lines(rf"cassandra (host|topology).*host={re.escape(VICTIM_ADDR)}")
                tl.log(f"{s.name}: rtetl's lines about {VICTIM_ADDR}:\n  " + "\n  ".join(about))
                states = [re.search(r"state=(\w+) source=(\w+)", ln).groups() for ln in about
                          if "state=" in ln]
                first = states.index(("DOWN", "client")) if ("DOWN", "client") in states else len(states)
                tl.check_true(f"{s.name}: rtetl logged {VICTIM_ADDR} DOWN (its connections), then "
                              "UP (the server's event and its connections)",
                              {("UP", "server"), ("UP", "client")} <= set(states[first:]), str(states))
        total = check_rows(nodes, admin, streams)
        # Between rtetl marking the node down and the last sample with it still down.
        tl.check_true("one: wrote through the survivor while the node was down (>= 3 rounds)",
                      last_down["one"][2] - down["one"][2] >= 3 * UPD_KEYS, f"{down} {last_down}")
        tl.check("quorum: rows written from the first Unavailable until the restart", 0,
                 before["quorum"][2] - unavailable["quorum"][2])
        tl.check("requests sent to the dead node (per stream)", {lv: 0 for lv in LEVELS},
                 {lv: last_down[lv][1] - down[lv][1] for lv in LEVELS})
        retries_down = last_down["quorum"][3] - t["at_kill"]["quorum"][3]
        tl.check_true("quorum: retried while the node was down", retries_down > 0, str(retries_down))
        down_s = t["last_down"] - t["detect"]
        one_rows = last_down["one"][2] - down["one"][2]
        tl.log(f"FIGURES node loss: victim={VICTIM_NAME} records={total} keys={UPD_KEYS} rate={RATE}/s "
               f"test_s={time.monotonic() - t['start']:.1f} detect_s={t['detect'] - t['kill']:.2f} "
               f"unavailable_after_kill_s={t['unavailable'] - t['kill']:.1f} "
               f"down_seen_by_rtetl_s={down_s:.1f} restart_s={t['back'] - t['restart']:.1f} "
               f"quorum_resumed_after_back_s={t['resumed'] - t['back']:.1f} "
               f"caught_up_after_back_s={t['caught_up'] - t['back']:.1f} "
               f"one_rows_while_down={one_rows:.0f} one_rows_per_s_while_down={one_rows / down_s:.0f} "
               f"one_burst_rows_per_s_one_node={t['one_burst_rate']:.0f} "
               f"quorum_record_retries_while_down={retries_down:.0f} "
               f"quorum_record_retries_total={retries:.0f} quorum_retry_reasons={reasons} "
               f"victim_coordinated_after_restart={coord}")
    finally:
        cleanup(nodes.cluster, nodes.s, KS, TOPIC, [f"{TOPIC}.dlq_{lv}" for lv in LEVELS])
    tl.finish()


if __name__ == "__main__":
    main()
