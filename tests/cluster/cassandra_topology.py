"""A Cassandra node added to and decommissioned from a running cluster under load, and the
routing proof at replication factor 2 over 3 nodes (issue #14).

The keyspace has NetworkTopologyStrategy {'dc1': 2}. An updater (confluent-kafka, idempotent,
acks=all) produces keyed updates (KEYS keys, a new version of each every round) into a topic
with replication factor 3, and one `rtetl stream`, given only node 1 as contact point, writes
them at consistency ONE. While it runs:

1. Join: `scripts/stack up --cassandra-nodes 3` adds node 3, which bootstraps (streams the
   ranges it takes over). rtetl must learn of it from the server's TOPOLOGY event (its log line
   `cassandra topology change ... change=NEW_NODE`), refresh its token map and route writes to
   it: /metrics lists the host up with requests, and from the server's side node 3's
   system_views.coordinator_write_latency for the table grows.
2. Routing proof at RF 2 over 3 nodes (the updater paused and the stream caught up, so the
   cluster is quiet): N unique records produced with confluent-kafka are written by a second
   `rtetl stream` with one INSERT per record (--batch-rows 1). A write sent to one of its row's
   2 replicas costs 2 internode messages (the mutation to the other replica and its response);
   one sent to the third node costs 4 (a mutation to each replica, two responses). So the
   cluster's internode messages during the run (system_views.internode_outbound, each node's
   own count) are ~2 per row when every write goes to a replica; a control through the official
   driver with round-robin (not token-aware) routing must show ~2.67 per row, so the measure can
   fail. Each node's local writes (system_views.local_write_latency) equal the rows it is a
   replica of, by the server's token(id) and the driver's ring.
3. Leave: `scripts/stack decommission` takes node 3 out (nodetool decommission streams its
   ranges back). rtetl must log the server's REMOVED_NODE event and stop sending it requests.

Afterwards, read at consistency ALL with the official driver: every key has one row equal to its
last record (0 lost, 0 stale), the dead-letter topic got nothing, and the stream exits 0 on
SIGTERM once caught up. Node 3 is taken out again on any failure (scripts/stack decommission;
the shell wrapper does it too), so the tier's other tests find the 2-node cluster.
"""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import rtetl_testlib as tl  # noqa: E402
from clusterlib import (Nodes, Stream, Updater, check_rows_at_all, cleanup,  # noqa: E402
                        create_rf3_topic, create_table, dlq_count, last_records)

KEYS = 300
RATE = int(os.environ.get("RTETL_TOPOLOGY_RATE", "300"))  # records/s the updater produces
N = int(os.environ.get("RTETL_TOPOLOGY_ROWS", "6000"))  # rows of the routing proof
N_CONTROL = 3000
STACK = os.path.join(tl.SRC, "scripts", "stack")
CONTACTS = os.environ["STACK_CQL_CONTACT_POINTS"]
HOSTS = [c.split(":")[0] for c in CONTACTS.split(",")]
KS = tl.unique("it_topology")
TOPIC = KS
PROOF_TOPIC = KS + "_proof"


def stack(*args, timeout=600):
    """Runs scripts/stack ARGS; returns (exit status, seconds)."""
    t0 = time.monotonic()
    rc = subprocess.run([STACK, *args], stdin=subprocess.DEVNULL, timeout=timeout).returncode
    return rc, time.monotonic() - t0


def stack_contacts():
    out = subprocess.run([STACK, "env"], capture_output=True, text=True, check=True).stdout
    m = re.search(r"^STACK_CQL_CONTACT_POINTS=(\S+)", out, re.M)
    return m.group(1).split(",")


def replicas_per_node(nodes, table, hosts):
    """{node address: rows of table it is a replica of}, by the server's token(id) and the
    driver's ring."""
    from cassandra.metadata import Murmur3Token
    tm = nodes.cluster.metadata.token_map
    out = {a: 0 for a in hosts}
    for r in nodes.s.execute(f"SELECT token(id) AS t FROM {KS}.{table}", timeout=120):
        for h in tm.get_replicas(KS, Murmur3Token(r.t)):
            out[h.address] += 1
    return out


def internode(nodes, hosts):
    return {a: nodes.sent(a) for a in hosts}


