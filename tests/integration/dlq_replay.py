"""`rtetl dlq stats` and `rtetl dlq replay` on the real stack (see dlq_replay_test.sh).

A "bad deploy" pipeline types post_code as int, so records carrying it as a string are
dead-lettered as wrong_type (and broken JSON as malformed_json). The "fixed deploy" types it as
a string (into another table, whose column is text). Kafka is read back with confluent-kafka
(not rtetl's client) to count what each replay put into the source topic and where.
"""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from rtetl_testlib import (BIN, BROKERS, Procs, check, check_true, create_topic, dead_letters,
                           drop_keyspace, finish, kafka_producer, kcat_records, log, rtetl,
                           run_stream, table_rows, unique, wait_for)

PIPELINE = """
schema:
  - {{name: id, type: string, required: true}}
  - {{name: name, type: string}}
  - {{name: post_code, type: {ptype}}}
filter: "present(id)"
target:
  table: {table}
  primary_key: [id]
  mapping: {{id: id, name: name, post_code: post_code}}
"""

keyspace = unique("ks_dlq")
topic = unique("dlq_src")
dlq_topic = topic + ".dlq"
PARTS = 2
GOOD = [f"good{i}" for i in range(10)]
WRONG = [f"wrong{i}" for i in range(8)]
MALFORMED = [f"bad{i}" for i in range(3)]


