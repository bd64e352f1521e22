"""Helpers for rtetl's Python integration tests against the real local stack.

Every process a test starts goes through Procs, which stops them by PID (SIGTERM, then SIGKILL)
even when the test fails. Waiting is always for a condition with a deadline, never a fixed sleep.
Cassandra is read with the official cassandra-driver and with real cqlsh (independent readers of
what rtetl wrote); Kafka is written with clients rtetl did not write (confluent-kafka here, the
reference's kafka-python in the tests that need it).
"""
import atexit
import decimal
import json
import math
import os
import re
import shutil
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
# The stack's state directory (pid files, logs): scripts/stack's RTETL_STACK_DIR, else .stack.
STACK_DIR = os.environ.get("RTETL_STACK_DIR") or os.path.join(SRC, ".stack")

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
        atexit.register(self._remove_tmp)

    def _remove_tmp(self):
        """At exit: the processes' logs go when every check passed, else they are kept."""
        if _failures or getattr(sys, "last_type", None) is not None:  # a check failed, or it died
            print(f"the processes' logs are kept in {self.tmp}", flush=True)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

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
    """Produces each payload (bytes; b"" is an empty message, None a tombstone) exactly as
    given, in order, with the librdkafka-based confluent-kafka client, and waits until every one is acknowledged.
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
    while a partition has no committed offset or the broker cannot tell yet (a coordinator that
    is loading or moving answers COORDINATOR_LOAD_IN_PROGRESS or NOT_COORDINATOR for a while
    after a broker restarts or resumes; callers wait with a deadline). Asks the group
    coordinator with confluent-kafka without joining the group."""
    from confluent_kafka import Consumer, KafkaException, TopicPartition
    c = Consumer({"bootstrap.servers": BROKERS, "group.id": group, "enable.auto.commit": False})
    try:
        tps = c.committed([TopicPartition(topic, i) for i in range(partitions)], timeout=30)
        lag = 0
        for tp in tps:
            if tp.offset < 0:
                return None
            lag += c.get_watermark_offsets(tp, timeout=30)[1] - tp.offset
        return lag
    except KafkaException as e:
        log(f"committed-offset probe of {group}: {e}; None for now")
        return None
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


def dead_letters(topic, timeout=120):
    """The dead-letter records of source topic `topic` (read from `<topic>.dlq`), by source
    position: {(partition, offset): (reason, value bytes, detail)}."""
    out = {}
    for h, value in kcat_records(topic + ".dlq", timeout):
        pos = (int(h.get(b"rtetl.source.partition", b"-1")), int(h.get(b"rtetl.source.offset", b"-1")))
        out[pos] = (h.get(b"rtetl.error", b"?").decode(), value,
                    h.get(b"rtetl.error.detail", b"").decode("utf-8", "replace"))
    return out


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


def table_rows(keyspace, table="tb_usuarios", key="id"):
    """Every row of keyspace.table read with the official driver: {key value: {column: value}}."""
    cluster, s = cassandra_session(keyspace)
    try:
        return {r[key]: r for r in (row._asdict() for row in
                                    s.execute(f"SELECT * FROM {table}", timeout=120))}
    finally:
        cluster.shutdown()


def cqlsh(statement, timeout=120):
    """Runs `statement` (CQL; several separated by ';') with real cqlsh from the venv (PyPI
    "cqlsh", the client Cassandra ships) and returns its stdout, its version banner removed."""
    exe = os.path.join(os.path.dirname(sys.executable), "cqlsh")
    r = subprocess.run([exe, CQL_HOST, str(CQL_PORT), "--request-timeout", "60", "-e", statement],
                       capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    out = r.stdout.decode("utf-8", "replace")
    if r.returncode != 0:
        raise RuntimeError(f"cqlsh exited {r.returncode}: {r.stderr.decode('utf-8', 'replace')[-2000:]}")
    return "\n".join(ln for ln in out.splitlines() if not ln.startswith("WARNING: cqlsh was built"))


def cqlsh_rows(query, timeout=120):
    """Runs one SELECT with cqlsh in its vertical layout (EXPAND ON) and parses the printed rows
    into dicts of column name -> printed text (cqlsh prints null as "null")."""
    rows, row = [], None
    for line in cqlsh(f"EXPAND ON; {query}", timeout).splitlines():
        if line.startswith("@ Row "):
            row = {}
            rows.append(row)
        elif row is not None and " | " in line and not line.startswith("-"):
            name, _, value = line.partition(" | ")
            row[name.strip()] = value
    return rows


def run_stream(procs, name, topic, group, keyspace, *extra, timeout=300):
    """Runs `rtetl stream` from the start of topic until it idles (--idle-exit 3s); returns
    (exit status, its output, the counters of its final status line)."""
    p = procs.start(name, [BIN, "stream", "--mode", "initial", "--topic", topic, "--group", group,
                           "--keyspace", keyspace, "--brokers", BROKERS, "--idle-exit", "3s",
                           "--status-interval", "2s", *extra])
    try:
        rc = p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        rc = procs.stop(p)
        log(f"{name}: still running after {timeout}s; stopped (status {rc})")
    out = procs.output(p)
    if rc != 0:
        log(out[-4000:])
    return rc, out, status_counts(out)


def delete_topics(*topics):
    """Deletes test topics that may exist (cleanup: the outcome is not checked)."""
    for t in topics:
        subprocess.run([os.path.join(SRC, "scripts", "stack"), "topics", "--delete", "--if-exists",
                        "--topic", t], capture_output=True, timeout=180)


def drop_keyspace(keyspace):
    try:
        cluster, s = cassandra_session()
        s.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=120)
        cluster.shutdown()
    except Exception as e:  # cleanup must not hide the test's own result
        log(f"note: could not drop keyspace {keyspace}: {e}")


