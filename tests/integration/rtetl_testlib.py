"""Helpers for rtetl's Python integration tests against the real local stack.

Every process a test starts goes through Procs, which stops them by PID (SIGTERM, then SIGKILL)
even when the test fails. Waiting is always for a condition with a deadline, never a fixed sleep.
Cassandra is read with the official cassandra-driver (an independent reader of what rtetl wrote).
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid

SRC = os.environ.get("RTETL_SRC") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
BIN = os.environ.get("RTETL_BIN") or os.path.join(SRC, "build", "rtetl")
BROKERS = os.environ.get("RTETL_TEST_BROKERS", "127.0.0.1:9092")
CQL_HOST = os.environ.get("RTETL_TEST_CQL_HOST", "127.0.0.1")
CQL_PORT = int(os.environ.get("RTETL_TEST_CQL_PORT", "9042"))

FIELDS = ["id", "first_name", "last_name", "gender", "address", "post_code", "email", "username",
          "dob", "registered_date", "phone", "picture"]

# The default pipeline's per-field bound (pipeline/config.h PIPE_DEFAULT_FIELD_MAX_BYTES).
FIELD_MAX_BYTES = 1 << 20

_failures = []
_passed = [0]


def log(msg):
    print(msg, flush=True)


def check(name, expected, actual):
    """Records one assertion; prints both values when they differ."""
    if expected == actual:
        log(f"PASS {name}")
        _passed[0] += 1
    else:
        e, a = repr(expected), repr(actual)
        log(f"FAIL {name}: expected {e[:400]} got {a[:400]}")
        _failures.append(name)


def check_true(name, cond, detail=""):
    if cond:
        log(f"PASS {name}")
        _passed[0] += 1
    else:
        log(f"FAIL {name} {detail}")
        _failures.append(name)


def failed_checks():
    """The names of the checks that failed so far."""
    return list(_failures)


def finish():
    """Ends with the suite's "name: N passed, N failed" line; exits 0 when every check passed."""
    if _failures:
        log(f"{len(_failures)} check(s) failed: {', '.join(_failures)}")
    else:
        log("all checks passed")
    name = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    log(f"{name}: {_passed[0]} passed, {len(_failures)} failed")
    sys.exit(1 if _failures or not _passed[0] else 0)


def unique(prefix):
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def wait_for(what, cond, timeout=60.0, interval=0.2):
    """Polls cond() until it returns a truthy value; raises on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


class Procs:
    """Starts processes and stops exactly those, by PID, at exit (use as a context manager)."""

    def __init__(self):
        self.procs = []
        self.tmp = tempfile.mkdtemp(prefix="rtetl-test-")

    def start(self, name, args, env=None):
        out = open(os.path.join(self.tmp, name + ".log"), "w+b")
        p = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env={**os.environ, **(env or {})})
        p.logfile = out
        p.name = name
        self.procs.append(p)
        return p

    def output(self, p):
        p.logfile.flush()
        with open(p.logfile.name, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, p, sig=signal.SIGTERM, timeout=60):
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        return p.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if exc[0] is not None:
            for p in self.procs:
                log(f"--- last output of {p.name} ---\n{self.output(p)[-3000:]}")
        return False


def rtetl(*args, timeout=600, check_rc=True, env=None):
    """Runs rtetl to completion; returns (rc, stdout, stderr)."""
    r = subprocess.run([BIN, *args], capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL,
                       env={**os.environ, **(env or {})})
    out, err = r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")
    if check_rc and r.returncode != 0:
        raise RuntimeError(f"rtetl {' '.join(args)} exited {r.returncode}: {err[-2000:]}")
    return r.returncode, out, err


def kafka_producer():
    """A confluent-kafka Producer for the stack; idempotence keeps each partition in the order
    of the produce calls, whatever the retries. The caller drops it after its last produce."""
    from confluent_kafka import Producer
    return Producer({"bootstrap.servers": BROKERS, "enable.idempotence": True,
                     "message.max.bytes": 10000000})


def produce(topic, payloads, keys=None, timestamps=None, producer=None):
    """Produces each payload (bytes; b"" is an empty message) exactly as given, with the
    librdkafka-based confluent-kafka client, and waits until every one is acknowledged.
    timestamps: an explicit CreateTime (ms since the epoch) per message; producer: one from
    kafka_producer() to reuse across calls (a new one otherwise)."""
    p = producer or kafka_producer()
    errors = []
    for i, v in enumerate(payloads):
        p.produce(topic, value=v, key=keys[i] if keys else None,
                  timestamp=timestamps[i] if timestamps else 0,
                  on_delivery=lambda err, msg: err and errors.append(err))
        if i % 10000 == 9999:
            p.poll(0)  # serve delivery reports so the local queue never fills
    left = p.flush(60)
    if left or errors:
        raise RuntimeError(f"produce to {topic}: {left} unflushed, errors {errors[:3]}")


def committed_lag(group, topic, partitions):
    """The records of topic past group's committed offsets, summed over the partitions, or None
    while a partition has no committed offset. Asks the group coordinator with confluent-kafka
    without joining the group."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": BROKERS, "group.id": group, "enable.auto.commit": False})
    try:
        tps = c.committed([TopicPartition(topic, i) for i in range(partitions)], timeout=30)
        lag = 0
        for tp in tps:
            if tp.offset < 0:
                return None
            lag += c.get_watermark_offsets(tp, timeout=30)[1] - tp.offset
        return lag
    finally:
        c.close()


