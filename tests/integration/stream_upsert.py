"""Kafka order per key (issue #11): every row ends as the last record of its key in Kafka.

500 keys x 40 versions of the 12-field user record go into a 4-partition topic, keyed by id,
interleaved across keys (each round holds one version of every key, in a shuffled order) and
with explicit CreateTimes that make ordering by time alone wrong: many records share a
millisecond, some keys have runs of versions with the same timestamp (including the last one),
some keys' timestamps run backwards version after version, some keys' last version is minutes
older than the others, and the whole producer clock steps back at round 31. The version is in
`username` ("v<N>") and `last_name`, so a stale row is visible; the expected row of a key is
its record of version 40.

Phase 1: one `rtetl stream` pass with a large --max-inflight; every key present, none stale.
Phase 2: a replay of the same topic into the same table by a fresh consumer group; none stale,
and no key may regress (read with writetime(username) before, during and after the replay).
Phase 3: a fresh topic and table, produced at a steady rate while the stream runs; the stream
is killed with SIGKILL twice (timed by its own `written` counter) and restarted in the same
group; none stale at the end.
Informational: phase 1 again with --write-timestamp server (printed, not asserted).

The write timestamp is passed as `--write-timestamp kafka` only when `rtetl stream --help`
offers the option, so the test also runs (and fails, showing the stale counts) on a build
without it. RTETL_UPSERT_KEYS / RTETL_UPSERT_VERSIONS change the size, RTETL_UPSERT_INFLIGHT
the --max-inflight (1 serializes the writes: a check of the test itself on a build without
the option).
"""
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(__file__))
from rtetl_testlib import (BIN, BROKERS, FIELDS, Procs, cassandra_session, check, check_true,
                           committed_lag, create_topic, drop_keyspace, finish, kafka_producer, log,
                           pipeline_yaml, produce, progress, status_counts, unique, wait_for)

KEYS = int(os.environ.get("RTETL_UPSERT_KEYS", "500"))
VERSIONS = int(os.environ.get("RTETL_UPSERT_VERSIONS", "40"))
N = KEYS * VERSIONS
PHASE3_SECONDS = 20.0  # production time of phase 3, so the kills land on a live flow
PARTITIONS = 4
INFLIGHT = os.environ.get("RTETL_UPSERT_INFLIGHT", "2048")
keyspace = unique("ks_upsert")
topic, topic3 = unique("upsert"), unique("upsert_kill")
STALE = {}  # phase -> stale keys, for the summary
HAS_WRITE_TS = "write-timestamp" in subprocess.run(
    [BIN, "stream", "--help"], capture_output=True, text=True, timeout=30).stdout


def key_of(k):
    return f"k{k:04d}"


def record(k, v):
    """Version v of key k: every field a string; the version in username and last_name."""
    rec = {f: f"{f}-{k}" for f in FIELDS}
    rec.update(id=key_of(k), username=f"v{v}", last_name=f"last-v{v}",
               email=f"user{k}@example.com")
    return rec


