"""The conformance table of `rtetl stream`, one named check per kind of input, on the real stack.

Each input is crafted byte for byte and produced with confluent-kafka (librdkafka's client, not
rtetl's) to a fresh one-partition topic, so message i sits at offset i; `rtetl stream` drains
the topic and each check compares the outcome of its message -- the row in the table with the
exact stored text, or the dead-letter record in `<topic>.dlq` with its `rtetl.error` reason --
with the intended behaviour: what the reference's Spark job (from_json with a StringType schema)
would store, or a dead letter where rtetl is deliberately stricter. The check names are the
names README's conformance table uses.

Two pipelines: the built-in reference pipeline (12 string fields, id required, filter
contains(email, '@')) and a small YAML pipeline with an int field and a 16-byte max_bytes.
"""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from rtetl_testlib import (Procs, check, check_true, create_topic, dead_letters, drop_keyspace,
                           finish, log, produce, run_stream, table_rows, unique)

keyspace = unique("ks_conf")
EMAIL = '"email": "someone@example.com"'

# Reasons that say clearly why Cassandra cannot take a primary key (empty, or over 65,535 bytes).
KEY_REASONS = {"write_rejected", "invalid_key", "empty_key", "key_too_large"}


def obj(name, extra="", ident=None):
    """A JSON object whose id names its row, kept by the filter, with raw JSON text `extra`
    spliced in after the email (so numbers like 1.50 and duplicate keys stay byte-exact)."""
    ident = json.dumps(f"conf_{name}") if ident is None else ident
    return f'{{"id": {ident}, {EMAIL}{extra}}}'.encode()


def row(**cols):
    return ("row", cols)


def dlq(reason):
    return ("dlq", reason)


# (check name, message value, expected outcome); every message is keyed by its check name but
# no_kafka_key's. Outcome "row" lists the columns to compare (None: null in the table).
REFERENCE_ROWS = [
    ("malformed_json", b'{"id": "conf_malformed_json", "first_name": ', dlq("malformed_json")),
    ("not_object_array", b"[1]", dlq("not_object")),
    ("not_object_string", b'"x"', dlq("not_object")),
    ("not_object_null", b"null", dlq("not_object")),
    ("empty_message", b"", dlq("empty")),
    ("tombstone", None, dlq("empty")),
    ("missing_field", obj("missing_field"), row(first_name=None, post_code=None)),
    ("missing_required_field", b'{"first_name": "no id", ' + EMAIL.encode() + b"}",
     dlq("missing_field")),
    ("explicit_null", obj("explicit_null", ', "first_name": null'), row(first_name=None)),
    ("null_required_field", obj("null_required_field", ident="null"), dlq("null_field")),
    ("number_as_string", obj("number_as_string", ', "post_code": 58378'), row(post_code="58378")),
    ("float_as_string", obj("float_as_string", ', "post_code": 1.50'), row(post_code="1.5")),
    ("float_exponent_as_string", obj("float_exponent_as_string", ', "post_code": 1e3'),
     row(post_code="1000.0")),
    ("object_as_string", obj("object_as_string", ', "address": {"k": [1, 2]}'),
     row(address='{"k":[1,2]}')),
    ("array_as_string", obj("array_as_string", ', "address": [1, 2]'), row(address="[1,2]")),
    ("boolean_as_string", obj("boolean_as_string", ', "gender": true'), row(gender="true")),
    ("duplicate_keys", obj("duplicate_keys", ', "first_name": "first", "first_name": "last"'),
     row(first_name="last")),
    ("invalid_utf8", obj("invalid_utf8", ', "first_name": "bad XX byte"').replace(
        b"XX", b"\xc3\x28"), dlq("invalid_utf8")),
    ("invalid_escape", obj("invalid_escape", r', "first_name": "bad \q escape"'),
     dlq("invalid_escape")),
    ("utf8_bom", b"\xef\xbb\xbf" + obj("utf8_bom"), dlq("malformed_json")),
    ("too_deep", obj("too_deep", ', "unknown": ' + "[" * 600 + "]" * 600), dlq("too_deep")),
    ("no_kafka_key", obj("no_kafka_key", ', "first_name": "keyless"'), row(first_name="keyless")),
]
# Cassandra rejects an empty partition key and one over 65,535 bytes; rtetl must dead-letter
# such a record with a clear reason (KEY_REASONS) and go on.
KEY_ROWS = [
    ("empty_primary_key", obj("", ident='""')),
    ("oversize_primary_key", obj("", ident=json.dumps("k" * (64 * 1024 + 1)))),
]

