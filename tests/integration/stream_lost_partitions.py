"""A member whose partitions are lost, and given back to it, resumes from what it had finished.

librdkafka (up to 2.9) declares a member's assignment lost when one of its commits comes back
ILLEGAL_GENERATION, which rtetl's periodic commit did when it was queued behind the member's
JoinGroup at the start of a rebalance. A lost revocation commits nothing, so the partitions
restarted from the previous periodic commit: stream_until_caught_up's two-member part consumed
thousands of records twice (2,899 of 60,000 in one run of 33, with "lost=1" in the log, when the
other member had just left). The same loss is forced here deterministically: a single
--until-caught-up member (one record in flight at a time, so it works for seconds) is stopped
with SIGSTOP until the broker drops it from the group (session.timeout.ms 6 s), then continued:
its heartbeat or commit finds it unknown, librdkafka revokes its partitions as lost, it rejoins
and gets them all back at the group's stale committed offsets. It must resume from its own
progress instead: at most the one record in flight at the loss is read twice, and the group
ends at the high watermarks.
"""
import signal

from rtetl_testlib import (BIN, BROKERS, Procs, check, check_true, delete_topics, drop_keyspace,
                           finish, rtetl, status_counts, unique, wait_for)

PARTS, N = 3, 30000


def group_state(group):
    from confluent_kafka.admin import AdminClient
    a = AdminClient({"bootstrap.servers": BROKERS})
    try:
        return a.describe_consumer_groups([group])[group].result(timeout=30).state.name
    except Exception as e:  # noqa: BLE001 - a failed describe is retried by the wait
        return f"error: {e}"


def committed_and_watermarks(group, topic):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": BROKERS, "group.id": group, "enable.auto.commit": False})
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTS)]
        return ([tp.offset for tp in c.committed(tps, timeout=30)],
                [c.get_watermark_offsets(tp, timeout=30)[1] for tp in tps])
    finally:
        c.close()


def main():
    topic, group, keyspace = unique("lostparts"), unique("g_lost"), unique("ks_lost")
    with Procs() as procs:
        try:
            rtetl("ingest", "--source", "builtin", "--count", str(N), "--seed", "47", "--topic",
                  topic, "--partitions", str(PARTS), "--brokers", BROKERS, "--quiet", timeout=180)
            p = procs.start("member", [
                BIN, "stream", "--mode", "initial", "--topic", topic, "--group", group,
                "--keyspace", keyspace, "--brokers", BROKERS, "--until-caught-up",
                "--max-inflight", "1", "--status-interval", "500ms",
                "-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=500"])
            wait_for("the member to have consumed 3,000 records", lambda: status_counts(
                procs.output(p), "status").get("consumed", 0) >= 3000 or p.poll() is not None,
                timeout=120, interval=0.05)
            check_true("the member is still working when stopped", p.poll() is None)
            p.send_signal(signal.SIGSTOP)
            try:
                wait_for("the broker to drop the stopped member", lambda: group_state(group) ==
                         "EMPTY", timeout=60, interval=0.5)
            finally:
                p.send_signal(signal.SIGCONT)
            wait_for("the member to exit", lambda: p.poll() is not None, timeout=300)
            out = procs.output(p)
            check("the member exits 0", 0, p.returncode)
            check_true("its partitions were revoked as lost", "lost=1" in out, out[-3000:])
            check_true("and assigned to it again", out.count('msg="partitions assigned"') >= 2,
                       out[-3000:])
            consumed = status_counts(out).get("consumed", 0)
            check_true(f"at most the record in flight is read twice (consumed {consumed} of {N})",
                       N <= consumed <= N + 1, out[-3000:])
            cm, hw = committed_and_watermarks(group, topic)
            check("the group committed the high watermarks", hw, cm)
        finally:
            drop_keyspace(keyspace)
            delete_topics(topic)
    finish()


if __name__ == "__main__":
    main()