def create_time(k, v, j, base):
    """The CreateTime (ms) of version v of key k, at position j of its round.

    The producer clock advances 20 ms a round and 1 ms every 100 records (so about 100
    records share each millisecond) and steps back 400 ms at round 31. Keys by k % 5:
    1: versions in runs of four share one millisecond (the last run ends at the last version);
    2: the clock runs backwards for this key, each version 20 ms older than the one before;
    3: the last version is five minutes older than everything else; 0 and 4: the clock."""
    clock = base + v * 20 + j // 100 - (400 if v >= 31 else 0)
    kind = k % 5
    if kind == 1:
        return base + ((v - 1) // 4 * 4 + 1) * 20
    if kind == 2:
        return base + (VERSIONS + 1 - v) * 20
    if kind == 3 and v == VERSIONS:
        return base - 300000
    return clock


def rounds(seed):
    """For each version, [(key index, version)] in a shuffled key order."""
    rnd = random.Random(seed)
    out = []
    for v in range(1, VERSIONS + 1):
        order = list(range(KEYS))
        rnd.shuffle(order)
        out.append([(k, v) for k in order])
    return out


def produce_round(t, rnd, base, producer):
    produce(t, [json.dumps(record(k, v)).encode() for k, v in rnd],
            keys=[key_of(k).encode() for k, _ in rnd],
            timestamps=[create_time(k, v, j, base) for j, (k, v) in enumerate(rnd)],
            producer=producer)


def stream_args(t, table, group, extra=(), write_ts="kafka"):
    yaml = pipeline_yaml(os.path.join(procs.tmp, f"{table}.yaml"), t, keyspace, table)
    ts = ["--write-timestamp", write_ts] if HAS_WRITE_TS else []
    return [BIN, "stream", "--config", yaml, "--group", group, "--brokers", BROKERS,
            "--max-inflight", INFLIGHT, "--status-interval", "0.1s", *ts,
            # A killed member is evicted when its session times out: the broker's minimum
            # (6 s) lets a restart get its partitions back soon.
            "-X", "session.timeout.ms=6000", *extra]


def read_rows(table):
    """{id: (version, writetime(username), full row dict)} as Cassandra holds it now."""
    rows = session.execute(f"SELECT {', '.join(FIELDS)}, writetime(username) AS wt "
                           f"FROM {keyspace}.{table}",
                           timeout=60)
    return {r.id: (int(r.username[1:]), r.wt, {f: getattr(r, f) for f in FIELDS}) for r in rows}


def check_final(phase, table, assert_it=True):
    """Every key present and equal to its last record; returns the rows read."""
    rows = read_rows(table)
    missing = [key_of(k) for k in range(KEYS) if key_of(k) not in rows]
    stale = sorted(i for i, (ver, _, _) in rows.items() if ver != VERSIONS)
    torn = sorted(i for i, (_, _, row) in rows.items()
                  if row != record(int(i[1:]), int(row["username"][1:])))
    kinds = {}
    for i in stale:
        kinds[int(i[1:]) % 5] = kinds.get(int(i[1:]) % 5, 0) + 1
    STALE[phase] = len(stale)
    log(f"{phase}: {len(rows)} rows, {len(missing)} missing, {len(stale)} stale keys "
        f"(by key kind k%5: {dict(sorted(kinds.items()))}), e.g. "
        f"{[(i, 'v%d' % rows[i][0]) for i in stale[:5]]}")
    if assert_it:
        check(f"{phase}: every key present", [], missing[:5])
        check(f"{phase}: stale keys (username is not v{VERSIONS})", 0, len(stale))
        check(f"{phase}: every row is one whole record", [], torn[:5])
    return rows


def run_pass(name, table, group, write_ts="kafka"):
    """Starts one stream pass over the whole topic: it stops by itself after N records."""
    return procs.start(name, stream_args(topic, table, group, ["--max-records", str(N)], write_ts))


def finish_pass(name, p):
    rc = p.wait(timeout=300)
    counts = status_counts(procs.output(p))
    log(f"{name}: exit {rc}, counters {counts}")
    check(f"{name}: exits 0", 0, rc)
    check(f"{name}: consumed and wrote every record", (N, N),
          (counts.get("consumed"), counts.get("written")))


def phase1():
    p = run_pass("phase1", "t_pass", unique("g_pass"))
    finish_pass("phase1", p)
    check_final("phase 1 (one pass)", "t_pass")


def phase2():
    before = read_rows("t_pass")
    p = run_pass("phase2-replay", "t_pass", unique("g_replay"))
    regressed_during = set()
    polls = 0
    deadline = time.monotonic() + 300  # as finish_pass allows a pass
    while True:
        now = read_rows("t_pass")
        polls += 1
        regressed_during |= {i for i, (ver, _, _) in now.items()
                             if i in before and ver < before[i][0]}
        try:
            p.wait(timeout=0.2)  # the polling interval: read again unless the replay is over
            break
        except subprocess.TimeoutExpired:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the replay still runs after 300 s ({polls} reads); "
                                   f"its last status: {status_counts(procs.output(p), 'status')}")
    finish_pass("phase2-replay", p)
    after = check_final("phase 2 (replay, fresh group)", "t_pass")
    regressed = sorted(i for i in before if i in after and after[i][0] < before[i][0])
    rewritten = sum(1 for i in before if i in after and after[i][1] != before[i][1])
    log(f"phase 2: {len(regressed)} keys regressed by the replay, {len(regressed_during)} seen "
        f"regressed during it ({polls} reads); {rewritten} keys' writetime(username) changed")
    check("phase 2: no key regressed to an older version after the replay", [], regressed[:5])
    check("phase 2: no key seen regressed during the replay", [], sorted(regressed_during)[:5])
    check("phase 2: no writetime went backwards", [],
          [i for i in before if i in after and after[i][1] < before[i][1]][:5])


def mid_run(status, at, producing=False):
    """Whether a stream status line shows at least `at` writes and work left: writes in flight,
    records not consumed yet, or a producer still sending (a stream that keeps up with a paced
    producer often shows neither of the first two at a status instant, but its last commit is
    still behind what it wrote, so a kill then is mid-run all the same)."""
    return status.get("written", 0) >= at and (status.get("inflight", 0) > 0
                                               or status.get("lag", 0) > 0 or producing)


