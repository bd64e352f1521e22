"""Routing proof on a real 2-node Cassandra cluster, from the server side (issue #14).

A keyspace with NetworkTopologyStrategy {'dc1': 1} over the 2 nodes holds one replica of each
row, on the node that owns its token. Records produced with confluent-kafka (a client rtetl did
not write) into a topic with replication factor 3 on the 3 brokers are written by `rtetl stream`,
given only node 1 as contact point (node 2 it must discover). Then, per node, from Cassandra's
own virtual tables (system_views, node-local, so each query is pinned to one node):
- local_write_latency.count: the mutations the node applied: its share of the rows;
- coordinator_write_latency.count: the write requests the node coordinated;
- internode_outbound.sent_count: messages the node sent to the other node (gossip included).
The rows each node owns come from the server's token(id) and the driver's ring (not rtetl's).

A control shows the measurement can fail: the official driver with a round-robin policy (not
token-aware) writes rows that half the time reach the node that does not own them, and the same
figures must show it (coordinated != local writes, internode messages ~ the misrouted writes).

Two runs, into two tables: one INSERT per record (--batch-rows 1), where every write is one
request, so a node that coordinates only its own rows has coordinator count == local count ==
rows it owns; and the default unlogged batches (grouped by replica set), where a request holds
many rows, so the proof is the internode traffic: a write coordinated by a node that does not
own its token costs one mutation message to the owner, and there must be ~none.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import rtetl_testlib as tl  # noqa: E402
from clusterlib import Nodes, cleanup, create_rf3_topic, create_table  # noqa: E402

N = int(os.environ.get("RTETL_ROUTING_ROWS", "6000"))
N_CONTROL = 2000
CONTACTS = os.environ["STACK_CQL_CONTACT_POINTS"].split(",")
HOSTS = [c.split(":")[0] for c in CONTACTS]
KS = tl.unique("it_routing")
TOPIC = KS
COLS = tl.FIELDS


def records():
    out = []
    for i in range(N):
        row = {f: f"{f}-{i}" for f in COLS}
        row["id"] = f"user-{i:06d}"
        row["email"] = f"user{i}@example.com"
        out.append(json.dumps(row).encode())
    return out


def create_topic():
    """The topic's replica count per partition, once it is created with every leader known."""
    md = create_rf3_topic(TOPIC).list_topics(TOPIC, timeout=30)
    return sorted(len(p.replicas) for p in md.topics[TOPIC].partitions.values())


def owners(nodes, table):
    """{node address: rows of table it owns}, by the server's token(id) and the ring."""
    from cassandra.metadata import Murmur3Token
    tm = nodes.cluster.metadata.token_map
    own = {a: 0 for a in HOSTS}
    for r in nodes.s.execute(f"SELECT token(id) AS t FROM {KS}.{table}", timeout=120):
        reps = tm.get_replicas(KS, Murmur3Token(r.t))
        own[reps[0].address] += 1 if len(reps) == 1 else 0
    return own


