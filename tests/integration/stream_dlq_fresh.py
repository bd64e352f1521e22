"""Dead letters produced right after rtetl stream created their topic.

rtetl stream creates its dead-letter topic at start-up and may produce to it a few milliseconds
later (the first records of the source can be bad). Records produced to a topic whose partitions
have no leader yet went missing although reported delivered (the ingest producer, commit
e6191af), so the dead-letter producer must wait for the new topic like the ingest one does. Each
round: a fresh source topic whose first K records are malformed, a fresh dead-letter topic name,
`rtetl stream --until-caught-up`; the dead-letter topic must hold exactly those K records, one per
source offset, and the stream must count K dead letters. (It passed before the wait as well, in
8 rounds: the stream joins its group for seconds after creating the topic, so the first dead
letter comes late enough; it guards the path, it did not reproduce a loss.)
"""
import os

from rtetl_testlib import (Procs, check, check_true, create_topic, delete_topics, drop_keyspace,
                           finish, kcat_records, produce, run_stream, unique)

ROUNDS = int(os.environ.get("RTETL_DLQ_FRESH_ROUNDS", "3"))
K = 400


def one_round(procs, i, keyspace):
    topic, dlq, group = unique("dlqfresh"), unique("dlqfresh_dl"), unique("g_dlqfresh")
    try:
        create_topic(topic, 1)
        produce(topic, [f'{{"id": "broken {n}'.encode() for n in range(K)])
        rc, out, st = run_stream(procs, f"round{i}", topic, group, keyspace, "--until-caught-up",
                                 "--dlq-topic", dlq)
        check(f"round {i}: exits 0", 0, rc)
        check_true(f"round {i}: created the dead-letter topic",
                   "created the dead-letter topic" in out, out[-1500:])
        check(f"round {i}: {K} records dead-lettered", K, st.get("dead_lettered"))
        recs = kcat_records(dlq)
        offsets = sorted(int(h.get(b"rtetl.source.offset", b"-1")) for h, _ in recs)
        check(f"round {i}: the dead-letter topic holds each of the {K} records once",
              list(range(K)), offsets)
    finally:
        for t in (topic, dlq):
            delete_topics(t)


def main():
    keyspace = unique("ks_dlqfresh")
    with Procs() as procs:
        try:
            for i in range(1, ROUNDS + 1):
                one_round(procs, i, keyspace)
        finally:
            drop_keyspace(keyspace)
    finish()


if __name__ == "__main__":
    main()
