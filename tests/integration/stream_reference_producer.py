"""rtetl stream fed by the reference's own kind of producer, read back by the reference's readers.

The producer here is written from the description of the "real-time-etl-stack" reference's: it
fetches users from the randomuser-compatible API (`rtetl fake-api`, started by the .sh wrapper,
its URL in RTETL_FAKE_API_URL), flattens each into a dict of 12 fields -- post_code exactly as the
API gives it, a JSON number for some countries and a string for others -- and sends
json.dumps(record).encode('utf-8') with kafka-python's KafkaProducer, without a key. A few records
get an email without '@'. `rtetl stream` must store every record with '@' as the Spark job's
from_json (StringType schema) would -- a number kept as its text -- and none of the others; the
table is read back with the official Python driver and with real cqlsh. A second batch, produced
with confluent-kafka keyed by id, carries five updated versions of some ids, in order: each of
those rows must end at its last version.
"""
import json
import os
import sys
import urllib.request
from collections import Counter

sys.path.insert(0, os.path.dirname(__file__))
from rtetl_testlib import (BROKERS, FIELDS, Procs, check, check_true, cqlsh, cqlsh_rows,
                           create_topic, dead_letters, drop_keyspace, finish, log, produce,
                           reference_record as format_data, run_stream, table_rows, unique)

API = os.environ["RTETL_FAKE_API_URL"]
PAGES, PER_PAGE = 3, 400  # 1,200 users
NO_AT_EVERY = 97  # every 97th record loses the '@' of its email
UPDATED_IDS, VERSIONS = 25, 5

topic = unique("refprod")
keyspace = unique("ks_refprod")
group = unique("g_refprod")


def get_data(results):
    """One page of users from the API, as the reference's get_data did with requests."""
    with urllib.request.urlopen(f"{API}?results={results}", timeout=30) as r:
        return json.loads(r.read().decode("utf-8"))["results"]


def spark_string(v):
    """What Spark's from_json stores for a JSON value in a StringType column: a string as is,
    any other value as the JSON text Jackson regenerates (an integer as its digits)."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, float):
        raise AssertionError("the API gives integer postcodes; Java's Double.toString not modelled")
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def send_with_kafka_python(records):
    """Sends each record as the reference's producer did: kafka-python, no key, JSON in UTF-8."""
    from kafka import KafkaProducer
    producer = KafkaProducer(bootstrap_servers=BROKERS, max_block_ms=60000)
    futures = [producer.send(topic, json.dumps(rec).encode("utf-8")) for rec in records]
    producer.flush(timeout=60)
    delivered = sum(1 for f in futures if f.succeeded())
    producer.close(timeout=30)
    return delivered


def versions_of(rec):
    """Five updated versions of a record, the last one the newest."""
    return [{**rec, "first_name": f"{rec['first_name']} v{v}", "phone": f"v{v}-{rec['phone']}"}
            for v in range(1, VERSIONS + 1)]


def check_cqlsh(want):
    """Real cqlsh prints rtetl's rows, and the fields of a few of them equal the records."""
    plain = cqlsh(f"SELECT * FROM {keyspace}.tb_usuarios LIMIT 5")
    log(plain)
    check_true("cqlsh: SELECT * ... LIMIT 5 prints 5 rows", "(5 rows)" in plain)
    shown = cqlsh_rows(f"SELECT * FROM {keyspace}.tb_usuarios LIMIT 5")
    check("cqlsh: 5 rows in the vertical layout", 5, len(shown))
    check("cqlsh: the 12 columns", sorted(FIELDS), sorted(shown[0]) if shown else None)
    for i, row in enumerate(shown):
        check(f"cqlsh: row {i} equals its record field for field", want.get(row.get("id")), row)
    numeric = next((k for k, r in want.items() if r["post_code"].isdigit()), None)
    if numeric:
        got = cqlsh_rows(f"SELECT id, post_code FROM {keyspace}.tb_usuarios WHERE id = '{numeric}'")
        check("cqlsh: a numeric post_code reads back as its digits",
              [{"id": numeric, "post_code": want[numeric]["post_code"]}], got)


try:
    records = [format_data(res) for _ in range(PAGES) for res in get_data(PER_PAGE)]
    for i in range(0, len(records), NO_AT_EVERY):
        records[i]["email"] = records[i]["email"].replace("@", " at ")
    numeric = sum(isinstance(r["post_code"], int) for r in records)
    stringy = sum(isinstance(r["post_code"], str) for r in records)
    log(f"{len(records)} records: {numeric} numeric and {stringy} string postcodes")
    check_true("the API gives numeric postcodes for some countries", numeric > 0)
    check_true("the API gives string postcodes for others", stringy > 0)
    check("every record has the 12 fields", [FIELDS] * len(records), [list(r) for r in records])

    create_topic(topic, 3)
    check("kafka-python delivered every record", len(records), send_with_kafka_python(records))
    want = {r["id"]: {f: spark_string(r[f]) for f in FIELDS} for r in records if "@" in r["email"]}

    with Procs() as procs:
        rc, _, counts = run_stream(procs, "stream-1", topic, group, keyspace)
        check("stream exits 0 after idling", 0, rc)
        check("counters: written, filtered, dead-lettered",
              (len(want), len(records) - len(want), 0),
              (counts.get("written"), counts.get("filtered"), counts.get("dead_lettered")))
        if counts.get("dead_lettered"):
            check("nothing is dead-lettered (reasons)", {},
                  dict(Counter(d[0] for d in dead_letters(topic).values())))
        rows = table_rows(keyspace)
        check("row count equals the records with '@'", len(want), len(rows))
        check("every record with '@' is stored as Spark would, field for field", [],
              [(k, want[k], rows.get(k)) for k in want if rows.get(k) != want[k]][:3])
        check("no record without '@' is stored", [],
              [r["id"] for r in records if "@" not in r["email"] and r["id"] in rows])
        check_true("numeric postcodes stored as their text",
                   any(isinstance(r["post_code"], int) and rows.get(r["id"], {}).get("post_code")
                       == str(r["post_code"]) for r in records))
        check_cqlsh(want)

        # Updated versions, keyed by id, produced in order with librdkafka's client.
        updated = [r for r in records if "@" in r["email"]][:UPDATED_IDS]
        batches = [versions_of(r) for r in updated]
        payloads, keys = [], []
        for v in range(VERSIONS):  # interleaved across keys, in order within each key
            for rec_versions in batches:
                payloads.append(json.dumps(rec_versions[v]).encode("utf-8"))
                keys.append(rec_versions[v]["id"])
        produce(topic, payloads, keys)
        rc, _, counts = run_stream(procs, "stream-2", topic, group, keyspace)
        check("second run exits 0 after idling", 0, rc)
        check("second run writes only the updates", len(payloads), counts.get("written"))
        rows = table_rows(keyspace)
        last = {vs[-1]["id"]: {f: spark_string(vs[-1][f]) for f in FIELDS} for vs in batches}
        check("each updated id ends at its last version", [],
              [(k, {f: (last[k][f], (rows.get(k) or {}).get(f)) for f in FIELDS
                    if last[k][f] != (rows.get(k) or {}).get(f)})
               for k in last if rows.get(k) != last[k]][:5])
        check("row count unchanged by the updates", len(want), len(rows))
finally:
    drop_keyspace(keyspace)
finish()
