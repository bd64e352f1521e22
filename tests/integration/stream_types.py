"""Typed schema fields and typed columns in `rtetl stream` (issue #15), compared with CQL's own
parsing.

One topic, produced with confluent-kafka. The pipeline's schema has timestamp, date, uuid, list
and map fields and a string field holding a JSON object; its mapping adds `location.city`,
`location.address.zip`, to_uuid, to_timestamp, to_date and uuid_v5 columns, and its filter uses
`not in`. rtetl creates the table itself (create_if_missing), so the column types it derives are
checked in system_schema. Then every text rtetl converted from JSON is inserted again, as a CQL
literal through the official cassandra-driver, into a reference table of the same shape, and
the two tables must hold the same values (timestamps and dates compared as their stored
integers). Texts that Cassandra refuses as literals must be dead-lettered by rtetl as
invalid_value (a schema field) or expr_failed (a mapping expression), with a detail naming the
field or the column.
"""
import json
import os
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from rtetl_testlib import (BROKERS, Procs, cassandra_session, check, check_true, create_topic,
                           dead_letters, drop_keyspace, finish, kafka_producer, log, rtetl,
                           run_stream, unique)

topic = unique("types")
keyspace = unique("ks_types")
TABLE, REF = "typed", "typed_ref"

PIPELINE = """\
source:
  topic: {topic}
schema:
  - {{name: id, type: uuid, required: true}}
  - {{name: ts, type: timestamp}}
  - {{name: day, type: date}}
  - {{name: tags, type: list}}
  - {{name: attrs, type: "map<text, text>"}}
  - location
  - ref
  - at
  - kind
filter: "kind not in ('skip', 'ignore')"
target:
  keyspace: {keyspace}
  table: {table}
  primary_key: [id]
  mapping:
    id: id
    ts: ts
    day: day
    tags: tags
    attrs: attrs
    city: location.city
    zip: location.address.zip
    ref: to_uuid(ref)
    at_ts: to_timestamp(at)
    at_day: to_date(at)
    derived: uuid_v5('dns', kind)
"""

COLUMN_TYPES = {"id": "uuid", "ts": "timestamp", "day": "date", "tags": "list<text>",
                "attrs": "map<text, text>", "city": "text", "zip": "text", "ref": "uuid",
                "at_ts": "timestamp", "at_day": "date", "derived": "uuid"}

# Timestamp texts (and one JSON integer) that both rtetl and Cassandra read.
TIMESTAMPS = ["2024-01-01T10:00:00+0530", "2024-01-01T10:00:00+05:30", "2024-01-01 10:00:05-00",
              "2024-01-01 10:00:05.1", "2024-01-01 10:00:05.123456789Z", "2024-01-01",
              "2024-01-01T10:00Z", "2024-01-01 10:00:05 UTC", "2024-02-29 10:00 -03",
              "2024-01-01 24:00", "1700000000123", "-5", 1700000000999]
DATES = ["2024-01-01", "2024-02-29", "-0001-01-01", "0000-01-01", "1970-01-01"]
# to_timestamp/to_date texts with the UTC day to_date gives.
AT = [("2024-01-01T10:00:00+0530", "2024-01-01"), ("2024-01-01 10:00:05.1", "2024-01-01"),
      ("2024-02-29", "2024-02-29"), ("2024-01-01 24:00", "2024-01-02"),
      ("2023-12-31T23:30:00-01:00", "2024-01-01")]
UUIDS = ["0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"]
# Refused by Cassandra as literals, and by rtetl: (field, text, rtetl's reason).
BAD = [("ts", "2024-13-01", "invalid_value"), ("ts", "2024-01-01T10", "invalid_value"),
       ("ts", "yesterday", "invalid_value"), ("day", "2024-1-1", "invalid_value"),
       ("day", "2023-02-29", "invalid_value"), ("at", "2024-01-32", "expr_failed")]


