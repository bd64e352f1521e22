"""Helpers shared by the cluster tier's Python tests (tests/cluster/*.py)."""
import json
import os
import re
import signal
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import rtetl_testlib as tl  # noqa: E402


def create_table(cluster, session, ks, table):
    """Creates ks.table with the reference pipeline's columns (id text key, 11 text columns) and
    waits for schema agreement (the routing test's tables: it counts each node's writes from
    before the stream starts). kafka_failover leaves its table to rtetl stream's
    create_if_missing, which waits for schema agreement after its DDL."""
    cols = ", ".join(f"{c} text" for c in tl.FIELDS if c != "id")
    session.execute(f"CREATE TABLE {ks}.{table} (id text PRIMARY KEY, {cols})")
    tl.wait_for("schema agreement", lambda: cluster.control_connection.wait_for_schema_agreement(),
                timeout=60)


class Nodes:
    """One driver session on the nodes `hosts`; each virtual-table query is pinned to one node."""

    def __init__(self, hosts):
        from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
        from cassandra.policies import RoundRobinPolicy
        # "rr" (round-robin, not token-aware) is the routing control's; the default is token-aware.
        self.cluster = Cluster(hosts, port=tl.CQL_PORT, connect_timeout=20, execution_profiles={
            EXEC_PROFILE_DEFAULT: ExecutionProfile(request_timeout=60),
            "rr": ExecutionProfile(load_balancing_policy=RoundRobinPolicy(), request_timeout=60)})
        self.s = self.cluster.connect()
        self.wait_all_up(len(hosts))
        self.hosts = {h.address: h for h in self.cluster.metadata.all_hosts()}

    def wait_all_up(self, n, timeout=60):
        tl.wait_for(f"the driver to see {n} nodes up", lambda: len(
            [h for h in self.cluster.metadata.all_hosts() if h.is_up]) == n, timeout=timeout)

    def on(self, addr, q, *params):
        return list(self.s.execute(q, params or None, host=self.hosts[addr]))

    def table_count(self, addr, vt, ks, table):
        """The count of system_views.<vt> (e.g. coordinator_write_latency) for ks.table on one
        node: since that node started (the virtual tables are in memory)."""
        rows = self.on(addr, f"SELECT count FROM system_views.{vt} "
                             "WHERE keyspace_name = %s AND table_name = %s", ks, table)
        return rows[0].count if rows else 0

    def sent(self, addr):
        return sum(r.sent_count for r in self.on(addr, "SELECT sent_count FROM system_views.internode_outbound"))


def kill_node(state, name):
    """kill -9 of stack node `name` (kafka2, cassandra1, ...) by the PID file scripts/stack keeps
    in its state dir, once /proc says the PID is that node of this state dir; returns the PID
    when the process is gone."""
    with open(os.path.join(state, f"{name}.pid")) as f:
        pid = int(f.read().strip())
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert f"{state}/{name}/conf/".encode() in f.read(), f"the PID file names our {name}"
    os.kill(pid, signal.SIGKILL)

    def gone():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                return f.read() == b""  # a zombie until scripts/stack's parent reaps it
        except FileNotFoundError:
            return True
    tl.wait_for(f"{name} (pid {pid}) to be gone", gone, timeout=30)
    return pid


def cleanup(cluster, session, ks, topic, more_topics=()):
    """Drops the test's keyspace and deletes its topic (and its dead-letter topic, and
    more_topics), then shuts the driver down; a failure is logged, never raised (it must not
    hide the test's result)."""
    try:
        session.execute(f"DROP KEYSPACE IF EXISTS {ks}", timeout=120)
    except Exception as e:
        tl.log(f"note: could not drop {ks}: {e}")
    cluster.shutdown()
    try:
        from confluent_kafka.admin import AdminClient
        admin = AdminClient({"bootstrap.servers": tl.BROKERS})
        have = admin.list_topics(timeout=30).topics
        gone = [t for t in (topic, topic + ".dlq", *more_topics) if t in have]
        for f in (admin.delete_topics(gone).values() if gone else ()):
            f.result(60)
    except Exception as e:
        tl.log(f"note: could not delete topic {topic}: {e}")


def create_rf3_topic(topic):
    """A topic of 3 partitions with replication factor 3 and min.insync.replicas 2, once every
    partition has a leader; returns the AdminClient."""
    from confluent_kafka.admin import AdminClient, NewTopic
    a = AdminClient({"bootstrap.servers": tl.BROKERS})
    a.create_topics([NewTopic(topic, num_partitions=3, replication_factor=3,
                              config={"min.insync.replicas": "2"})])[topic].result(60)
    tl.wait_for("the topic's leaders", lambda: (lambda m: topic in m.topics and len(
        m.topics[topic].partitions) == 3 and all(p.leader >= 0 for p in m.topics[topic].partitions.values()))(
            a.list_topics(topic, timeout=30)), timeout=60)
    return a