def java_double(x):
    """Java's Double.toString (JDK 19+): the shortest digits that read back (Python's repr has
    the same), or of one or two digits the closest; plain for 1e-3 <= |x| < 1e7."""
    if x != x:
        return "NaN"
    sign = "-" if math.copysign(1.0, x) < 0 else ""
    x = abs(x)
    if x == float("inf"):
        return sign + "Infinity"
    if x == 0:
        return sign + "0.0"

    def digits_exp(text):
        t = decimal.Decimal(text).normalize().as_tuple()
        return "".join(map(str, t.digits)), len(t.digits) - 1 + t.exponent

    digits, e = digits_exp(repr(x))
    if len(digits) == 1 and float("%.1e" % x) == x:
        digits, e = digits_exp("%.1e" % x)
    if -3 <= e < 7:
        if e < 0:
            return sign + "0." + "0" * (-e - 1) + digits
        return sign + digits[:e + 1].ljust(e + 1, "0") + "." + (digits[e + 1:] or "0")
    return sign + digits[0] + "." + (digits[1:] or "0") + "E" + str(e)


def _jackson_string(s):
    out = ['"']
    for ch in s:
        c = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\b\t\n\f\r":
            out.append({"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}[ch])
        elif c < 0x20:
            out.append("\\u%04X" % c)
        elif c >= 0x10000:
            c -= 0x10000
            out.append("\\u%04X\\u%04X" % (0xD800 + (c >> 10), 0xDC00 + (c & 0x3FF)))
        else:
            out.append(ch)
    return "".join(out) + '"'


def spark_text(v):
    """The text Spark's from_json stores for JSON value v in a StringType field."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return '"%s"' % java_double(v) if v in (float("inf"), float("-inf")) else java_double(v)
    if v is None:
        return "null"
    if isinstance(v, list):
        return "[" + ",".join(spark_text(x) if not isinstance(x, str) else _jackson_string(x)
                              for x in v) + "]"
    return "{" + ",".join(_jackson_string(k) + ":" + (
        _jackson_string(x) if isinstance(x, str) else spark_text(x)) for k, x in v.items()) + "}"


def reference_record(res):
    """The reference producer's flattening of one randomuser API user into the 12-field record
    (post_code exactly as the API gives it: a JSON number for some countries)."""
    location = res["location"]
    return {
        "id": str(uuid.uuid4()),
        "first_name": res["name"]["first"],
        "last_name": res["name"]["last"],
        "gender": res["gender"],
        "address": f"{location['street']['number']} {location['street']['name']}, "
                   f"{location['city']}, {location['state']}, {location['country']}",
        "post_code": location["postcode"],
        "email": res["email"],
        "username": res["login"]["username"],
        "dob": res["dob"]["date"],
        "registered_date": res["registered"]["date"],
        "phone": res["phone"],
        "picture": res["picture"]["medium"],
    }


def _no_constants(name):
    raise ValueError("not JSON: " + name)


def expected_rows(payloads):
    """What the reference pipeline keeps from raw message payloads, as Spark's from_json would
    store it: JSON objects (valid UTF-8) with id present and not null, every non-string value
    of the 12 string fields as Spark's text (spark_text), a duplicate key's last value, no
    stored value over 1 MiB, email containing '@'. Returns {id: row dict}."""
    rows = {}
    for raw in payloads:
        try:
            obj = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
        except (UnicodeDecodeError, ValueError):
            continue
        if not isinstance(obj, dict) or obj.get("id") is None:
            continue
        row = {f: None if obj.get(f) is None else spark_text(obj[f]) for f in FIELDS}
        if any(v is not None and len(v.encode("utf-8")) > FIELD_MAX_BYTES for v in row.values()):
            continue  # dead-lettered as value_too_large
        if "@" not in (row["email"] or ""):
            continue
        rows[row["id"]] = row
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