def record(i, **over):
    ts = TIMESTAMPS[i % len(TIMESTAMPS)]
    r = {"id": str(uuid.uuid4()).upper() if i % 2 else str(uuid.uuid4()), "ts": ts,
         "day": DATES[i % len(DATES)], "tags": ["a", f"t{i}", 3, True, {"k": [1]}],
         "attrs": {"k": f"v{i}", "n": 1.5, "e": "\u00e3\"\\"},
         "location": {"city": f"S\u00e3o Paulo {i}", "address": {"zip": 1000 + i}},
         "ref": UUIDS[i % len(UUIDS)], "at": AT[i % len(AT)][0], "kind": f"k{i}"}
    r.update(over)
    return r


def cql_text(v):
    return "'" + str(v).replace("'", "''") + "'"


def main():
    tmp = tempfile.mkdtemp(prefix="rtetl_types_")
    path = os.path.join(tmp, "pipeline.yaml")
    with open(path, "w") as f:
        f.write(PIPELINE.format(topic=topic, keyspace=keyspace, table=TABLE))

    good = [record(i) for i in range(len(TIMESTAMPS))]
    bad = [record(100 + i, **{field: text}, kind=f"bad{i}") for i, (field, text, _) in
           enumerate(BAD)]
    bad += [record(200, id="not-a-uuid", kind="bad_id"),
            record(201, tags=["a", None], kind="null_element"),
            record(202, ref="0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4", kind="bad_ref")]
    skipped = [record(300, kind="skip"), record(301, kind="ignore")]
    create_topic(topic, 1)
    p = kafka_producer()
    for r in good + bad + skipped:
        p.produce(topic, value=json.dumps(r).encode())
    check("all produced", 0, p.flush(60))
    log(f"produced {len(good) + len(bad) + len(skipped)} records to {topic}")

    # --dry-run: the same verdicts, printed; an expression failure as expr_failed.
    n = len(good) + len(bad) + len(skipped)
    rc, out, err = rtetl("stream", "--config", path, "--group", unique("g_types_dry"),
                         "--keyspace", unique("ks_types_dry"), "--brokers", BROKERS,
                         "--dry-run", "--sample", str(n), check_rc=False)
    check("--dry-run exits 0", 0, rc)
    check("--dry-run summary",
          [f"# dry run of {topic}: {n} records: {len(good)} would be written, 2 filtered out, "
           f"{len(bad)} dead-lettered; nothing was written or committed"],
          [ln for ln in out.splitlines() if ln.startswith("# dry run")])
    check("--dry-run: to_uuid's failure is expr_failed", 1,
          sum("dead-letter expr_failed: column ref = to_uuid(ref): to_uuid: not a UUID: " in ln
              for ln in out.splitlines()))
    check_true("--dry-run prints a timestamp field quoted",
               "'2024-01-01T10:00:00+0530'" in out, out[-1500:])

    with Procs() as procs:
        rc, out, counts = run_stream(procs, "types", topic, unique("g_types"), keyspace,
                                     "--config", path)
    check("exits 0", 0, rc)
    check("written", len(good), counts.get("written"))
    check("filtered by not in", 2, counts.get("filtered"))
    check("dead-lettered", len(bad), counts.get("dead_lettered"))

    cluster, s = cassandra_session(keyspace)
    try:
        types = {r.column_name: r.type for r in s.execute(
            "SELECT column_name, type FROM system_schema.columns WHERE keyspace_name = %s AND "
            "table_name = %s", (keyspace, TABLE))}
        check("auto-created column types follow the schema and the expressions", COLUMN_TYPES,
              types)
        s.execute(f"CREATE TABLE {REF} (id uuid PRIMARY KEY, ts timestamp, day date, "
                  "tags list<text>, attrs map<text, text>, city text, zip text, ref uuid, "
                  "at_ts timestamp, at_day date, derived uuid)")
        for r in good:
            # The same texts as CQL literals: strings quoted, a JSON integer and uuids bare;
            # list and map elements as the text Spark's string conversion gives them.
            ts = r["ts"] if isinstance(r["ts"], int) else cql_text(r["ts"])
            tags = "[" + ", ".join(cql_text(t) for t in ["a", r["tags"][1], "3", "true",
                                                         '{"k":[1]}']) + "]"
            attrs = "{" + ", ".join(f"{cql_text(k)}: {cql_text(v)}" for k, v in
                                    [("k", r["attrs"]["k"]), ("n", "1.5"),
                                     ("e", "\u00e3\"\\")]) + "}"
            s.execute(f"INSERT INTO {REF} (id, ts, day, tags, attrs, city, zip, ref, at_ts, "
                      f"at_day, derived) VALUES ({r['id']}, {ts}, {cql_text(r['day'])}, {tags}, "
                      f"{attrs}, {cql_text(r['location']['city'])}, "
                      f"{cql_text(r['location']['address']['zip'])}, {r['ref']}, "
                      f"{cql_text(r['at'])}, {cql_text(dict(AT)[r['at']])}, "
                      f"{uuid.uuid5(uuid.NAMESPACE_DNS, r['kind'])})")
        query = ("SELECT id, blobAsBigint(timestampAsBlob(ts)) AS ts, blobAsInt(dateAsBlob(day)) "
                 "AS day, tags, attrs, city, zip, ref, blobAsBigint(timestampAsBlob(at_ts)) AS "
                 "at_ts, blobAsInt(dateAsBlob(at_day)) AS at_day, derived FROM {}")
        got = {r.id: r._asdict() for r in s.execute(query.format(TABLE))}
        want = {r.id: r._asdict() for r in s.execute(query.format(REF))}
        check("rows", sorted(want), sorted(got))
        for r in good:
            k = uuid.UUID(r["id"])
            check(f"record {r['kind']} (ts {r['ts']!r}, day {r['day']}, at {r['at']}) equals "
                  "the CQL literals", want.get(k), got.get(k))

        # Refused texts: Cassandra refuses them as literals too.
        for field, text, _ in BAD:
            col = {"ts": "ts", "day": "day", "at": "at_ts"}[field]
            try:
                s.execute(f"INSERT INTO {REF} (id, {col}) VALUES (uuid(), {cql_text(text)})")
                refused = False
            except Exception as e:  # InvalidRequest from the server
                refused = "nvalid" in type(e).__name__ or "nvalid" in str(e)
            check_true(f"Cassandra refuses {field} {text!r} as a literal", refused)
    finally:
        cluster.shutdown()

    dl = dead_letters(topic)
    by_kind = {json.loads(v).get("kind"): (reason, detail) for reason, v, detail in dl.values()}
    check("dead letters", sorted(r["kind"] for r in bad), sorted(by_kind))
    for i, (field, text, reason) in enumerate(BAD):
        got_reason, detail = by_kind.get(f"bad{i}", (None, ""))
        check(f"{field} {text!r}: reason", reason, got_reason)
        name = f"field '{field}'" if reason == "invalid_value" else "column at_ts = to_timestamp(at)"
        check_true(f"{field} {text!r}: the detail names {name}", name in detail, detail)
    check("a bad uuid field", "invalid_value", by_kind.get("bad_id", ("",))[0])
    check_true("a bad uuid field: detail", "field 'id': not a UUID" in
               by_kind.get("bad_id", ("", ""))[1], by_kind.get("bad_id"))
    check("a null list element", "invalid_value", by_kind.get("null_element", ("",))[0])
    check("to_uuid of a bad uuid", "expr_failed", by_kind.get("bad_ref", ("",))[0])
    check_true("to_uuid: detail names the column and the reason",
               "column ref = to_uuid(ref): to_uuid: not a UUID: " in
               by_kind.get("bad_ref", ("", ""))[1], by_kind.get("bad_ref"))


if __name__ == "__main__":
    try:
        main()
    finally:
        drop_keyspace(keyspace)
    sys.exit(finish())
