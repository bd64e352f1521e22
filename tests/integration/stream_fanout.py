"""Fan-out `targets:` in `rtetl stream` (issue #15), with the shipped example
examples/fanout-users.yaml: users by id (dob and registered_date as CQL timestamps), a delete
target on the same table (`op: delete` records), and users by email.

Produced with kafka-python, as the reference producer does, but keyed by id (updates of one key
stay in one partition, in order): reference-shaped records (post_code a JSON number), 150 ids
with 4 to 6 versions each, changing email and names, with `op: delete` records and Kafka
tombstones (key, no value) among them, and one record whose dob is no timestamp. The expected
state of both tables is computed from the records in Kafka's order per key.

Checks: exit 0; usuarios_by_id holds exactly the ids whose last event is an upsert, each with
the values of its last version (dob a timestamp); a deleted or tombstoned id is absent; an id
re-created after its delete is present; usuarios_by_email holds, per email ever seen in a kept
record, the last version that had it; the bad record is dead-lettered once, naming the target
(rtetl.target = by_id) and is still written to by_email; the group's committed offsets reach the
end (every target finished every record); `--dry-run` prints each target's verdict.
"""
import datetime
import json
import os
import random
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from rtetl_testlib import (BROKERS, SRC, Procs, cassandra_session, check, check_true, committed_lag,
                           create_topic, drop_keyspace, finish, kcat_records, log, rtetl,
                           run_stream, table_rows, unique)

topic = unique("fanout")
group = unique("g_fanout")
keyspace = unique("ks_fanout")
EXAMPLE = os.path.join(SRC, "examples", "fanout-users.yaml")
PARTITIONS = 3


