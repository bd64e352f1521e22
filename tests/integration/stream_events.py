"""The shipped events pipeline, examples/events.yaml, end to end (issue #15).

Produced with confluent-kafka, keyed by user: 240 events of 12 users (view, click, purchase),
some produced twice (a producer retry without idempotence looks the same), and some of an
unknown type. Read back with the official cassandra-driver.

Checks: exit 0; events_by_user holds each distinct known event once, under the key the
pipeline derives (uuid5 of the event's fields, computed here with Python's uuid), with `at` a
CQL timestamp, the Kafka topic/partition/offset of the event's last copy and its Kafka
timestamp; the unknown types are filtered; purchases holds only the purchases; TTLs: the event
rows expire within 7 days, the purchases after more than 7 and within 90; a second run by a new
consumer group (a full replay) leaves both tables exactly as they were.
"""
import datetime
import json
import os
import random
import sys
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from rtetl_testlib import (SRC, Procs, cassandra_session, check, check_true, create_topic,
                           drop_keyspace, finish, kafka_producer, log, run_stream, unique)

topic = unique("events")
keyspace = unique("ks_events")
EXAMPLE = os.path.join(SRC, "examples", "events.yaml")
PARTITIONS = 2


def rows(table):
    cluster, s = cassandra_session(keyspace)
    try:
        return [r._asdict() for r in s.execute(f"SELECT * FROM {table}", timeout=120)]
    finally:
        cluster.shutdown()


def ttls(table, column):
    cluster, s = cassandra_session(keyspace)
    try:
        return [r[0] for r in s.execute(f"SELECT TTL({column}) FROM {table}", timeout=120)]
    finally:
        cluster.shutdown()


def main():
    rng = random.Random(7)
    base = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)
    events = []
    for i in range(240):
        at = base + datetime.timedelta(seconds=rng.randint(0, 86400), milliseconds=rng.randint(0, 999))
        ev = {"user": f"user{rng.randint(1, 12):02d}",
              "type": rng.choice(["view", "view", "click", "Purchase", "scroll"]),
              "url": rng.choice(["/", "/cart", "/item/1", None]),
              "at": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"}
        events.append(ev)
        if rng.random() < 0.1:
            events.append(dict(ev))  # the same event twice

    create_topic(topic, PARTITIONS)
    p = kafka_producer()
    where = {}  # event_id -> (partition, offset, timestamp ms) of its last copy

    def delivered(err, msg, ev):
        if err:
            raise RuntimeError(err)
        where[ev] = (msg.partition(), msg.offset(), msg.timestamp()[1])

    for i, ev in enumerate(events):
        p.produce(topic, key=ev["user"].encode(), value=json.dumps(ev).encode(),
                  on_delivery=lambda err, msg, i=i: delivered(err, msg, i))
    check("all produced", 0, p.flush(60))
    log(f"produced {len(events)} events to {topic}")

    def key(ev):
        return uuid.uuid5(uuid.NAMESPACE_URL,
                          f"{ev['user']}|{ev['at']}|{ev['type'].lower()}|{ev['url'] or ''}")

    known = [i for i, ev in enumerate(events) if ev["type"].lower() in ("view", "click", "purchase")]
    last = {}
    for i in known:
        last[key(events[i])] = i  # later copies win: they carry later write timestamps
    os.environ.update({"EVENTS_TOPIC": topic, "EVENTS_KEYSPACE": keyspace})

    with Procs() as procs:
        rc, out, counts = run_stream(procs, "events", topic, unique("g_events"), keyspace,
                                     "--config", EXAMPLE)
    check("exits 0", 0, rc)
    check("filtered: the unknown types", len(events) - len(known), counts.get("filtered"))
    check("dead-lettered", 0, counts.get("dead_lettered"))

    got = rows("events_by_user")
    check("events_by_user: each distinct event once", sorted(map(str, last)),
          sorted(str(r["event_id"]) for r in got))
    bad, compared = [], 0
    for r in got:
        i = last.get(r["event_id"])
        if i is None:
            continue
        compared += 1
        ev, (part, off, ts_ms) = events[i], where[i]
        at = datetime.datetime.strptime(ev["at"], "%Y-%m-%dT%H:%M:%S.%fZ")
        if (r["user"], r["at"], r["type"], r["url"]) != (ev["user"], at, ev["type"].lower(), ev["url"]) \
                or (r["src_topic"], int(r["src_partition"]), int(r["src_offset"])) != (topic, part, off) \
                or r["produced_at"] != datetime.datetime.utcfromtimestamp(ts_ms / 1000):
            bad.append((r, ev, part, off))
    check("events_by_user: fields, Kafka position and timestamp of the last copy", [], bad[:2])
    check("event_id is a CQL uuid: every row compared", len(last), compared)
    check("at is a CQL timestamp", datetime.datetime, type(got[0]["at"]) if got else None)

    purchases = rows("purchases")
    want = sorted(str(k) for k, i in last.items() if events[i]["type"].lower() == "purchase")
    check("purchases: only the purchases", want, sorted(str(r["event_id"]) for r in purchases))

    t_ev, t_pu = ttls("events_by_user", "type"), ttls("purchases", "url")
    check_true("events expire within 7 days", t_ev and all(0 < t <= 604800 for t in t_ev), t_ev[:3])
    check_true("purchases expire after 7 and within 90 days",
               t_pu and all(t is None or 604800 < t <= 7776000 for t in t_pu)
               and any(t is not None for t in t_pu), t_pu[:3])

    # A full replay by a new group: the derived keys make it change nothing.
    with Procs() as procs:
        rc, out, counts = run_stream(procs, "replay", topic, unique("g_events2"), keyspace,
                                     "--config", EXAMPLE)
    check("replay exits 0", 0, rc)
    check("replay: events_by_user unchanged", len(got), len(rows("events_by_user")))
    check("replay: purchases unchanged", len(purchases), len(rows("purchases")))


if __name__ == "__main__":
    try:
        main()
    finally:
        drop_keyspace(keyspace)
    sys.exit(finish())