def run(nodes, table, extra, label):
    create_table(nodes.cluster, nodes.s, KS, table)
    sent0 = {a: nodes.sent(a) for a in HOSTS}
    t0 = time.monotonic()
    with tl.Procs() as procs:
        rc, out, st = tl.run_stream(procs, f"stream-{table}", TOPIC, f"{KS}_{table}", KS,
                                    "--table", table, "--cassandra", CONTACTS[0], *extra)
    secs = time.monotonic() - t0
    tl.check(f"{label}: rtetl stream exit status", 0, rc)
    tl.check(f"{label}: records written", N, st.get("written"))
    sent = {a: nodes.sent(a) - sent0[a] for a in HOSTS}
    rows = {r.id: r for r in nodes.s.execute(f"SELECT * FROM {KS}.{table}", timeout=120)}
    tl.check(f"{label}: rows read back (cassandra-driver)", N, len(rows))
    bad = [k for k, r in rows.items() if r.email != f"user{int(k[5:])}@example.com"
           or r.first_name != f"first_name-{int(k[5:])}"]
    tl.check(f"{label}: row contents", [], bad[:5])
    own = owners(nodes, table)
    local = {a: nodes.table_count(a, "local_write_latency", KS, table) for a in HOSTS}
    coord = {a: nodes.table_count(a, "coordinator_write_latency", KS, table) for a in HOSTS}
    tl.log(f"FIGURES {label}: rows={N} stream_s={secs:.1f} " + " ".join(
        f"[{a} owns={own[a]} local_writes={local[a]} coordinated={coord[a]} internode_sent={sent[a]}]"
        for a in HOSTS))
    tl.check_true(f"{label}: both nodes own rows (the ring is split)", all(own[a] > 0 for a in HOSTS),
                  str(own))
    # RF 1: each row applied exactly on its owner (the server's placement, seen from outside).
    tl.check(f"{label}: local writes per node == rows it owns", own, local)
    # Internode messages during the run: gossip and the like only (a few per second), where a
    # misrouted write would cost one mutation message each (N/2 if routing were random).
    tl.check_true(f"{label}: internode messages during the run ~0 (< 2% of the rows + gossip)",
                  all(sent[a] <= N // 50 + 4 * secs + 20 for a in HOSTS), str(sent))
    return coord, local, own


def control(nodes):
    """Writes N_CONTROL rows through the driver, round-robin over both nodes (not token-aware)."""
    from cassandra.concurrent import execute_concurrent_with_args
    create_table(nodes.cluster, nodes.s, KS, "t_control")
    sent0 = {a: nodes.sent(a) for a in HOSTS}
    ins = nodes.s.prepare(f"INSERT INTO {KS}.t_control (id, email) VALUES (?, ?)")
    execute_concurrent_with_args(nodes.s, ins, [(f"c-{i}", "x@y") for i in range(N_CONTROL)],
                                 concurrency=32, execution_profile="rr")
    sent = {a: nodes.sent(a) - sent0[a] for a in HOSTS}
    own = owners(nodes, "t_control")
    local = {a: nodes.table_count(a, "local_write_latency", KS, "t_control") for a in HOSTS}
    coord = {a: nodes.table_count(a, "coordinator_write_latency", KS, "t_control") for a in HOSTS}
    tl.log(f"FIGURES control (driver, round-robin): rows={N_CONTROL} " + " ".join(
        f"[{a} owns={own[a]} local_writes={local[a]} coordinated={coord[a]} internode_sent={sent[a]}]"
        for a in HOSTS))
    tl.check_true("control: round-robin writes show as coordinated != local writes", coord != local,
                  f"coordinated {coord} local {local}")
    tl.check_true("control: and as internode messages (>= 20% of the rows)",
                  sum(sent.values()) >= N_CONTROL // 5, str(sent))


def main():
    nodes = Nodes(HOSTS)
    try:
        reps = create_topic()
        tl.check("topic: 3 partitions, each with 3 replicas", [3, 3, 3], reps)
        tl.produce(TOPIC, records())
        nodes.s.execute(f"CREATE KEYSPACE {KS} WITH replication = "
                        "{'class': 'NetworkTopologyStrategy', 'dc1': 1}")
        coord, local, own = run(nodes, "t_single", ["--batch-rows", "1"], "one INSERT per record")
        # Every request is one row: a node coordinates exactly the rows it applies locally.
        tl.check("one INSERT per record: coordinated writes per node == local writes", local, coord)
        coord, local, own = run(nodes, "t_batch", [], "batches by replica set")
        tl.check_true("batches: every node coordinated requests", all(coord[a] > 0 for a in HOSTS),
                      str(coord))
        control(nodes)
    finally:
        cleanup(nodes.cluster, nodes.s, KS, TOPIC)
    tl.finish()


if __name__ == "__main__":
    main()