class Updater(threading.Thread):
    """Keyed updates into `topic` with confluent-kafka (idempotent, acks=all): round v produces
    version v of each of `keys` keys (key k-NNNN; every field names key and version), paced to
    `rate` records/s, until stopped. pause() returns once no round is being produced (the rounds
    owed meanwhile are not caught up later); resume() goes on."""

    def __init__(self, topic, keys, rate):
        super().__init__(daemon=True)
        self.topic, self.keys, self.rate = topic, keys, rate
        self.stop, self.errors, self.produced = threading.Event(), [], 0
        self._run, self._idle = threading.Event(), threading.Event()
        self._run.set()
        self.t0 = time.monotonic()

    def burst(self, rounds):
        """Produces `rounds` more rounds at once (the pacing's start moves back)."""
        self.t0 -= rounds * self.keys / self.rate

    def pause(self):
        self._run.clear()
        tl.wait_for("the updater to pause", self._idle.is_set, timeout=30)

    def resume(self):
        self.t0 = time.monotonic() - self.produced / self.rate
        self._run.set()

    def run(self):
        from confluent_kafka import Producer
        p = Producer({"bootstrap.servers": tl.BROKERS, "enable.idempotence": True, "acks": "all",
                      "linger.ms": 10, "message.timeout.ms": 120000})
        v, self.t0 = 0, time.monotonic()
        while not self.stop.is_set():
            if not self._run.is_set():
                p.flush(60)
                self._idle.set()
                self._run.wait(0.2)
                continue
            self._idle.clear()
            for k in range(self.keys):
                row = {f: f"{f}-{k}-v{v}" for f in tl.FIELDS}
                row["id"], row["email"] = f"k-{k:04d}", f"k{k}.v{v}@example.com"
                p.produce(self.topic, key=row["id"].encode(), value=json.dumps(row).encode(),
                          on_delivery=lambda err, msg: err and self.errors.append(str(err)))
            self.produced += self.keys
            v += 1
            p.poll(0)
            ahead = self.t0 + self.produced / self.rate - time.monotonic()
            if ahead > 0:
                self.stop.wait(ahead)
        left = p.flush(120)
        if left:
            self.errors.append(f"{left} updates not delivered")


class Stream:
    """One `rtetl stream` of `topic` into ks.table with its own group and dead-letter topic and
    /metrics on a port of its choosing; `yaml_edits` {key: value} replace the pipeline's
    `key: ...` lines (each must occur once)."""

    def __init__(self, procs, name, topic, ks, table, contacts, yaml_edits=None, extra=(), env=None):
        self.procs, self.name, self.table = procs, name, table
        self.topic, self.group, self.dlq = topic, f"{ks}_{name}", f"{topic}.dlq_{name}"
        path = tl.pipeline_yaml(os.path.join(procs.tmp, f"{name}.yaml"), topic, ks, table)
        with open(path) as f:
            text = f.read()
        for key, value in (yaml_edits or {}).items():
            text, n = re.subn(rf"^(\s+){key}: \S+", rf"\g<1>{key}: {value}", text, flags=re.M)
            assert n == 1, f"{key}: in examples/usuarios.yaml"
        with open(path, "w") as f:
            f.write(text)
        self.p = procs.start(f"stream-{name}", [
            tl.BIN, "stream", "--config", path, "--brokers", tl.BROKERS, "--group", self.group,
            "--dlq-topic", self.dlq, "--cassandra", contacts, "--status-interval", "1s",
            "--metrics-port", "0", *extra], env=env)
        self.url = None

    def out(self):
        return self.procs.output(self.p)

    def alive(self):
        if self.p.poll() is not None:
            raise RuntimeError(f"rtetl stream ({self.name}) exited {self.p.returncode}:\n{self.out()[-3000:]}")
        return True

    def metrics(self):
        """{name or name{labels}: value} of /metrics."""
        self.alive()
        if not self.url:
            m = re.search(r"serving metrics.*?addr=(\S+)", self.out())
            if not m:
                return {}
            self.url = f"http://{m.group(1)}/metrics"
        with urllib.request.urlopen(self.url, timeout=10) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                out[name] = float(value)
        return out

    def m(self, name, labels=""):
        return self.metrics().get(f"{name}{{{labels}}}" if labels else name, 0)

    def written(self):
        return self.m("rtetl_stream_records_total", 'stage="written"')

    def host_metric(self, name, addr, m=None):
        """The value of metric `name` for host addr (labels host, dc), 0 when not listed."""
        key = f'{name}{{host="{addr}",'
        return sum(v for k, v in (m or self.metrics()).items() if k.startswith(key))

    def host_requests(self, addr):
        return self.host_metric("rtetl_cassandra_host_requests_total", addr)

    def lines(self, pattern):
        return [ln for ln in self.out().splitlines() if re.search(pattern, ln)]

    def caught_up(self):
        """True once the group's committed lag on the topic is 0."""
        from confluent_kafka import KafkaException
        self.alive()
        try:
            return tl.committed_lag(self.group, self.topic, 3) == 0
        except KafkaException as e:
            tl.log(f"lag probe: {e}; retrying")
            return False


def dlq_count(admin, topic):
    if topic not in admin.list_topics(timeout=30).topics:
        return 0
    return len(tl.kcat_records(topic))


def last_records(topic):
    """({key: its last record}, records) of a topic the Updater wrote."""
    last, total = {}, 0
    for _, value in tl.kcat_records(topic):
        rec = json.loads(value)
        last[rec["id"]] = rec
        total += 1
    return last, total


def check_rows_at_all(session, ks, table, last, label):
    """Reads ks.table at consistency ALL with the official driver: one row per key, each equal
    to its key's last record (0 lost, 0 stale)."""
    from cassandra import ConsistencyLevel
    from cassandra.query import SimpleStatement
    q = SimpleStatement(f"SELECT * FROM {ks}.{table}", consistency_level=ConsistencyLevel.ALL)
    rows = {r.id: r._asdict() for r in session.execute(q, timeout=120)}
    tl.check(f"{label}: rows == keys of the topic (0 lost; read at ALL)", len(last), len(rows))
    stale = [k for k, rec in last.items() if k in rows and any(rows[k][f] != rec[f] for f in tl.FIELDS)]
    tl.check(f"{label}: rows not at their key's last record (stale)", [], stale[:5])