def iso(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def user(rng, uid, version):
    return {"id": uid, "first_name": f"F{version}", "last_name": f"L{uid[-3:]}",
            "gender": rng.choice(["male", "female"]), "address": f"{version} Rua, Lisboa",
            "post_code": rng.randint(10000, 99999),  # a JSON number, as randomuser gives it
            "email": f"{uid}.v{version % 3}@Example.com", "username": f"user{uid}",
            "dob": iso(rng.randint(0, 10 ** 9)), "registered_date": iso(rng.randint(10 ** 9, 1.7e9)),
            "phone": "555-0100", "picture": "https://x/p.jpg"}


def events(rng):
    """[(key, value dict or None)] in produce order; per key the order is Kafka's."""
    out = []
    for n in range(150):
        uid = f"u{n:04d}"
        for v in range(rng.randint(4, 6)):
            r = rng.random()
            if v > 0 and r < 0.12:
                out.append((uid, {"id": uid, "op": "delete"}))
            elif v > 0 and r < 0.22:
                out.append((uid, None))  # a tombstone
            else:
                out.append((uid, user(rng, uid, v)))
    # Interleave the keys while keeping each key's own order.
    by_key = {}
    for k, v in out:
        by_key.setdefault(k, []).append(v)
    keys = [k for k, vs in by_key.items() for _ in vs]
    rng.shuffle(keys)
    pos = {k: 0 for k in by_key}
    mixed = []
    for k in keys:
        mixed.append((k, by_key[k][pos[k]]))
        pos[k] += 1
    return mixed


def expected(evts, bad_id):
    by_id, by_email = {}, {}
    for k, v in evts:
        if v is None or v.get("op") == "delete":
            by_id.pop(k, None)
            continue
        if k != bad_id:
            by_id[k] = v
        by_email[v["email"].lower()] = v
    return by_id, by_email


def ts(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")


def main():
    from kafka import KafkaProducer
    rng = random.Random(15)
    evts = events(rng)
    bad_id = "u9999"
    bad = user(rng, bad_id, 1)
    bad["dob"] = "not a date"
    evts.insert(len(evts) // 2, (bad_id, bad))
    # A key deleted, then created again: it must end present.
    again = user(rng, "u9998", 7)
    evts += [("u9998", user(rng, "u9998", 6)), ("u9998", None), ("u9998", again)]
    want_id, want_email = expected(evts, bad_id)

    create_topic(topic, PARTITIONS)
    p = KafkaProducer(bootstrap_servers=BROKERS, acks="all", linger_ms=5)
    for k, v in evts:
        p.send(topic, key=k.encode(), value=None if v is None else json.dumps(v).encode())
    p.flush(60)
    p.close()
    log(f"produced {len(evts)} records ({sum(v is None for _, v in evts)} tombstones) to {topic}")

    env = {"FANOUT_TOPIC": topic, "FANOUT_GROUP": group, "FANOUT_KEYSPACE": keyspace}
    os.environ.update(env)

    # --dry-run: each target's verdict, nothing written.
    _, out, _ = rtetl("stream", "--config", EXAMPLE, "--brokers", BROKERS, "--dry-run",
                      "--sample", "40", timeout=120)
    check_true("dry run: by_email writes", "] by_email: write email=" in out, out[-1500:])
    check_true("dry run: by_id writes a timestamp", "] by_id: write id=" in out, out[-1500:])
    check_true("dry run: by_id deletes a tombstone", "] by_id: delete id=" in out, out[-1500:])

    with Procs() as procs:
        rc, out, counts = run_stream(procs, "fanout", topic, group, keyspace, "--config", EXAMPLE)
    check("exits 0", 0, rc)
    check("consumed", len(evts), counts.get("consumed"))
    check("dead-lettered", 1, counts.get("dead_lettered"))
    check("committed offsets at the end (every target finished every record)", 0,
          committed_lag(group, topic, PARTITIONS))

    rows = table_rows(keyspace, "usuarios_by_id")
    check("by_id: the ids whose last event is an upsert", sorted(want_id), sorted(rows))
    wrong = [k for k, v in want_id.items() if k in rows and (
        rows[k]["first_name"] != v["first_name"] or rows[k]["email"] != v["email"].lower()
        or rows[k]["dob"] != ts(v["dob"]) or rows[k]["post_code"] != str(v["post_code"]))]
    check("by_id: each row is its key's last version", [], wrong[:5])
    check_true("by_id: the re-created id is present", "u9998" in rows)
    check("by_id: dob is a CQL timestamp", datetime.datetime,
          type(rows.get("u9998", {}).get("dob")))

    em = table_rows(keyspace, "usuarios_by_email", key="email")
    check("by_email: one row per email seen", sorted(want_email), sorted(em))
    wrong = [k for k, v in want_email.items() if k in em and (
        em[k]["id"] != v["id"] or em[k]["first_name"] != v["first_name"]
        or em[k]["registered_date"] != ts(v["registered_date"]))]
    check("by_email: each row is the last version with that email", [], wrong[:5])
    check_true("by_email: the record by_id refused is written here",
               bad["email"].lower() in em)

    dl = kcat_records(topic + ".dlq")
    check("one dead letter", 1, len(dl))
    for h, value in dl:
        check("dead letter names its target", b"by_id", h.get(b"rtetl.target"))
        check("dead letter is the bad record", bad_id, json.loads(value)["id"])
        check_true("dead letter says why", b"to_timestamp" in h.get(b"rtetl.error.detail", b""),
                   h)

    # Replayed, the dead letter goes to its own target only: by_email, which took the record
    # the first time, is not written again (its cell's write time stays).
    bad_email = bad["email"].lower()
    before = writetime("usuarios_by_email", "email", bad_email)
    rtetl("dlq", "replay", "--source-topic", topic, "--brokers", BROKERS, timeout=120)
    with Procs() as procs:
        rc, out, counts = run_stream(procs, "fanout2", topic, group, keyspace, "--config", EXAMPLE)
    check("after replay: exits 0", 0, rc)
    check("after replay: the replayed record consumed", 1, counts.get("consumed"))
    check("after replay: dead-lettered again by by_id", 1, counts.get("dead_lettered"))
    check("after replay: by_email not rewritten", before,
          writetime("usuarios_by_email", "email", bad_email))
    dl = kcat_records(topic + ".dlq")
    check("after replay: two dead letters", 2, len(dl))
    check("the second is the replay, again for by_id", [b"1", b"by_id"],
          [dl[-1][0].get(b"rtetl.replay.count"), dl[-1][0].get(b"rtetl.target")])


COMPOUND = """\
source: {{topic: {topic}}}
schema: [{{name: region, required: true}}, {{name: id, required: true}}, name]
filter: ""
target:
  keyspace: {keyspace}
  table: by_region
  primary_key: [region, id]
  on_tombstone: delete
"""


def compound_tombstones():
    """A tombstone of a compound primary key names its row with a JSON object key."""
    from kafka import KafkaProducer
    t2 = unique("fanout_ck")
    path = os.path.join(tempfile.mkdtemp(prefix="rtetl_fanout_"), "ck.yaml")
    with open(path, "w") as f:
        f.write(COMPOUND.format(topic=t2, keyspace=keyspace))
    create_topic(t2, 1)
    p = KafkaProducer(bootstrap_servers=BROKERS, acks="all")
    rows = [("eu", "a"), ("eu", "b"), ("us", "a"), ("us", "c")]
    for region, i in rows:
        key = json.dumps({"region": region, "id": i}).encode()
        p.send(t2, key=key, value=json.dumps({"region": region, "id": i, "name": i * 3}).encode())
    for region, i in rows[1:3]:
        p.send(t2, key=json.dumps({"id": i, "region": region}).encode(), value=None)
    p.send(t2, key=b"us:c", value=None)  # not a JSON object: dead-lettered
    p.flush(60)
    p.close()
    with Procs() as procs:
        rc, out, counts = run_stream(procs, "fanout_ck", t2, unique("g_ck"), keyspace,
                                     "--config", path)
    check("compound key: exits 0", 0, rc)
    left = sorted((r["region"], r["id"]) for r in
                  (row._asdict() for row in select("SELECT region, id FROM by_region")))
    check("compound key: the tombstones deleted their rows", [("eu", "a"), ("us", "c")], left)
    dl = kcat_records(t2 + ".dlq")
    check("compound key: the bad tombstone key dead-lettered", 1, len(dl))
    check_true("compound key: its reason names the key",
               dl and b"tombstone key: not a JSON object" in dl[0][0].get(b"rtetl.error.detail", b""),
               dl and dl[0][0])


def select(q):
    cluster, s = cassandra_session(keyspace)
    try:
        return list(s.execute(q, timeout=60))
    finally:
        cluster.shutdown()


def writetime(table, key, value):
    cluster, s = cassandra_session(keyspace)
    try:
        row = s.execute(f"SELECT WRITETIME(first_name) FROM {table} WHERE {key} = %s", [value],
                        timeout=60).one()
        return row[0] if row else None
    finally:
        cluster.shutdown()


if __name__ == "__main__":
    try:
        main()
        compound_tombstones()
    finally:
        drop_keyspace(keyspace)
    sys.exit(finish())
