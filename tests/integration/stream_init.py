"""`rtetl init` on a topic of reference-shaped records, its YAML run by `rtetl stream`, and
`rtetl stream --dry-run` (issue #15).

Records come from `rtetl fake-api` (started by the .sh wrapper), flattened as the reference's
producer does -- post_code a JSON number for some countries and a string for others -- and sent
with kafka-python without a key; a few lose the '@' of their email. Then:
- `rtetl init` prints a YAML that `rtetl stream --config gen.yaml --print-config` loads; id is
  the primary key and the only required field, the 12 fields are typed string (post_code too, as
  the reference's StringType schema), dob and registered_date carry the commented to_timestamp
  alternative, post_code's comment counts its numbers and strings, and the CREATE TABLE comment is
  the reference table's;
- `rtetl stream --config gen.yaml --filter "contains(email, '@')" --until-caught-up` into a fresh
  keyspace writes a table equal, row for row, to the reference pipeline's (`rtetl stream` without
  --config, into another keyspace) and to the records as Spark's from_json stores them, with the
  same column types;
- `--dry-run --sample N` prints for every record the row the stream writes (or the filter's
  skip), creates no keyspace and commits nothing for its group, and starts at a group's
  committed offsets.
"""
import json
import os
import re
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from rtetl_testlib import (BIN, BROKERS, FIELDS, cassandra_session, check, check_true,
                           committed_lag, create_topic, drop_keyspace, finish, log, reference_record,
                           rtetl, spark_text, table_rows, unique)

API = os.environ["RTETL_FAKE_API_URL"]
PAGES, PER_PAGE = 2, 300  # 600 users
NO_AT_EVERY = 53
PARTITIONS = 3
FILTER = "contains(email, '@')"

topic = unique("init")
ks_gen, ks_ref, ks_dry = unique("ks_init_gen"), unique("ks_init_ref"), unique("ks_init_dry")
group_gen, group_ref, group_dry = unique("g_init_gen"), unique("g_init_ref"), unique("g_init_dry")
tmp = tempfile.mkdtemp(prefix="rtetl-init-")
gen_yaml = os.path.join(tmp, "gen.yaml")


def api_users(results):
    with urllib.request.urlopen(f"{API}?results={results}", timeout=30) as r:
        return json.loads(r.read().decode("utf-8"))["results"]


def send_with_kafka_python(records):
    """As the reference's producer: kafka-python, no key, JSON in UTF-8. Returns the (partition,
    offset) of each record."""
    from kafka import KafkaProducer
    producer = KafkaProducer(bootstrap_servers=BROKERS, max_block_ms=60000)
    futures = [producer.send(topic, json.dumps(rec).encode("utf-8")) for rec in records]
    producer.flush(timeout=60)
    where = [(md.partition, md.offset) for md in (f.get(timeout=60) for f in futures)]
    producer.close(timeout=30)
    return where


def cql_literal(v):
    """A text value as the dry run prints it: a CQL string literal, or null."""
    return "null" if v is None else "'" + v.replace("'", "''") + "'"


def column_types(keyspace, table="tb_usuarios"):
    cluster, s = cassandra_session()
    try:
        rows = s.execute("SELECT column_name, type, kind FROM system_schema.columns "
                         "WHERE keyspace_name = %s AND table_name = %s", (keyspace, table))
        return sorted((r.column_name, r.type, r.kind) for r in rows)
    finally:
        cluster.shutdown()


def keyspace_exists(keyspace):
    cluster, s = cassandra_session()
    try:
        return s.execute("SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = %s",
                         (keyspace,)).one() is not None
    finally:
        cluster.shutdown()


def check_yaml(text, records):
    """The generated pipeline, read through --print-config (what the stream really loads)."""
    rc, dump, err = rtetl("stream", "--config", gen_yaml, "--print-config", check_rc=False)
    check("the YAML loads: --print-config exits 0", 0, rc)
    if rc:
        log(err)
    fields = re.findall(r'- \{name: "([^"]+)", type: (\w+), required: (\w+)', dump)
    check("12 fields in the records' order, all string, only id required",
          [(f, "string", "true" if f == "id" else "false") for f in FIELDS], fields)
    check("id is the primary key", ['  primary_key: ["id"]'],
          re.findall(r"^  primary_key: .*$", dump, re.M))
    check("the source topic", [f'  topic: "{topic}"'], re.findall(r"^  topic: .*$", dump, re.M))
    check("the filter keeps every record", ['filter: ""'], re.findall(r"^filter: .*$", dump, re.M))
    numbers = sum(isinstance(r["post_code"], int) for r in records)
    strings = sum(isinstance(r["post_code"], str) for r in records)
    check("post_code's statistics count its numbers and strings",
          [f"# present 100%, null 0%, types: string {strings}, int {numbers};"],
          re.findall(r"# present [^;]*;(?=[^\n]*\n\s*- \{name: \"post_code\")", text))
    check("to_timestamp alternatives for dob and registered_date",
          ['# "dob": "to_timestamp(dob)"', '# "registered_date": "to_timestamp(registered_date)"'],
          re.findall(r'# "\w+": "to_timestamp\(\w+\)"', text))
    want_table = (f"CREATE TABLE IF NOT EXISTS {ks_gen}.tb_usuarios ("
                  + ", ".join(f"{f} text" for f in FIELDS) + ", PRIMARY KEY (id));")
    check("the CREATE TABLE comment is the reference table's", [want_table],
          re.findall(r"^#   (CREATE TABLE .*)$", text, re.M))