PIPELINE_YAML = """
schema:
  - {name: id, type: string, required: true}
  - {name: name, type: string, max_bytes: 16}
  - {name: n, type: int}
filter: "present(id)"
target:
  table: tb_conf
  primary_key: [id]
  mapping: {id: id, name: name, n: n}
"""
YAML_ROWS = [
    ("string_where_number", obj("string_where_number", ', "n": "12"'), dlq("wrong_type")),
    ("number_where_number", obj("number_where_number", ', "n": 12'), row(n=12)),
    ("value_too_large", obj("value_too_large", ', "name": "' + "x" * 17 + '"'),
     dlq("value_too_large")),
    ("value_at_max_bytes", obj("value_at_max_bytes", ', "name": "' + "y" * 16 + '"'),
     row(name="y" * 16)),
]


def outcome(position, ident, dead, rows, columns):
    """What became of the message at (partition, offset) `position` whose id is `ident`."""
    if position in dead:
        log(f"note: {ident} dead-lettered: {dead[position][0]}: {dead[position][2][:200]}")
        return ("dlq", dead[position][0])
    if ident in rows:
        return ("row", {c: rows[ident].get(c) for c in columns})
    return ("neither stored nor dead-lettered",)


def run_case_set(procs, label, cases, *stream_args, table="tb_usuarios"):
    """Produces cases [(name, value, expected or None)] in order to a fresh topic, streams it,
    and returns {name: outcome}."""
    topic = unique(f"conf_{label}")
    create_topic(topic, 1)
    produce(topic, [v for _, v, _ in cases],
            [None if n == "no_kafka_key" else n for n, _, _ in cases])
    rc, _, counts = run_stream(procs, f"stream-{label}", topic, unique(f"g_{label}"), keyspace,
                               *stream_args, timeout=180)
    check(f"{label}: stream exits 0 after idling", 0, rc)
    dead = dead_letters(topic)
    rows = table_rows(keyspace, table)
    results = {}
    for offset, (name, value, expected) in enumerate(cases):
        columns = expected[1].keys() if expected and expected[0] == "row" else []
        results[name] = outcome((0, offset), f"conf_{name}", dead, rows, columns)
        if (0, offset) in dead:
            check(f"{name}: dead letter carries the message unchanged", value or b"",
                  dead[(0, offset)][1])
    check(f"{label}: consumed = written + filtered + dead-lettered", len(cases),
          sum(counts.get(k, 0) for k in ("written", "filtered", "dead_lettered")))
    return results, rows


try:
    with Procs() as procs:
        cases = REFERENCE_ROWS + [(n, v, None) for n, v in KEY_ROWS]
        got, rows = run_case_set(procs, "reference", cases)
        for name, _, expected in REFERENCE_ROWS:
            check(name, expected, got[name])
        for name, _ in KEY_ROWS:
            check_true(name, got[name][0] == "dlq" and got[name][1] in KEY_REASONS,
                       f"expected a dead letter with one of {sorted(KEY_REASONS)}, got {got[name]}")
        check("no row with an empty or oversize key", [], [k for k in rows if not k.startswith("conf_")])

        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write(PIPELINE_YAML)
            f.flush()
            got, _ = run_case_set(procs, "typed", YAML_ROWS, "--config", f.name, table="tb_conf")
        for name, _, expected in YAML_ROWS:
            check(name, expected, got[name])
finally:
    drop_keyspace(keyspace)
finish()
