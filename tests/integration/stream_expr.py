"""Mapping `column: expression` and the expression filter in `rtetl stream` (issue #15).

One topic, produced with confluent-kafka (with headers): two good records, one whose dob is no
timestamp, one filtered by an expression on a field, one filtered by a Kafka header. The table
is created beforehand with typed columns (timestamp, uuid, int), so the typed binds of
expression results are exercised; the rows are read back with the official cassandra-driver.

Checks: exit 0; written 2, filtered 2, dead-lettered 1; lower(trim(email)), concat (null when a
part is null), to_timestamp into a timestamp column, uuid_v5 into a uuid column, kafka.topic,
kafka.partition and kafka.header('source') columns hold the expected values; the bad record is
in the dead-letter topic as expr_failed with the to_timestamp reason; --print-config prints the
mappings back, and that output loads again to the same config.
"""
import datetime
import json
import os
import subprocess
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from rtetl_testlib import (BIN, Procs, cassandra_session, check, check_true, create_topic,
                           dead_letters, drop_keyspace, finish, kafka_producer, log, run_stream,
                           table_rows, unique)

topic = unique("expr")
keyspace = unique("ks_expr")
TABLE = "users_expr"

PIPELINE = """\
source:
  topic: {topic}
schema:
  - {{name: id, required: true}}
  - first_name
  - last_name
  - email
  - dob
filter: "not_empty(email) and lower(email) != 'drop@example.com' and is_null(kafka.header('skip'))"
target:
  keyspace: {keyspace}
  table: {table}
  primary_key: [id]
  mapping:
    id: id
    email: lower(trim(email))
    first_name: concat(first_name, ' ', last_name)
    last_name: last_name
    dob: to_timestamp(dob)
    id_v5: uuid_v5('dns', id)
    src: kafka.topic
    part: kafka.partition
    hdr: kafka.header('source')
"""

RECORDS = [  # (value, headers)
    ({"id": "u1", "first_name": "Ana", "last_name": "Lima", "email": "  Ana@Example.COM ",
      "dob": "1990-05-17T10:20:30.456Z"}, [("source", b"crm")]),
    ({"id": "u2", "first_name": "Bob", "last_name": None, "email": "bob@x.io",
      "dob": "1985-01-02"}, []),
    ({"id": "u3", "first_name": "Bad", "last_name": "Date", "email": "bad@x.io",
      "dob": "not-a-date"}, []),
    ({"id": "u4", "first_name": "Drop", "email": "DROP@example.com", "dob": "2000-01-01"}, []),
    ({"id": "u5", "first_name": "Skip", "email": "skip@x.io", "dob": "2000-01-01"},
     [("skip", b"1")]),
]


def print_config(path):
    r = subprocess.run([BIN, "stream", "--config", path, "--print-config"], capture_output=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise RuntimeError(f"--print-config exited {r.returncode}: {r.stderr.decode()[-2000:]}")
    return r.stdout.decode()


def main():
    tmp = tempfile.mkdtemp(prefix="rtetl_expr_")
    path = os.path.join(tmp, "pipeline.yaml")
    with open(path, "w") as f:
        f.write(PIPELINE.format(topic=topic, keyspace=keyspace, table=TABLE))

    # --print-config: the mappings as written, and a dump that loads again to itself.
    dumped = print_config(path)
    check_true("print-config shows the expression mapping",
               '"first_name": "concat(first_name, \' \', last_name)"' in dumped, dumped[-800:])
    path2 = os.path.join(tmp, "dumped.yaml")
    with open(path2, "w") as f:
        f.write(dumped)
    check("print-config output loads to the same config", dumped.split("\n", 1)[1],
          print_config(path2).split("\n", 1)[1])

    cluster, s = cassandra_session()
    s.execute(f"CREATE KEYSPACE {keyspace} WITH replication = "
              "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    s.execute(f"CREATE TABLE {keyspace}.{TABLE} (id text PRIMARY KEY, email text, first_name text,"
              " last_name text, dob timestamp, id_v5 uuid, src text, part int, hdr text)")
    cluster.shutdown()

    create_topic(topic, 1)
    p = kafka_producer()
    for value, headers in RECORDS:
        p.produce(topic, value=json.dumps(value).encode(), key=value["id"].encode(),
                  headers=headers or None)
    check("all produced", 0, p.flush(60))
    log(f"produced {len(RECORDS)} records to {topic}")

    with Procs() as procs:
        rc, out, counts = run_stream(procs, "expr", topic, unique("g_expr"), keyspace,
                                     "--config", path)
    check("exits 0", 0, rc)
    check("written", 2, counts.get("written"))
    check("filtered (a field expression and a Kafka header)", 2, counts.get("filtered"))
    check("dead-lettered", 1, counts.get("dead_lettered"))

    rows = table_rows(keyspace, TABLE)
    check("rows", ["u1", "u2"], sorted(rows))
    u1, u2 = rows.get("u1", {}), rows.get("u2", {})
    check("lower(trim(email))", "ana@example.com", u1.get("email"))
    check("concat(first_name, ' ', last_name)", "Ana Lima", u1.get("first_name"))
    check("concat with a null part is null", None, u2.get("first_name"))
    check("to_timestamp into a timestamp column", datetime.datetime(1990, 5, 17, 10, 20, 30, 456000),
          u1.get("dob"))
    check("to_timestamp of a date", datetime.datetime(1985, 1, 2), u2.get("dob"))
    check("uuid_v5 into a uuid column", uuid.uuid5(uuid.NAMESPACE_DNS, "u1"), u1.get("id_v5"))
    check("kafka.topic", topic, u1.get("src"))
    check("kafka.partition", 0, u1.get("part"))
    check("kafka.header('source')", "crm", u1.get("hdr"))
    check("absent header is null", None, u2.get("hdr"))
    check("a plain field column", "Lima", u1.get("last_name"))

    dl = dead_letters(topic)
    check("one dead letter", 1, len(dl))
    for (part, off), (reason, value, detail) in dl.items():
        check("dead letter reason", "expr_failed", reason)
        check("dead letter is the bad record", "u3", json.loads(value).get("id"))
        check_true("dead letter names the column and the expression's reason",
                   "column dob = to_timestamp(dob): to_timestamp: not an ISO-8601 timestamp: "
                   "'not-a-date'" in detail, detail)


if __name__ == "__main__":
    try:
        main()
    finally:
        drop_keyspace(keyspace)
    sys.exit(finish())