def check_dry_run(records, where):
    """Every record's line, then the summary; no keyspace, no committed offset."""
    rc, out, err = rtetl("stream", "--config", gen_yaml, "--filter", FILTER, "--group", group_dry,
                         "--keyspace", ks_dry, "--brokers", BROKERS, "--dry-run", "--sample",
                         str(len(records)), check_rc=False)
    check("--dry-run exits 0", 0, rc)
    if rc:
        log(err)
    want = {}
    for rec, (p, o) in zip(records, where):
        if "@" in rec["email"]:
            row = ", ".join(f"{f}={cql_literal(spark_text(rec[f]))}" for f in FIELDS)
            want[(p, o)] = f"[{p}:{o}] write {row}"
        else:
            want[(p, o)] = f"[{p}:{o}] skip filtered: not true: {FILTER}"
    got = {}
    for line in out.splitlines():
        m = re.match(r"\[(\d+):(\d+)\] ", line)
        if m:
            got[(int(m.group(1)), int(m.group(2)))] = line
    check("--dry-run prints one line per record", len(records), len(got))
    check("--dry-run lines are the rows written (or the filter's skips)", [],
          [(k, want[k], got.get(k)) for k in want if got.get(k) != want[k]][:3])
    kept = sum("@" in r["email"] for r in records)
    check("--dry-run summary",
          [f"# dry run of {topic}: {len(records)} records: {kept} would be written, "
           f"{len(records) - kept} filtered out, 0 dead-lettered; nothing was written or committed"],
          [ln for ln in out.splitlines() if ln.startswith("# dry run")])
    check_true("--dry-run created no keyspace", not keyspace_exists(ks_dry))
    check("--dry-run committed nothing for its group", None,
          committed_lag(group_dry, topic, PARTITIONS))
    # A smaller sample stops at N records.
    rc, out, _ = rtetl("stream", "--config", gen_yaml, "--group", group_dry, "--dry-run",
                       "--sample", "5", check_rc=False)
    check("--dry-run --sample 5: five lines", (0, 5),
          (rc, sum(1 for ln in out.splitlines() if re.match(r"\[\d+:\d+\] write ", ln))))


try:
    records = [reference_record(u) for _ in range(PAGES) for u in api_users(PER_PAGE)]
    for i in range(0, len(records), NO_AT_EVERY):
        records[i]["email"] = records[i]["email"].replace("@", " at ")
    check_true("numeric and string postcodes",
               any(isinstance(r["post_code"], int) for r in records)
               and any(isinstance(r["post_code"], str) for r in records))
    create_topic(topic, PARTITIONS)
    where = send_with_kafka_python(records)
    check("kafka-python delivered every record", len(records), len(where))

    rc, text, err = rtetl("init", "--topic", topic, "--brokers", BROKERS, "--sample", "5000",
                          "--keyspace", ks_gen, "--table", "tb_usuarios", check_rc=False)
    check("rtetl init exits 0", 0, rc)
    if rc:
        log(err)
    with open(gen_yaml, "w") as f:
        f.write(text)
    log(text[:3000])
    check_true("init sampled every record", f"inferred from {len(records)} JSON records" in text)
    check_yaml(text, records)
    check_dry_run(records, where)

    rc, _, err = rtetl("stream", "--config", gen_yaml, "--filter", FILTER, "--group", group_gen,
                       "--brokers", BROKERS, "--until-caught-up", "--status-interval", "0",
                       check_rc=False, timeout=300)
    check("the generated pipeline runs: exit 0", 0, rc)
    rc, _, err2 = rtetl("stream", "--topic", topic, "--group", group_ref, "--keyspace", ks_ref,
                        "--brokers", BROKERS, "--until-caught-up", "--status-interval", "0",
                        check_rc=False, timeout=300)
    check("the reference pipeline runs: exit 0", 0, rc)
    if rc:
        log(err[-2000:] + err2[-2000:])
    check("the stream committed its group to the end (the dry run's check can fail)", 0,
          committed_lag(group_gen, topic, PARTITIONS))
    rc, out, _ = rtetl("stream", "--config", gen_yaml, "--group", group_gen, "--dry-run",
                       check_rc=False)
    check("--dry-run starts at the group's committed offsets: nothing left", (0, True),
          (rc, f"# dry run of {topic}: 0 records:" in out))
    gen, ref = table_rows(ks_gen), table_rows(ks_ref)
    want = {r["id"]: {f: spark_text(r[f]) for f in FIELDS} for r in records if "@" in r["email"]}
    check("the reference table holds the records with '@'", len(want), len(ref))
    check("the generated pipeline's table equals the reference's", [],
          [(k, ref.get(k), gen.get(k)) for k in set(ref) | set(gen) if ref.get(k) != gen.get(k)][:3])
    check("... and the records as Spark stores them", [],
          [(k, want[k], gen.get(k)) for k in want if gen.get(k) != want[k]][:3])
    check("same column names and types", column_types(ks_ref), column_types(ks_gen))
    # A missing topic is one error line and exit 1.
    rc, out, err = rtetl("init", "--topic", unique("init_missing"), "--timeout", "10s",
                         check_rc=False)
    check("init of a missing topic: exit 1, one line", (1, 1, ""),
          (rc, len(err.strip().splitlines()), out))
    empty = unique("init_empty")
    create_topic(empty, 1)
    rc, out, err = rtetl("init", "--topic", empty, check_rc=False)
    check("init of an empty topic: exit 1 and why", (1, f"rtetl init: error: topic {empty} is empty: "
                                                        "nothing to sample\n", ""), (rc, err, out))
finally:
    for ks in (ks_gen, ks_ref, ks_dry):
        drop_keyspace(ks)
finish()