def join(stream, nodes, figs):
    """Adds node 3 under load; returns its address."""
    before = set(HOSTS)
    rc, figs["join_s"] = stack("up", "--cassandra-nodes", str(len(HOSTS) + 1))
    tl.check("scripts/stack up --cassandra-nodes 3 exit status (node 3 joined)", 0, rc)
    new = [c for c in stack_contacts() if c.split(":")[0] not in before]
    tl.check("one new contact point", 1, len(new))
    addr, host = new[0], new[0].split(":")[0]
    tl.wait_for(f"rtetl to log the server's NEW_NODE event for {addr}",
                lambda: stream.lines(rf"cassandra topology change.*host={re.escape(addr)}.*NEW_NODE"),
                timeout=60)
    tl.wait_for(f"rtetl to connect to {addr} (rtetl_cassandra_host_up 1)",
                lambda: stream.host_metric("rtetl_cassandra_host_up", addr) == 1, timeout=60)
    tl.wait_for(f"rtetl to send requests to {addr}", lambda: stream.host_requests(addr) > 0,
                timeout=60)
    nodes.wait_all_up(len(HOSTS) + 1, timeout=90)
    nodes.hosts = {h.address: h for h in nodes.cluster.metadata.all_hosts()}
    coord = tl.wait_for("node 3 to coordinate rtetl's writes (its coordinator_write_latency)",
                        lambda: nodes.table_count(host, "coordinator_write_latency", KS, "t_keyed"),
                        timeout=60, interval=0.5)
    figs["node3_coordinated_after_join"] = coord
    return addr, host


def routing_proof(procs, nodes, hosts, figs):
    """RF 2 over 3 nodes, one INSERT per record: ~2 internode messages per row."""
    create_table(nodes.cluster, nodes.s, KS, "t_single")
    create_rf3_topic(PROOF_TOPIC)
    rows = []
    for i in range(N):
        row = {f: f"{f}-{i}" for f in tl.FIELDS}
        row["id"], row["email"] = f"user-{i:06d}", f"user{i}@example.com"
        rows.append(json.dumps(row).encode())
    tl.produce(PROOF_TOPIC, rows)
    sent0 = internode(nodes, hosts)
    t0 = time.monotonic()
    rc, out, st = tl.run_stream(procs, "stream-proof", PROOF_TOPIC, f"{KS}_proof", KS,
                                "--table", "t_single", "--cassandra", CONTACTS.split(",")[0],
                                "--batch-rows", "1")
    secs = time.monotonic() - t0
    tl.check("proof: rtetl stream exit status", 0, rc)
    tl.check("proof: records written", N, st.get("written"))
    sent = {a: v - sent0[a] for a, v in internode(nodes, hosts).items()}
    got = {r.id: r for r in nodes.s.execute(f"SELECT id, email FROM {KS}.t_single", timeout=120)}
    tl.check("proof: rows read back (cassandra-driver)", N, len(got))
    reps = replicas_per_node(nodes, "t_single", hosts)
    local = {a: nodes.table_count(a, "local_write_latency", KS, "t_single") for a in hosts}
    coord = {a: nodes.table_count(a, "coordinator_write_latency", KS, "t_single") for a in hosts}
    total = sum(sent.values())
    tl.log(f"FIGURES routing RF 2 over 3 nodes (rtetl, one INSERT per record): rows={N} "
           f"stream_s={secs:.1f} internode_per_row={total / N:.3f} " + " ".join(
               f"[{a} replica_of={reps[a]} local_writes={local[a]} coordinated={coord[a]} "
               f"internode_sent={sent[a]}]" for a in hosts))
    tl.check("proof: each row on 2 replicas (sum of replica counts)", 2 * N, sum(reps.values()))
    tl.check("proof: local writes per node == rows it is a replica of", reps, local)
    tl.check("proof: coordinated writes (one request per row)", N, sum(coord.values()))
    tl.check_true("proof: every node coordinated writes", all(coord[a] > 0 for a in hosts), str(coord))
    # 2 per row + gossip (a few per second per node); a third of the rows misrouted would add
    # 2 each (2.67 per row).
    tl.check_true("proof: internode messages <= 2.1 per row + gossip (every write went to a replica)",
                  total <= 2.1 * N + 4 * secs * len(hosts) + 30, f"{total} for {N} rows")
    figs["rtetl_internode_per_row"] = round(total / N, 3)

    # Control: the driver, round-robin over the 3 nodes: a third of the writes land on the
    # node that is not a replica.
    from cassandra.concurrent import execute_concurrent_with_args
    create_table(nodes.cluster, nodes.s, KS, "t_control")
    sent0 = internode(nodes, hosts)
    ins = nodes.s.prepare(f"INSERT INTO {KS}.t_control (id, email) VALUES (?, ?)")
    execute_concurrent_with_args(nodes.s, ins, [(f"c-{i}", "x@y") for i in range(N_CONTROL)],
                                 concurrency=32, execution_profile="rr")
    sent = {a: v - sent0[a] for a, v in internode(nodes, hosts).items()}
    total = sum(sent.values())
    tl.log(f"FIGURES routing control (driver, round-robin): rows={N_CONTROL} "
           f"internode_per_row={total / N_CONTROL:.3f} {sent}")
    tl.check_true("control: round-robin shows >= 2.4 internode messages per row",
                  total >= 2.4 * N_CONTROL, f"{total} for {N_CONTROL} rows")
    figs["control_internode_per_row"] = round(total / N_CONTROL, 3)


