"""Replica-grouped unlogged batches in the stream sink (issue #12).

One 2-partition topic, produced with confluent-kafka: 200 keys x 10 versions of the 12-field
user record, keyed by id, interleaved, every record of a round with the same CreateTime (ties:
only the write-timestamp chain orders them), and 6 records whose id is "" spread among them
(Cassandra refuses an empty partition key, and refuses a whole batch for one of them).

Run 1, batches on (--batch-rows 64): exit 0; every good record written, every key at its last
version (Kafka order holds inside and across batches); the 6 bad records, and only they, are
dead-lettered as write_rejected with the server's message (their batches were split down to the
record); the final status line shows batches (rows per batch > 1) and splits.
Run 2, batches off (--batch-rows 0) into a fresh keyspace: the same table and dead letters.
Neither run makes Cassandra log a batch over its batch_size_warn_threshold (5 KiB: the default
--batch-bytes budgets the size as the server counts it; these rows, 17 to a batch under the old
4 KiB of encoded bytes, made it warn for every batch).
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from rtetl_testlib import (FIELDS, STACK_DIR, Procs, check, check_true, create_topic, kcat_records,
                           drop_keyspace, finish, log, produce, run_stream, table_rows, unique)

KEYS, VERSIONS, PARTITIONS = 200, 10, 2
topic = unique("batch")
keyspaces = [unique("ks_batch_on"), unique("ks_batch_off")]


def record(k, v):
    rec = {f: f"{f}-{k}" for f in FIELDS}
    rec.update(id=f"k{k:04d}", email=f"u{k}@example.com", username=f"v{v}",
               last_name=f"last-v{v}")
    return rec


def batch_warnings(keyspace):
    """Cassandra's 'Batch for [ks.table] is of size ...' warnings about keyspace, from every
    system.log of the stack's node (rotated ones too)."""
    logs = os.path.join(STACK_DIR, "cassandra", "logs")
    check_true(f"the node's logs are at {logs}", os.path.isdir(logs))
    found = []
    for name in sorted(os.listdir(logs)) if os.path.isdir(logs) else []:
        if name.startswith("system.log"):
            with open(os.path.join(logs, name), errors="replace") as f:
                found += [ln.strip() for ln in f if f"Batch for [{keyspace}." in ln]
    return found


def main():
    import json
    payloads, keys, stamps, bad = [], [], [], []
    base = int(time.time() * 1000) - 60_000
    for v in range(1, VERSIONS + 1):
        for k in range(KEYS):
            payloads.append(json.dumps(record(k, v)).encode())
            keys.append(f"k{k:04d}".encode())
            stamps.append(base + v)  # one millisecond per round: ties everywhere
            if v in (2, 5, 9) and k in (17, 151):
                bad.append(len(payloads))
                rec = record(k, v)
                rec["id"] = ""
                payloads.append(json.dumps(rec).encode())
                keys.append(b"bad")
                stamps.append(base + v)
    create_topic(topic, PARTITIONS)
    produce(topic, payloads, keys=keys, timestamps=stamps)
    log(f"produced {len(payloads)} records ({len(bad)} with an empty id) to {topic}")
    bad_payloads = sorted(payloads[i] for i in bad)
    with Procs() as procs:
        for ks, extra, label in ((keyspaces[0], ["--batch-rows", "64"], "batches on"),
                                 (keyspaces[1], ["--batch-rows", "0"], "batches off")):
            rc, out, counts = run_stream(procs, label.replace(" ", "-"), topic, unique("g_batch"),
                                         ks, "--max-inflight", "512", *extra)
            check(f"{label}: exits 0", 0, rc)
            check(f"{label}: good records written", KEYS * VERSIONS, counts.get("written"))
            check(f"{label}: bad records dead-lettered", len(bad), counts.get("dead_lettered"))
            rows = table_rows(ks)
            stale = sorted(k for k, r in rows.items() if r.get("username") != f"v{VERSIONS}")
            check(f"{label}: every key present", KEYS, len(rows))
            check(f"{label}: every key at its last version (first stale: {stale[:3]})", 0,
                  len(stale))
            m = re.findall(r"msg=final .*rows_per_batch=([0-9.]+) batch_splits=(\d+)", out)
            per_batch, splits = (float(m[-1][0]), int(m[-1][1])) if m else (None, None)
            if extra[-1] == "64":
                check_true(f"{label}: rows were batched (rows per batch {per_batch})",
                           per_batch is not None and per_batch > 1.5)
                check_true(f"{label}: batches with a bad record were split ({splits})",
                           splits is not None and splits >= 1)
                warned = batch_warnings(ks)
                check(f"{label}: no batch over the server's warn threshold ({warned[:1]})", 0,
                      len(warned))
            else:
                check(f"{label}: no batches", 0.0, per_batch)
    # Both runs dead-letter the same 6 records: 12 dead letters, each bad record twice.
    dl = kcat_records(topic + ".dlq")
    reasons = sorted({h.get(b"rtetl.error", b"?").decode() for h, _ in dl})
    check("dead letters: only write_rejected", ["write_rejected"], reasons)
    details = [h.get(b"rtetl.error.detail", b"").decode("utf-8", "replace") for h, _ in dl]
    check_true("dead letters carry the server's message",
               all("empty" in d.lower() for d in details), details[:2])
    check("dead letters are exactly the empty-id records, once per run",
          sorted(bad_payloads * 2), sorted(v for _, v in dl))


if __name__ == "__main__":
    try:
        main()
    finally:
        for ks in keyspaces:
            drop_keyspace(ks)
    sys.exit(finish())