def kcat_records(topic, timeout=120):
    """Reads a whole topic from the beginning with kcat; returns [(headers, value bytes)] where
    headers is a dict of bytes. Values are framed by their length, so any byte can occur."""
    r = subprocess.run(["kcat", "-C", "-b", BROKERS, "-t", topic, "-o", "beginning", "-e", "-q",
                        "-X", "fetch.message.max.bytes=10000000", "-f", "%S\t%h\n%s"],
                       capture_output=True, timeout=timeout, check=True)
    out, i, recs = r.stdout, 0, []
    while i < len(out):
        nl = out.index(b"\n", i)
        size, _, hdrs = out[i:nl].partition(b"\t")
        n = max(int(size), 0)
        value = out[nl + 1:nl + 1 + n]
        i = nl + 1 + n
        h = dict(kv.split(b"=", 1) for kv in hdrs.split(b",") if b"=" in kv)
        recs.append((h, value))
    return recs


def kcat_payloads(topic, timeout=120):
    return [v for _, v in kcat_records(topic, timeout)]


def create_topic(topic, partitions):
    """Creates a topic through rtetl's own admin path when available, else via kcat metadata
    with broker auto-creation."""
    scripts = os.path.join(SRC, "scripts", "stack")
    subprocess.run([scripts, "topics", "--create", "--topic", topic, "--partitions",
                    str(partitions), "--replication-factor", "1", "--config",
                    "max.message.bytes=10000000"], check=True, capture_output=True, timeout=180)


def cassandra_session(keyspace=None):
    from cassandra.cluster import Cluster
    cluster = Cluster([CQL_HOST], port=CQL_PORT, protocol_version=4, connect_timeout=20)
    session = cluster.connect(keyspace)
    session.default_timeout = 60
    return cluster, session


def drop_keyspace(keyspace):
    try:
        cluster, s = cassandra_session()
        s.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=120)
        cluster.shutdown()
    except Exception as e:  # cleanup must not hide the test's own result
        log(f"note: could not drop keyspace {keyspace}: {e}")


def expected_rows(payloads):
    """What the reference pipeline keeps from raw message payloads: JSON objects with the 12
    string fields (id required), valid UTF-8, no value over 1 MiB, email containing '@'.
    Returns {id: row dict}."""
    rows = {}
    for raw in payloads:
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
            continue
        if any(f in obj and obj[f] is not None and not isinstance(obj[f], str) for f in FIELDS):
            continue
        if any(isinstance(obj.get(f), str) and len(obj[f].encode("utf-8")) > FIELD_MAX_BYTES
               for f in FIELDS):
            continue  # dead-lettered as value_too_large
        if "@" not in (obj.get("email") or ""):
            continue
        rows[obj["id"]] = {f: obj.get(f) for f in FIELDS}
    return rows


def pipeline_yaml(path, topic, keyspace, table):
    """Writes to path the reference pipeline (examples/usuarios.yaml) with its topic, keyspace
    and table replaced; returns path."""
    with open(os.path.join(SRC, "examples", "usuarios.yaml")) as f:
        text = f.read()
    for key, value in (("topic", topic), ("keyspace", keyspace), ("table", table)):
        text, n = re.subn(rf"^(\s+){key}: \S+", rf"\g<1>{key}: {value}", text, flags=re.M)
        if n != 1:
            raise RuntimeError(f"examples/usuarios.yaml: {n} '{key}:' keys, expected one")
    with open(path, "w") as f:
        f.write(text)
    return path


def status_counts(text, label="final"):
    """Parses the last `msg=<label>` status line of rtetl stream into a dict of ints."""
    last = None
    for line in text.splitlines():
        if f"msg={label}" in line:
            last = line
    if not last:
        return {}
    out = {}
    for tok in last.split():
        if "=" in tok:
            k, v = tok.split("=", 1)
            try:
                out[k] = int(v)
            except ValueError:
                pass
    return out


def progress(procs, p, key="written"):
    """A counter of the running stream process p (started with a short --status-interval),
    from its last status line; 0 before the first."""
    return status_counts(procs.output(p), "status").get(key, 0)