def read_topic(t):
    """Every message of topic t up to its current end: [(partition, offset, key, value,
    {header: value bytes})], with confluent-kafka."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": BROKERS, "group.id": unique("reader"),
                  "enable.auto.commit": False, "enable.partition.eof": True})
    try:
        md = c.list_topics(t, timeout=30).topics[t]
        ends = {p: c.get_watermark_offsets(TopicPartition(t, p), timeout=30)
                for p in md.partitions}
        todo = {p for p, (lo, hi) in ends.items() if hi > lo}
        c.assign([TopicPartition(t, p, 0) for p in todo])
        out = []
        while todo:
            m = c.poll(10)
            if m is None:
                raise TimeoutError(f"reading {t}: no message for 10 s")
            if m.error():
                if m.error().code() == -191:  # _PARTITION_EOF
                    todo.discard(m.partition())
                    continue
                raise RuntimeError(str(m.error()))
            if m.offset() < ends[m.partition()][1]:
                out.append((m.partition(), m.offset(), m.key(), m.value(),
                            dict(m.headers() or [])))
            if m.offset() + 1 >= ends[m.partition()][1]:
                todo.discard(m.partition())
        return out
    finally:
        c.close()


def replay(*args, rc_expected=0):
    rc, out, err = rtetl("dlq", "replay", "--source-topic", topic, "--brokers", BROKERS, *args,
                         check_rc=False, timeout=120)
    check(f"replay {' '.join(args) or '(no filter)'}: exit status", rc_expected, rc)
    summary = {}
    for line in out.splitlines():
        if line.startswith("summary: "):
            summary = dict(kv.split("=", 1) for kv in line[9:].split())
    if rc != rc_expected:
        log(out + err)
    return summary, out, err


def produce_inputs():
    """Good, wrong-type and malformed records keyed by id; the wrong-type ones carry an
    original header the dead letter and the replay must keep."""
    p = kafka_producer()
    errors = []
    cb = lambda e, m: e and errors.append(e)  # noqa: E731
    for i in GOOD:
        p.produce(topic, key=i, value=json.dumps({"id": i, "name": "n", "post_code": 123}),
                  on_delivery=cb)
    for i in WRONG:
        p.produce(topic, key=i, value=json.dumps({"id": i, "name": "w", "post_code": "12-A"}),
                  headers=[("trace", f"t-{i}".encode())], on_delivery=cb)
    for i in MALFORMED:
        p.produce(topic, key=i, value=b'{"id": "%s", "name": ' % i.encode(), on_delivery=cb)
    check("inputs produced", 0, p.flush(60))
    check("no produce errors", [], errors)


def pipeline(path, ptype, table):
    with open(path, "w") as f:
        f.write(PIPELINE.format(ptype=ptype, table=table))
    return path


def main(procs, tmp):
    create_topic(topic, PARTS)
    produce_inputs()
    bad = pipeline(os.path.join(tmp, "bad.yaml"), "int", "tb_bad")
    fixed = pipeline(os.path.join(tmp, "fixed.yaml"), "string", "tb_fixed")
    group = unique("g_stream")
    rc, _, counts = run_stream(procs, "stream-bad", topic, group, keyspace, "--config", bad)
    check("bad deploy: stream exits 0", 0, rc)
    check("bad deploy: written", len(GOOD), counts.get("written"))
    dead = dead_letters(topic)
    reasons = sorted(r for r, _, _ in dead.values())
    check("bad deploy: dead-letter reasons",
          sorted(["wrong_type"] * len(WRONG) + ["malformed_json"] * len(MALFORMED)), reasons)
    dlq_recs = kcat_records(dlq_topic)
    traces = sorted(h.get(b"trace", b"").decode() for h, _ in dlq_recs if b"trace" in h)
    check("dead letters keep the original headers", sorted(f"t-{i}" for i in WRONG), traces)

    # stats
    rc, out, err = rtetl("dlq", "stats", "--source-topic", topic, "--brokers", BROKERS,
                         "--format", "json", check_rc=False)
    check("stats json: exit status", 0, rc)
    st = json.loads(out) if rc == 0 else {}
    check("stats: total", len(WRONG) + len(MALFORMED), st.get("total"))
    check("stats: by reason", {"wrong_type": len(WRONG), "malformed_json": len(MALFORMED)},
          {r["reason"]: r["count"] for r in st.get("by_reason", [])})
    check("stats: by source sums to the total", len(WRONG) + len(MALFORMED),
          sum(s["count"] for s in st.get("by_source", []) if s["topic"] == topic))
    check_true("stats: a sample detail per reason",
               all(r["sample_detail"] for r in st.get("by_reason", [])), str(st))
    check_true("stats: oldest <= newest", st.get("oldest") and st["oldest"] <= st["newest"],
               str(st))
    rc, out, _ = rtetl("dlq", "stats", "--topic", dlq_topic, "--brokers", BROKERS,
                       check_rc=False)
    check_true("stats table lists wrong_type", rc == 0 and "wrong_type" in out, out)
    rc, _, err = rtetl("dlq", "stats", "--topic", unique("no_such_topic"), "--brokers",
                       BROKERS, check_rc=False)
    check("stats of a missing topic: exit 1", 1, rc)
    rc, _, err = rtetl("dlq", "replay", "--topic", "a", "--source-topic", "b", check_rc=False)
    check("replay with two topics: usage error", 2, rc)
    rc, _, err = rtetl("dlq", "replay", "--topic", "a", "--since", "yesterday", check_rc=False)
    check("replay with a bad --since: usage error", 2, rc)

    before = len(read_topic(topic))
    # --dry-run moves nothing and commits nothing.
    s, out, _ = replay("--reason", "wrong_type", "--dry-run")
    check("dry run: would replay", str(len(WRONG)), s.get("replayed"))
    check("dry run: filtered out", str(len(MALFORMED)), s.get("filtered"))
    check_true("dry run: lists records", out.count("would replay:") == len(WRONG), out)
    check("dry run: source topic unchanged", before, len(read_topic(topic)))

    # A delivery that fails (an invalid topic name) exits 1 and commits nothing.
    fail_group = unique("g_fail")
    s, _, err = replay("--reason", "wrong_type", "--to", "bad topic!", "--group", fail_group,
                       "--drain-timeout", "20s", rc_expected=1)
    check_true("failed delivery: reported with a count", "not delivered" in err, err)
    s, _, _ = replay("--reason", "wrong_type", "--group", fail_group, "--dry-run")
    check("failed delivery: nothing committed", str(len(WRONG)), s.get("replayed"))

    # Interrupted (--max-messages) and resumed: each wrong_type record moves exactly once.
    s, _, _ = replay("--reason", "wrong_type", "--max-messages", "3")
    check("first part: delivered", "3", s.get("delivered"))
    check("first part: source topic grew by 3", before + 3, len(read_topic(topic)))
    s, _, _ = replay("--reason", "wrong_type")
    check("resumed: delivered the rest", str(len(WRONG) - 3), s.get("delivered"))
    check("resumed: malformed ones filtered out", str(len(MALFORMED)), s.get("filtered"))
    # The group settled every record it read: a later run sees nothing, whatever its filters.
    s, _, _ = replay()
    check("third run: nothing left", "0", s.get("read"))
    # Another group replays the malformed ones (a comma list and a repeated --reason); they come
    # back as dead letters below.
    s, _, _ = replay("--reason", "malformed_json,empty", "--reason", "not_object", "--group",
                     unique("g_malformed"))
    check("malformed ones replayed by another group", str(len(MALFORMED)), s.get("delivered"))
    msgs = read_topic(topic)
    replayed = [m for m in msgs if "rtetl.replay.count" in m[4]]
    check("each dead letter moved exactly once",
          sorted(WRONG + MALFORMED), sorted(m[2].decode() for m in replayed))
    original_part = {m[2]: m[0] for m in msgs if "rtetl.replay.count" not in m[4]}
    check("replayed into the original partition", [],
          [m[2] for m in replayed if original_part[m[2]] != m[0]])
    check("replay count header", {b"1"}, {m[4]["rtetl.replay.count"] for m in replayed})
    check("replay keeps original headers, drops rtetl.error",
          sorted(f"t-{i}".encode() for i in WRONG),
          sorted(m[4]["trace"] for m in replayed if "trace" in m[4]))
    check("no rtetl.* header but the count", [],
          [k for m in replayed for k in m[4] if k.startswith("rtetl.") and k != "rtetl.replay.count"])

    # The fixed deploy stores the replayed wrong_type records; malformed ones fail again and
    # are dead-lettered again with their replay count.
    rc, _, counts = run_stream(procs, "stream-fixed", topic, group, keyspace, "--config", fixed)
    check("fixed deploy: stream exits 0", 0, rc)
    rows = table_rows(keyspace, "tb_fixed")
    check("fixed deploy: replayed records reach the table", sorted(WRONG), sorted(rows))
    check("fixed deploy: post_code as text", {"12-A"}, {r["post_code"] for r in rows.values()})
    again = [h for h, _ in kcat_records(dlq_topic) if b"rtetl.replay.count" in h]
    check("dead-lettered again: malformed ones with rtetl.replay.count=1",
          sorted([(b"malformed_json", b"1")] * len(MALFORMED)),
          sorted((h[b"rtetl.error"], h[b"rtetl.replay.count"]) for h in again))

    # --max-replays 1: the second-generation dead letters are left alone and reported.
    before = len(read_topic(topic))
    s, out, _ = replay("--max-replays", "1")
    check("max replays: none replayed", "0", s.get("delivered"))
    check("max replays: reported", str(len(MALFORMED)), s.get("max_replays"))
    check_true("max replays: listed", out.count("--max-replays reached") == len(MALFORMED), out)
    check("max replays: source topic unchanged", before, len(read_topic(topic)))
    rc, out, _ = rtetl("dlq", "stats", "--source-topic", topic, "--brokers", BROKERS,
                       "--format", "json", check_rc=False)
    st = json.loads(out) if rc == 0 else {}
    check("stats after: replayed before", len(MALFORMED), st.get("replayed_before"))


def end_offset(t):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": BROKERS, "group.id": unique("wm")})
    try:
        return c.get_watermark_offsets(TopicPartition(t, 0), timeout=30)[1]
    finally:
        c.close()


def interrupted_by_signal(procs, n, slow, wait_for_count):
    """SIGTERM in the middle of a replay slowed down by `slow` producer properties, then a
    second run at full speed: every dead letter reaches the target exactly once."""
    dlq, target = unique("dlq_sig") + ".dlq", unique("dlq_sig_target")
    create_topic(dlq, 1)
    create_topic(target, 1)
    p = kafka_producer()
    for i in range(n):
        p.produce(dlq, key=f"k{i}", value=f"v{i}".encode(), headers=[
            ("rtetl.error", b"wrong_type"), ("rtetl.source.topic", b"elsewhere"),
            ("rtetl.source.partition", b"0"), ("rtetl.source.offset", str(i).encode())])
        if i % 1000 == 999:
            p.poll(0)
    check(f"signal ({n}): dead letters produced", 0, p.flush(60))
    args = ["dlq", "replay", "--topic", dlq, "--to", target, "--brokers", BROKERS]
    proc = procs.start("replay-sig", [BIN, *args, *slow])
    wait_for("the first replayed records",
             lambda: end_offset(target) >= wait_for_count or proc.poll() is not None, timeout=60)
    rc = procs.stop(proc)
    out = procs.output(proc)
    check(f"signal ({n}): replay exits 0 on SIGTERM", 0, rc)
    check_true(f"signal ({n}): stopped early", "stopped early" in out, out[-2000:])
    moved = end_offset(target)
    check_true(f"signal ({n}): some but not all moved", 0 < moved < n, str(moved))
    rc, out, err = rtetl(*args, check_rc=False, timeout=120)
    check(f"signal ({n}): resumed run exits 0", 0, rc)
    values = [v for _, v in kcat_records(target)]
    check(f"signal ({n}): every dead letter moved exactly once",
          sorted(f"v{i}".encode() for i in range(n)), sorted(values))


try:
    with Procs() as procs, tempfile.TemporaryDirectory() as tmp:
        main(procs, tmp)
        # Many records, a small producer queue: the signal lands anywhere in the loop.
        interrupted_by_signal(procs, 10000, ["-X", "queue.buffering.max.messages=10"], 200)
        # One message in the queue for 500 ms at a time: the signal lands while a send waits
        # for room in the full queue.
        interrupted_by_signal(procs, 20, ["-X", "queue.buffering.max.messages=1", "-X",
                                          "linger.ms=500"], 1)
finally:
    drop_keyspace(keyspace)
finish()
