"""End-to-end test of `rtetl stream` against the real local Kafka and Cassandra.

50,000 records from `rtetl ingest --source builtin` plus a crafted set of bad messages go into a
fresh 3-partition topic; `rtetl stream --mode initial` drains it into a fresh keyspace. The table
must hold exactly the good records whose email contains '@', field for field (read back with the
official Python driver); the dead-letter topic exactly the bad ones, unchanged, with reasons; the
filtered count must match; the group's committed offsets must reach the end of every partition.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from rtetl_testlib import (FIELDS, Procs, cassandra_session, check, check_true, create_topic,
                           drop_keyspace, expected_rows, finish, kcat_payloads, kcat_records, produce, log,
                           rtetl, run_stream, unique, BROKERS)

N = int(os.environ.get("RTETL_E2E_RECORDS", "50000"))
topic = unique("e2e")
keyspace = unique("ks_e2e")
group = unique("g_e2e")


def good(**over):
    rec = {f: f"{f}-value" for f in FIELDS}
    rec["id"] = unique("crafted")
    rec["email"] = "someone@example.com"
    rec.update(over)
    return rec


bad = {
    "malformed_json": b'{"id": "x1", "first_name": ',
    "missing_field": json.dumps({k: v for k, v in good().items() if k != "id"}).encode(),
    "invalid_utf8": json.dumps(good()).encode().replace(b"first_name-value", b"bad \xc3\x28 byte"),
    "empty": b"",
    "value_too_large": json.dumps(good(address="x" * (2 * 1024 * 1024))).encode(),
    # Over the pipeline's 4 MiB message bound, and too large for the dead-letter topic too:
    # it is dead-lettered with its value cut, and a header giving the original length.
    "message_too_large": json.dumps(good(address="y" * (6 * 1024 * 1024))).encode(),
}
no_at = json.dumps(good(email="no-at-sign.example.com")).encode()
# Values that are not JSON strings are stored as the text Spark's from_json gives them, and of a
# duplicate key the last one wins (the row check compares with rtetl_testlib.spark_text).
converted_id = unique("converted")
converted = json.dumps(good(id=converted_id, post_code=12345, gender=True, phone=1e3,
                            address={"street": [1, 2.50], "city": "S\u00e3o Paulo"})).encode()
converted = converted[:-1] + b', "username": "first", "username": "last"}'
hostile = json.dumps(good(first_name="Zoë \"quoted\" \\ back\\slash 日本語 \u0000nul",
                          last_name="")).encode()

try:
    create_topic(topic, 3)
    rtetl("ingest", "--source", "builtin", "--count", str(N), "--seed", "7", "--topic", topic,
          "--brokers", BROKERS, "--quiet")
    crafted = list(bad.values()) + [no_at, hostile, converted]
    produce(topic, crafted)

    # What the topic really holds is the reference for the expected table.
    payloads = kcat_payloads(topic)
    check("topic holds every produced message", N + len(crafted), len(payloads))
    want = expected_rows(payloads)

    with Procs() as procs:
        rc, _, counts = run_stream(procs, "stream", topic, group, keyspace, timeout=600)
        check("stream exits 0 after idling", 0, rc)

    cluster, s = cassandra_session(keyspace)
    rows = {r.id: {f: getattr(r, f) for f in FIELDS}
            for r in s.execute("SELECT * FROM tb_usuarios", timeout=120)}
    cluster.shutdown()
    check("row count equals good records with '@'", len(want), len(rows))
    mismatched = [k for k in want if rows.get(k) != want[k]]
    check("every row equals its record field for field", [], mismatched[:5])
    check("no unexpected rows", [], sorted(set(rows) - set(want))[:5])
    check_true("hostile text survived (quotes, backslash, NUL, CJK, empty)",
               any(r["first_name"].startswith("Zoë \"quoted\" \\") and "\x00nul" in r["first_name"]
                   and r["last_name"] == "" for r in rows.values()))

    got = rows.get(converted_id) or {}
    check("converted values stored as Spark's text",
          {"post_code": "12345", "gender": "true", "phone": "1000.0",
           "address": '{"street":[1,2.5],"city":"S\u00e3o Paulo"}', "username": "last"},
          {f: got.get(f) for f in ("post_code", "gender", "phone", "address", "username")})

    reasons, truncated = {}, {}
    for h, value in kcat_records(topic + ".dlq"):
        reason = h.get(b"rtetl.error", b"?").decode()
        reasons[reason] = value
        if b"rtetl.truncated" in h:
            truncated[reason] = int(h[b"rtetl.truncated"])
        check_true(f"dlq {reason} names its source", h.get(b"rtetl.source.topic") == topic.encode()
                   and b"rtetl.source.offset" in h and b"rtetl.error.detail" in h)
    check("dead-letter reasons", sorted(bad), sorted(reasons))
    for reason, value in bad.items():
        if reason == "message_too_large":
            got = reasons.get(reason) or b""
            check("dlq message_too_large names the original length", len(value),
                  truncated.get(reason))
            check_true("dlq message_too_large carries the value's head",
                       0 < len(got) < len(value) and value.startswith(got))
        else:
            check(f"dlq {reason} payload unchanged", value, reasons.get(reason))
    check("only the oversize record was cut", ["message_too_large"], sorted(truncated))
    check("dead_lettered counter", len(bad), counts.get("dead_lettered"))
    filtered = sum(1 for raw in payloads if raw not in bad.values()) - len(want)
    check("filtered counter", filtered, counts.get("filtered"))
    check("written counter", len(want), counts.get("written"))

    # Committed offsets reach the end of every partition.
    import subprocess
    g = subprocess.run([os.path.join(os.environ.get("RTETL_SRC", "."), "scripts", "stack"),
                        "groups", "--describe", "--group", group], capture_output=True, text=True,
                       timeout=180)
    lags = [ln.split() for ln in g.stdout.splitlines() if ln.split()[1:2] == [topic]]
    check("group has a committed offset per partition", 3, len(lags))
    if len(lags) != 3:
        log(g.stdout)
    check("no lag left on any partition", ["0"] * len(lags),
          [cols[5] if len(cols) > 5 else "?" for cols in lags])
finally:
    drop_keyspace(keyspace)
finish()