def leave(stream, addr, figs):
    """Decommissions node 3 under load."""
    rc, figs["decommission_s"] = stack("decommission")
    tl.check("scripts/stack decommission exit status (node 3 left)", 0, rc)
    tl.wait_for(f"rtetl to log the server's REMOVED_NODE event for {addr}",
                lambda: stream.lines(rf"cassandra topology change.*host={re.escape(addr)}.*REMOVED_NODE"),
                timeout=60)
    # No more requests to it: two more rounds written, its count unchanged.
    req, w = stream.host_requests(addr), stream.written()
    tl.wait_for("two more rounds written after the removal",
                lambda: stream.written() >= w + 2 * KEYS, timeout=60, interval=0.2)
    tl.check(f"requests sent to {addr} after its removal", req, stream.host_requests(addr))
    tl.check(f"{addr} not up in rtetl_cassandra_host_up", 0,
             stream.host_metric("rtetl_cassandra_host_up", addr))


def main():
    figs = {}
    t_start = time.monotonic()
    admin = create_rf3_topic(TOPIC)
    nodes = Nodes(HOSTS)
    nodes.s.execute(f"CREATE KEYSPACE {KS} WITH replication = "
                    "{'class': 'NetworkTopologyStrategy', 'dc1': 2}")
    grown = False
    try:
        create_table(nodes.cluster, nodes.s, KS, "t_keyed")
        upd = Updater(TOPIC, KEYS, RATE)
        with tl.Procs() as procs:
            stream = Stream(procs, "keyed", TOPIC, KS, "t_keyed", CONTACTS.split(",")[0],
                            yaml_edits={"consistency": "one"})
            upd.start()
            try:
                tl.wait_for("the stream to write two rounds", lambda: stream.written() >= 2 * KEYS,
                            timeout=120)
                grown = True
                addr, host = join(stream, nodes, figs)
                hosts = HOSTS + [host]
                upd.pause()
                tl.wait_for("the keyed stream to catch up before the proof", stream.caught_up,
                            timeout=120)
                routing_proof(procs, nodes, hosts, figs)
                upd.resume()
                w = stream.written()
                tl.wait_for("the stream to write two more rounds with node 3 in",
                            lambda: stream.written() >= w + 2 * KEYS, timeout=60)
                leave(stream, addr, figs)
                grown = False
            finally:
                upd.stop.set()
                upd.join(180)
            tl.check("updater delivery errors", [], upd.errors[:3])
            tl.wait_for("the stream to catch up (committed lag 0)", stream.caught_up, timeout=180)
            rc = procs.stop(stream.p)
            tl.check("rtetl stream exit status on SIGTERM", 0, rc)
            final = tl.status_counts(stream.out())
            tl.check("dead-lettered (final status)", 0, final.get("dead_lettered"))
            tl.check("consumed == written + filtered", final.get("consumed"),
                     (final.get("written") or 0) + (final.get("filtered") or 0))
            about = stream.lines(rf"cassandra (host|topology).*host={re.escape(addr)}")
            tl.log(f"rtetl's lines about {addr}:\n  " + "\n  ".join(about))
        last, total = last_records(TOPIC)
        tl.check("topic: every key", KEYS, len(last))
        check_rows_at_all(nodes.s, KS, "t_keyed", last, "keyed")
        tl.check(f"dead-letter topic {stream.dlq} records", 0, dlq_count(admin, stream.dlq))
        tl.log(f"FIGURES topology: records={total} keys={KEYS} rate={RATE}/s "
               f"test_s={time.monotonic() - t_start:.1f} " +
               " ".join(f"{k}={v:.1f}" if k.endswith("_s") else f"{k}={v}" for k, v in figs.items()))
    finally:
        if grown and len(stack_contacts()) > len(HOSTS):
            tl.log("taking node 3 out again after a failure")
            stack("decommission")
        cleanup(nodes.cluster, nodes.s, KS, TOPIC, [f"{TOPIC}.dlq_keyed", PROOF_TOPIC,
                                                     PROOF_TOPIC + ".dlq"])
    tl.finish()


if __name__ == "__main__":
    main()