def phase3():
    group = unique("g_kill")
    base = int(time.time() * 1000) - 600000
    producer = kafka_producer()
    errors = []

    def produce_paced():
        start = time.monotonic()
        try:
            for r, rnd in enumerate(rounds(seed=3)):
                # Rate limit, not a wait for a condition: round r is due at r/VERSIONS of the way.
                due = start + PHASE3_SECONDS * r / VERSIONS
                time.sleep(max(0.0, due - time.monotonic()))
                produce_round(topic3, rnd, base, producer)
        except Exception as e:  # reported by the main thread
            errors.append(e)

    prod = threading.Thread(target=produce_paced, daemon=True)
    prod.start()
    # Kill 1 lands on the live flow after N/8 writes; kill 2 on the backlog that built up while
    # the group waited for the killed member's session to expire. Each waits for work left in the
    # stream's last status line (every 0.1 s): writes in flight or records not yet consumed.
    for i, at in enumerate((N // 8, N // 20)):
        p = procs.start(f"phase3-kill{i}", stream_args(topic3, "t_kill", group))
        try:
            wait_for(f"{at} writes and work left before kill {i}",
                     lambda: mid_run(status_counts(procs.output(p), "status"), at,
                                     prod.is_alive())
                     or p.poll() is not None, timeout=90, interval=0.05)
        except TimeoutError as e:
            log(str(e))
        st = status_counts(procs.output(p), "status")
        producing = prod.is_alive()
        check(f"phase 3: stream alive before kill {i + 1}", None, p.poll())
        check_true(f"phase 3: kill {i + 1} lands mid-run (>= {at} writes, work left)",
                   mid_run(st, at, producing), f"status: {st}, producing: {producing}")
        p.send_signal(signal.SIGKILL)
        p.wait()
        log(f"phase 3: kill -9 number {i + 1} after {st.get('written')} writes, "
            f"{st.get('inflight')} in flight, lag {st.get('lag')}; production "
            f"{'still running' if prod.is_alive() else 'over'}")
    prod.join(timeout=120)
    check("phase 3: production delivered every record", [], errors)
    check("phase 3: production over", False, prod.is_alive())
    # The last run is done when the group has committed the end of every partition (rtetl
    # commits an offset only once its record and all before it are written); then a graceful
    # stop. An --idle-exit could fire while the group still waits for the killed member.
    p = procs.start("phase3-final", stream_args(topic3, "t_kill", group))
    try:
        wait_for("the group's committed offsets at the end of the topic",
                 lambda: committed_lag(group, topic3, PARTITIONS) == 0 or p.poll() is not None,
                 timeout=120, interval=0.5)
    except TimeoutError as e:
        log(str(e))
    check("phase 3: committed offsets reach the end of every partition", 0,
          committed_lag(group, topic3, PARTITIONS))
    rc = procs.stop(p)
    log(f"phase3-final: exit {rc}, counters {status_counts(procs.output(p))}")
    check("phase 3: final run exits 0", 0, rc)
    check_final("phase 3 (two kill -9 and restarts)", "t_kill")


def informational_server():
    if not HAS_WRITE_TS:
        log("informational --write-timestamp server run skipped: this rtetl has no such option "
            "(phase 1 above already shows server-side timestamps)")
        return
    p = run_pass("server", "t_server", unique("g_server"), write_ts="server")
    rc = p.wait(timeout=300)
    log(f"informational --write-timestamp server: exit {rc}, "
        f"counters {status_counts(procs.output(p))}")
    check_final("informational --write-timestamp server (not asserted)", "t_server",
                assert_it=False)


t0 = time.monotonic()
cluster = None
try:
    log(f"{KEYS} keys x {VERSIONS} versions, {PARTITIONS} partitions, --max-inflight {INFLIGHT}; "
        f"--write-timestamp kafka {'passed' if HAS_WRITE_TS else 'NOT AVAILABLE in this build'}")
    create_topic(topic, PARTITIONS)
    create_topic(topic3, PARTITIONS)
    base = int(time.time() * 1000) - 1200000
    p1 = kafka_producer()
    for rnd in rounds(seed=1):
        produce_round(topic, rnd, base, p1)
    log(f"produced {N} records to {topic} in {time.monotonic() - t0:.1f}s")
    cluster, session = cassandra_session()
    with Procs() as procs:
        # The keyspace and tables are created by the first stream run of each (create_if_missing).
        for phase in (phase1, phase2, phase3, informational_server):
            try:
                phase()
            except Exception:  # the other phases still run; the summary line still comes
                check_true(f"{phase.__name__} ran to the end", False, traceback.format_exc())
                if procs.procs:
                    p = procs.procs[-1]
                    log(f"--- last output of {p.name} ---\n{procs.output(p)[-3000:]}")
finally:
    if cluster:
        cluster.shutdown()
    drop_keyspace(keyspace)
    log(f"stale keys per phase (of {KEYS}): {STALE}; total {time.monotonic() - t0:.0f}s")
finish()
