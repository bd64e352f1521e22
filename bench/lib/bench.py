"""bench/run's driver: rtetl against the Spark baselines, side by side, on one machine.

See bench/README.md for what is measured and how. The shell wrapper bench/run prepares the venv
(this file runs in it), the connector jars and the JDK, and passes them in the environment:
BENCH_ROOT, BENCH_WORK, BENCH_JAVA_HOME, BENCH_SPARK_JARS, BENCH_PYTHON.
"""

import argparse
import datetime
import json
import os
import platform
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from measure import Contender, FirstRowWatcher, count_rows
from stackproc import server_pids, servers_cpu

ROOT = os.environ.get("BENCH_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WORK = os.environ.get("BENCH_WORK") or os.path.join(ROOT, "bench", ".work")
TABLE = "tb_usuarios"
FIELDS = ["id", "first_name", "last_name", "gender", "address", "post_code",
          "email", "username", "dob", "registered_date", "phone", "picture"]

PRIVATE_STACK_ENV = {
    "RTETL_KAFKA_PORT": "19092", "RTETL_KAFKA_CONTROLLER_PORT": "19093", "RTETL_CQL_PORT": "19042",
    "RTETL_STORAGE_PORT": "17000", "RTETL_SSL_STORAGE_PORT": "17001", "RTETL_JMX_PORT": "17199",
    # The benchmark node is tuned for writes (bench/cassandra-write-heavy.yaml); the shared
    # test stack keeps its small defaults. --node-profile small runs the bench node like it.
    "RTETL_CASSANDRA_HEAP": "4G",
    "RTETL_CASSANDRA_YAML_EXTRA": os.path.join(ROOT, "bench", "cassandra-write-heavy.yaml"),
}

# rtetl-server-wts: rtetl with `--write-timestamp server` (Cassandra's clock instead of the
# Kafka-derived write timestamps), to measure what the ordering guarantee costs.
# rtetl-unbatched: rtetl with `--batch-rows 0` (batching off), when `rtetl stream` has the option.
# The client ceilings (no Kafka): cql-ceiling (rtetl's CQL client, one prepared insert per
# request), cql-ceiling-batched (the same, unlogged batches of --cql-batch rows) and latte (an
# independent Rust client, crates.io latte-cli). spark-connector-tuned: the connector baseline
# with the write settings a Spark expert would set for this table (SPARK_TUNED_CONF).
ALL_CONTENDERS = ["rtetl-null", "rtetl", "rtetl-unbatched", "rtetl-server-wts", "cql-ceiling",
                  "cql-ceiling-batched", "latte", "spark-connector", "spark-connector-tuned",
                  "spark-reference"]
QUICK_CONTENDERS = ["rtetl-null", "rtetl", "cql-ceiling", "cql-ceiling-batched",
                    "spark-connector"]
CQL_CEILINGS = ("cql-ceiling", "cql-ceiling-batched")

# The Spark Cassandra Connector 3.5.1's write settings for spark-connector-tuned (names and
# defaults as the connector jar itself documents them; what was tried is in bench/README.md):
SPARK_TUNED_CONF = {
    # A batch may hold any rows whose replicas are the same (default: only rows of one
    # partition key, and every row here is its own partition, so the default never batches).
    "spark.cassandra.output.batch.grouping.key": "replica_set",
    # Rows per batch, instead of the default 1 KiB of data (about 3 of these rows). 8 keeps a
    # batch of this row under Cassandra's batch_size_warn_threshold (5 KiB; about 10 rows) and
    # its unlogged-batch partition warning (10): over them the server logs a warning per batch
    # and the driver logs both warnings, with the statement, for every batch (20 rows per batch
    # made 25 MB of driver log for 100,000 rows, and was slower).
    "spark.cassandra.output.batch.size.rows": "8",
    # Batches in flight per task (default 5); local[2] runs two tasks at a time.
    "spark.cassandra.output.concurrent.writes": "64",
    # The consistency the other clients use (default LOCAL_QUORUM; the same with RF 1).
    "spark.cassandra.output.consistency.level": "LOCAL_ONE",
    # No per-task write metrics (default true).
    "spark.cassandra.output.metrics": "false",
}


def log(msg):
    print("bench: %s" % msg, file=sys.stderr, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(prog="bench/run", description="rtetl vs Spark, side by side.")
    p.add_argument("--records", type=int, help="records pre-loaded for the throughput runs "
                   "[1000000; 20000 with --quick]")
    p.add_argument("--quick", action="store_true",
                   help="smoke check of the harness: small N, one Spark baseline (the connector), "
                        "short latency runs; results go to bench/.work/results unless --out")
    p.add_argument("--contenders", help="comma-separated subset of: " + ",".join(ALL_CONTENDERS))
    p.add_argument("--latency-duration", type=float, help="seconds of steady production per "
                   "latency run [60; 10 with --quick]")
    p.add_argument("--latency-rate", type=int, default=0,
                   help="rtetl's high latency rate in records/s [half of rtetl's measured maximum]")
    p.add_argument("--spark-latency-rate", type=int, default=1000,
                   help="the fixed rate both rtetl and Spark are measured at [1000]")
    p.add_argument("--no-latency", action="store_true", help="skip the latency runs")
    p.add_argument("--latency-warmup", type=float,
                   help="seconds of records at the rate before the measured ones, written and "
                        "not measured (JIT and connector set-up) [10; 2 with --quick]")
    p.add_argument("--spark-timeout", type=float, default=1800,
                   help="seconds before the Spark connector run is stopped as incomplete [1800]")
    p.add_argument("--reference-timeout", type=float, default=300,
                   help="seconds before the reference-style run is stopped; its rate is then "
                        "the rows it wrote over that time [300]")
    p.add_argument("--reference-driver-memory", default="4g",
                   help="spark.driver.memory of the reference-style baseline [4g]")
    p.add_argument("--rtetl-timeout", type=float, default=900)
    p.add_argument("--warmup", type=int,
                   help="records written through rtetl into a scratch table before measuring, "
                        "so that Cassandra's JIT is warm for every contender (0: none) "
                        "[400000; 5000 with --quick]")
    p.add_argument("--rounds", type=int, default=1,
                   help="throughput runs per contender, the order reversed every other round; "
                        "each contender's best round stands for it, every round is reported [1]")
    p.add_argument("--rtetl", default=os.path.join(ROOT, "build", "rtetl"))
    p.add_argument("--cql-hook", default=os.path.join(ROOT, "bench", "cql", "run"),
                   help="the Cassandra-ceiling program [bench/cql/run]")
    p.add_argument("--cql-batch", type=int, default=9,
                   help="cql-ceiling-batched: rows per unlogged batch [9: what rtetl stream "
                        "sends of these rows under the server's batch_size_warn_threshold]")
    p.add_argument("--latte", default=os.path.join(ROOT, "bench", "latte", "ensure"),
                   help="prints the latte binary's path, building it once when missing "
                        "[bench/latte/ensure]")
    p.add_argument("--latte-threads", type=int, default=1, help="latte -t [1]")
    p.add_argument("--latte-concurrency", type=int, default=1024,
                   help="latte -p: requests in flight per thread [1024]")
    p.add_argument("--latte-connections", type=int, default=2,
                   help="latte --connections per host [2]")
    p.add_argument("--spark-tuned-conf", action="append", default=[], metavar="K=V",
                   help="spark-connector-tuned: a Spark/connector setting to add or override "
                        "(repeatable)")
    p.add_argument("--spark-tuned-max-offsets", type=int, default=0,
                   help="spark-connector-tuned: maxOffsetsPerTrigger (0: everything available "
                        "per micro-batch) [0]")
    p.add_argument("--out", help="results directory [bench/results; bench/.work/results with --quick]")
    p.add_argument("--keep", action="store_true", help="keep the topics and keyspaces made here")
    p.add_argument("--no-stack-up", action="store_true", help="do not run scripts/stack up")
    p.add_argument("--node-profile", choices=["write-heavy", "small"], default="write-heavy",
                   help="--private-stack: the Cassandra node's settings: write-heavy (4 GiB heap, "
                        "bench/cassandra-write-heavy.yaml) or small (the test stack's) "
                        "[write-heavy]")
    p.add_argument("--private-stack", action="store_true",
                   help="run on a stack of the benchmark's own (state in bench/.work/stack, Kafka "
                        "19092, CQL 19042), so tests that restart the shared stack cannot "
                        "disturb a run; it is left up (scripts/stack down with the same "
                        "RTETL_STACK_DIR stops it)")
    a = p.parse_args(argv)
    a.records = a.records or (20000 if a.quick else 1000000)
    if a.warmup is None:
        # A freshly started node kept speeding up for ~700k rows (6k -> 20k rows/s) after a
        # 20k warm-up, which charged its JIT warm-up to whoever ran first.
        a.warmup = 5000 if a.quick else 400000
    if a.latency_warmup is None:
        a.latency_warmup = 2.0 if a.quick else 10.0
    a.latency_duration = a.latency_duration or (10.0 if a.quick else 60.0)
    a.contenders = (a.contenders.split(",") if a.contenders
                    else (QUICK_CONTENDERS if a.quick else ALL_CONTENDERS))
    for c in a.contenders:
        if c not in ALL_CONTENDERS:
            p.error("unknown contender %r" % c)
    a.out = a.out or os.path.join(ROOT, "bench", "results" if not a.quick else ".work/results")
    return a


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, **kw)


def stack_env():
    out = sh([os.path.join(ROOT, "scripts", "stack"), "env"], capture_output=True).stdout
    env = {}
    for line in out.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            env[k.strip()] = v.strip().strip("'\"")
    return env


def percentile(sorted_vals, q):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_vals:
        return None
    k = max(0, min(len(sorted_vals) - 1, int(round(q * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


def logfmt_last(text, msg):
    """The key=value fields of the last logfmt line with msg=<msg> (rtetl's final/summary lines)."""
    found = None
    for line in text.splitlines():
        if re.search(r'\bmsg="?%s"?(\s|$)' % re.escape(msg), line):
            found = line
    if found is None:
        return {}
    return dict(re.findall(r'(\w+)=("[^"]*"|\S+)', found))


class Bench:
    def __init__(self, args):
        self.a = args
        self.run_id = time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)
        # Keyspace names are limited to 48 characters: the prefix stays short.
        self.prefix = "bench_" + time.strftime("%H%M%S") + secrets.token_hex(2)
        self.run_dir = os.path.join(WORK, "runs", self.run_id)
        os.makedirs(self.run_dir, exist_ok=True)
        self.keyspaces = []
        self.topics = []
        self.results = {"run_id": self.run_id, "throughput": [], "latency": [], "notes": []}
        self.round, self.round_suffix = 1, ""
        self.session = None
        self.cluster = None

    # ---- setup -------------------------------------------------------------------------------

    def setup(self):
        if self.a.private_stack:
            os.environ.update(PRIVATE_STACK_ENV)
            if self.a.node_profile == "small":
                for k in ("RTETL_CASSANDRA_HEAP", "RTETL_CASSANDRA_YAML_EXTRA"):
                    os.environ.pop(k, None)
            self.results["node_profile"] = self.a.node_profile
            os.environ["RTETL_STACK_DIR"] = os.path.join(WORK, "stack")
            self.results["notes"].append("private stack: %s" % os.environ["RTETL_STACK_DIR"])
        if not self.a.no_stack_up:
            log("scripts/stack up")
            sh([os.path.join(ROOT, "scripts", "stack"), "up"])
        env = stack_env()
        self.brokers = env.get("STACK_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
        self.cql_host = env.get("STACK_CQL_HOST", "127.0.0.1")
        self.cql_port = int(env.get("STACK_CQL_PORT", "9042"))
        from cassandra.cluster import Cluster

        self.cluster = Cluster([self.cql_host], port=self.cql_port)
        self.session = self.cluster.connect()
        self.session.default_timeout = 120
        self.server_pids = server_pids(env)
        self.snapshot_rtetl()
        self.results["load_start"] = os.getloadavg()
        self.results["versions"] = self.versions()
        self.results["machine"] = self.machine()
        self.results["command"] = " ".join(["bench/run"] + sys.argv[1:])
        self.results["records"] = self.a.records

    def snapshot_rtetl(self):
        """Copies the rtetl binary into the run directory and uses the copy: others rebuild
        build/rtetl while a run goes on, and every contender must run the same binary."""
        import shutil

        deadline = time.time() + 300
        while True:
            try:
                copy = os.path.join(self.run_dir, "rtetl")
                shutil.copy2(self.a.rtetl, copy)
                subprocess.run([copy, "--version"], check=True, capture_output=True, timeout=30)
                self.results["rtetl_binary"] = self.a.rtetl
                self.a.rtetl = copy
                return
            except (OSError, subprocess.SubprocessError) as e:
                if time.time() > deadline:
                    raise SystemExit("bench: no usable rtetl at %s (%s); run make" % (
                        self.a.rtetl, e))
                log("waiting for a usable %s (%s)" % (self.a.rtetl, e))
                time.sleep(5)

    def versions(self):
        v = {}

        def out(cmd):
            try:
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
                return (r.stdout + r.stderr).strip()
            except Exception as e:  # noqa: BLE001
                return "unknown (%s)" % e

        v["rtetl"] = out([self.a.rtetl, "--version"]).splitlines()[0]
        rev = out(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
        dirty = out(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"])
        v["rtetl_git"] = rev + (" (work tree has uncommitted changes)" if dirty else "")
        env = stack_env()
        v["kafka"] = env.get("STACK_KAFKA_VERSION") or self.stack_record("STACK_KAFKA_VERSION")
        v["cassandra"] = self.session.execute(
            "SELECT release_version FROM system.local").one()[0]
        import pyspark
        import cassandra

        v["spark"] = "pyspark " + pyspark.__version__
        v["spark_jars"] = sorted(os.path.basename(j) for j in
                                 os.environ.get("BENCH_SPARK_JARS", "").split(",") if j)
        java = os.path.join(os.environ.get("BENCH_JAVA_HOME", "/usr"), "bin", "java")
        v["java"] = out([java, "-version"]).splitlines()[0] if os.path.exists(java) else "unknown"
        v["python"] = platform.python_version()
        v["cassandra_driver"] = cassandra.__version__
        try:
            v["librdkafka"] = out(["dpkg-query", "-W", "-f", "${Version}", "librdkafka1"])
        except Exception:  # noqa: BLE001
            pass
        return v

    def stack_record(self, key):
        try:
            with open(os.path.join(ROOT, ".stack", "stack.env")) as f:
                for line in f:
                    if line.startswith(key + "="):
                        return line.split("=", 1)[1].strip()
        except OSError:
            pass
        return "unknown"

    @staticmethod
    def machine():
        m = {"host": socket.gethostname(), "kernel": platform.release(), "os": ""}
        try:
            with open("/etc/os-release") as f:
                m["os"] = dict(l.rstrip().split("=", 1) for l in f if "=" in l).get(
                    "PRETTY_NAME", "").strip('"')
        except OSError:
            pass
        m["cpus"] = os.cpu_count()
        try:
            with open("/proc/cpuinfo") as f:
                m["cpu_model"] = next((l.split(":", 1)[1].strip() for l in f
                                       if l.startswith("model name")), "unknown")
            with open("/proc/meminfo") as f:
                kb = int(next(l for l in f if l.startswith("MemTotal")).split()[1])
                m["memory_gib"] = round(kb / 1048576, 1)
        except (OSError, StopIteration):
            pass
        return m

    def keyspace(self, suffix):
        ks = ("%s_%s" % (self.prefix, suffix)).replace("-", "_")
        self.session.execute("CREATE KEYSPACE IF NOT EXISTS %s WITH replication = "
                             "{'class': 'SimpleStrategy', 'replication_factor': 1}" % ks)
        self.session.execute("CREATE TABLE IF NOT EXISTS %s.%s (%s, PRIMARY KEY (id))" % (
            ks, TABLE, ", ".join("%s text" % f for f in FIELDS)))
        self.keyspaces.append(ks)
        return ks

    def topic(self, suffix, partitions=4):
        t = "%s_%s" % (self.prefix, suffix)
        sh([os.path.join(ROOT, "scripts", "stack"), "topics", "--create", "--topic", t,
            "--partitions", str(partitions), "--replication-factor", "1"],
           stdout=subprocess.DEVNULL)
        self.topics.append(t)
        return t

    def ingest(self, topic, extra, log_name):
        cmd = [self.a.rtetl, "ingest", "--source", "builtin", "--brokers", self.brokers,
               "--topic", topic, "--no-create-topic", "--progress-interval", "10s"] + extra
        t0 = time.time()
        with open(os.path.join(self.run_dir, log_name), "w") as f:
            r = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT)
        secs = time.time() - t0
        with open(os.path.join(self.run_dir, log_name)) as f:
            summary = logfmt_last(f.read(), "summary") or {}
        if r.returncode != 0:
            raise RuntimeError("rtetl ingest failed (exit %d), see %s" % (
                r.returncode, os.path.join(self.run_dir, log_name)))
        delivered = int(summary.get("delivered", summary.get("sent", "0")).strip('"') or 0)
        return delivered, secs, summary

    # ---- throughput --------------------------------------------------------------------------

    def preload(self):
        self.src_topic = self.topic("src")
        n = self.a.records
        log("pre-loading %d records into %s" % (n, self.src_topic))
        delivered, secs, _ = self.ingest(self.src_topic, ["--seed", "42", "--count", str(n), "-q"],
                                         "ingest-preload.log")
        if delivered and delivered != n:
            self.results["notes"].append("pre-load delivered %d of %d records" % (delivered, n))
        self.expected = n  # every builtin record has an '@' in its email
        self.results["preload"] = {"records": n, "seconds": round(secs, 2),
                                   "rate": round(n / secs) if secs else None}

    def warmup(self):
        """Not measured: a few records through the whole path (Kafka, rtetl, Cassandra), so a
        freshly started server's JIT warm-up is not charged to whichever contender runs first."""
        n = self.a.warmup
        if n <= 0:
            return
        topic, ks = self.topic("warm"), self.keyspace("warm")
        log("warm-up: %d records through rtetl into %s (not measured)" % (n, ks))
        self.ingest(topic, ["--seed", "1", "--count", str(n), "-q"], "ingest-warmup.log")
        cmd = self.rtetl_stream_cmd(topic, ks, self.prefix + "_warm",
                                    ["--max-records", str(n), "--idle-exit", "60s"])
        with open(os.path.join(self.run_dir, "warmup.log"), "w") as f:
            subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, timeout=600)
            if (any(c in self.a.contenders for c in CQL_CEILINGS + ("latte",)) and
                    os.access(self.a.cql_hook, os.X_OK)):
                # Also builds the CQL client benchmark on first use, outside the measurement.
                subprocess.run([self.a.cql_hook, "--host", self.cql_host, "--port",
                                str(self.cql_port), "--keyspace", ks, "--table", TABLE + "_cql",
                                "--count", "1000"], stdout=f, stderr=subprocess.STDOUT,
                               timeout=900)

    def prepare_latte(self):
        """Outside the measurement: the latte binary (built once by bench/latte/ensure, which
        can take long the first time) and the pool of row values the CQL client benchmark
        inserts, so that latte inserts the very same rows."""
        self.latte_bin = None
        self.latte_pool = os.path.join(self.run_dir, "pool.tsv")
        log("latte: %s" % self.a.latte)
        with open(os.path.join(self.run_dir, "latte-setup.log"), "w") as f:
            r = subprocess.run([self.a.latte], stdout=subprocess.PIPE, stderr=f, text=True)
            p = subprocess.run([self.a.cql_hook, "--only", "rtetl", "--dump-pool",
                                self.latte_pool], stdout=f, stderr=subprocess.STDOUT)
        path = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
        if r.returncode == 0 and os.access(path, os.X_OK) and p.returncode == 0:
            self.latte_bin = path
            self.results["versions"]["latte"] = subprocess.run(
                [path, "--version"], capture_output=True, text=True).stdout.strip()
        else:
            self.latte_missing = ("no latte binary (%s exit %d, pool dump exit %d; see %s)" % (
                os.path.relpath(self.a.latte, ROOT), r.returncode, p.returncode,
                os.path.join(self.run_dir, "latte-setup.log")))
            log(self.latte_missing)

    def rtetl_has_option(self, option):
        """True when `rtetl stream --help` lists the option (the contender that needs it is
        skipped with a note otherwise)."""
        r = subprocess.run([self.a.rtetl, "stream", "--help"], capture_output=True, text=True)
        return option in (r.stdout + r.stderr)

    def latte_cmd(self, ks, n, report):
        return [self.latte_bin, "run", os.path.join(ROOT, "bench", "latte", "insert.rn"),
                "-d", str(n), "-w", "0", "-q", "-t", str(self.a.latte_threads),
                "-p", str(self.a.latte_concurrency),
                "--connections", str(self.a.latte_connections), "--consistency", "LOCAL_ONE",
                "-P", 'keyspace="%s"' % ks, "-P", 'table="%s"' % TABLE,
                "-P", 'pool="%s"' % self.latte_pool, "-o", report,
                "%s:%d" % (self.cql_host, self.cql_port)]

    @staticmethod
    def latte_rate(report):
        """latte's rate: cycles (one insert each) over the elapsed time of its main phase,
        from its JSON report (like cql_bench, it counts from after connecting and preparing)."""
        try:
            with open(report) as f:
                res = json.load(f)["result"]
            if res.get("elapsed_time_s"):
                return res["cycle_count"] / res["elapsed_time_s"], res
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return None, None

    def spark_env(self):
        env = dict(os.environ)
        env["JAVA_HOME"] = os.environ.get("BENCH_JAVA_HOME", env.get("JAVA_HOME", ""))
        env["PATH"] = os.path.join(env["JAVA_HOME"], "bin") + os.pathsep + env.get("PATH", "")
        env["SPARK_LOCAL_IP"] = "127.0.0.1"
        env["SPARK_LOCAL_DIRS"] = os.path.join(WORK, "spark-tmp")
        env["PYSPARK_PYTHON"] = sys.executable
        env["PYSPARK_DRIVER_PYTHON"] = sys.executable
        os.makedirs(env["SPARK_LOCAL_DIRS"], exist_ok=True)
        return env

    def spark_cmd(self, script, topic, ks, name, extra=()):
        ck = os.path.join(self.run_dir, "checkpoint-" + name)
        return [sys.executable, os.path.join(ROOT, "bench", "spark", script),
                "--brokers", self.brokers, "--topic", topic,
                "--cassandra-host", self.cql_host, "--cassandra-port", str(self.cql_port),
                "--keyspace", ks, "--table", TABLE, "--checkpoint", ck,
                "--jars", os.environ.get("BENCH_SPARK_JARS", "")] + list(extra)

    def rtetl_stream_cmd(self, topic, ks, group, extra=()):
        return [self.a.rtetl, "stream", "--mode", "initial", "--brokers", self.brokers,
                "--topic", topic, "--group", group, "--cassandra",
                "%s:%d" % (self.cql_host, self.cql_port), "--keyspace", ks, "--table", TABLE,
                ] + list(extra)

    def throughput(self, name):
        n = self.a.records
        r = {"contender": name, "records": n}
        skip = None
        if name == "latte" and not getattr(self, "latte_bin", None):
            skip = getattr(self, "latte_missing", "latte was not prepared")
        elif name == "rtetl-unbatched" and not self.rtetl_has_option("--batch-rows"):
            skip = ("`rtetl stream --help` does not list --batch-rows: this rtetl has no "
                    "batching option, so there is nothing to turn off")
        if skip:
            r["status"] = "skipped" if name == "rtetl-unbatched" else "missing"
            r["detail"] = skip
            log("%s: %s" % (name, skip))
            self.results["throughput"].append(r)
            return r
        if name in CQL_CEILINGS and not os.access(self.a.cql_hook, os.X_OK):
            r["status"] = "missing"
            r["detail"] = ("no Cassandra-ceiling program at %s (bench/cql/ is another "
                           "engineer's part; not measured, no number)" % os.path.relpath(
                               self.a.cql_hook, ROOT))
            log(r["detail"])
            self.results["throughput"].append(r)
            return r
        # A later round writes into its own keyspace, group and files (label).
        label = name + self.round_suffix
        r["round"] = self.round
        ks = self.keyspace(label) if name != "rtetl-null" else None
        progress = os.path.join(self.run_dir, "progress-%s.jsonl" % label)
        env = None
        done_by = "exit"
        timeout = self.a.rtetl_timeout
        group = "%s_%s" % (self.prefix, label)
        if name == "rtetl-null":
            null_ks = (self.prefix + "_null" + self.round_suffix).replace("-", "_")
            self.keyspaces.append(null_ks)  # in case the null sink makes it
            cmd = self.rtetl_stream_cmd(self.src_topic, null_ks, group,
                                        ["--sink", "null", "--max-records", str(n),
                                         "--idle-exit", "60s"])
        elif name in ("rtetl", "rtetl-server-wts", "rtetl-unbatched"):
            extra = {"rtetl-server-wts": ["--write-timestamp", "server"],
                     "rtetl-unbatched": ["--batch-rows", "0"]}.get(name, [])
            cmd = self.rtetl_stream_cmd(self.src_topic, ks, group,
                                        ["--max-records", str(n), "--idle-exit", "60s"] + extra)
        elif name in CQL_CEILINGS:
            cmd = [self.a.cql_hook, "--host", self.cql_host, "--port", str(self.cql_port),
                   "--keyspace", ks, "--table", TABLE, "--count", str(n)]
            if name == "cql-ceiling-batched":
                cmd += ["--batch", str(self.a.cql_batch)]
        elif name == "latte":
            latte_report = os.path.join(self.run_dir, "latte-report%s.json" % self.round_suffix)
            cmd = self.latte_cmd(ks, n, latte_report)
            env = dict(os.environ, LATTE_LOG_DIR=self.run_dir)
        else:
            script = ("stream_to_cassandra.py" if name.startswith("spark-connector")
                      else "reference_style.py")
            extra = ["--progress-file", progress]
            if name == "spark-connector-tuned":
                conf = dict(SPARK_TUNED_CONF)
                conf.update(kv.split("=", 1) for kv in self.a.spark_tuned_conf)
                extra += [a for k, v in sorted(conf.items()) for a in ("--conf", "%s=%s" % (k, v))]
                if self.a.spark_tuned_max_offsets > 0:
                    extra += ["--max-offsets-per-trigger", str(self.a.spark_tuned_max_offsets)]
                r["spark_conf"] = conf
            if name == "spark-reference":
                # collect() brings each whole micro-batch (with the default trigger: all N
                # records at first) into the driver; Spark's default 1g heap is not enough.
                extra += ["--driver-memory", self.a.reference_driver_memory]
            cmd = self.spark_cmd(script, self.src_topic, ks, label, extra)
            env = self.spark_env()
            done_by = "progress"
            timeout = (self.a.spark_timeout if name.startswith("spark-connector")
                       else self.a.reference_timeout)
        r["command"] = " ".join(cmd)
        log("throughput: %s (%d records)%s" % (name, n, " round %d" % self.round
                                                 if self.a.rounds > 1 else ""))
        watcher = None
        if ks:
            watcher = FirstRowWatcher(self.session, ks, TABLE)
            watcher.start()
        servers0 = servers_cpu(self.server_pids)
        c = Contender(name, cmd, os.path.join(self.run_dir, label + ".log"), env=env)
        t_done = None
        status = "ok"
        while True:
            time.sleep(0.1)
            if done_by == "progress":
                last = self.last_progress(progress)
                if last and last.get("total", 0) >= n:
                    t_done = min(last["t_end"], time.time())
                    c.snapshot()
                    break
                if c.poll():
                    status = "failed"
                    break
            elif c.poll():
                t_done = c.t_exit
                status = "ok" if c.exit_code == 0 else "failed"
                break
            if time.time() - c.t0 > timeout:
                status = "timeout"
                c.snapshot()
                break
        cpu, rss = c.figures()
        servers1 = servers_cpu(self.server_pids)
        c.stop()
        if status == "timeout":
            t_done = time.time()
        if watcher:
            watcher.stop()
        text = c.log_text()
        r["exit_code"] = c.exit_code
        r["wall_s"] = (t_done - c.t0) if t_done else None
        r["cpu_s"] = cpu
        r["peak_rss_mib"] = rss / 1048576.0
        if watcher and watcher.t_first:
            r["first_row_s"] = watcher.t_first - c.t0
        if ks:
            try:
                r["rows_in_table"] = count_rows(self.session, ks, TABLE)
            except Exception as e:  # noqa: BLE001
                r["rows_in_table"] = None
                self.results["notes"].append("%s: counting the table failed: %s" % (name, e))
            rows = r["rows_in_table"]
            if rows is None:
                # The table could not be counted: fall back on what the contender says it
                # wrote, and say so in the status.
                if name.startswith("rtetl"):
                    rows = int(logfmt_last(text, "final").get("written", "0"))
                elif done_by == "progress":
                    rows = (self.last_progress(progress) or {}).get("total", 0)
                else:
                    rows = 0
                if status == "ok":
                    status = "unverified"
        else:
            final = logfmt_last(text, "final")
            rows = int(final.get("consumed", "0"))
            r["rows_consumed"] = rows
        if name.startswith("rtetl"):
            final = logfmt_last(text, "final")
            r["rtetl_final"] = final
        if name == "latte":
            r["reported_rate"], latte_res = self.latte_rate(latte_report)
            if latte_res:
                r["latte"] = {k: latte_res.get(k) for k in (
                    "cycle_count", "elapsed_time_s", "cpu_time_s", "error_count", "errors")}
                if latte_res.get("error_count"):
                    r["detail"] = "latte: %d errors, e.g. %s" % (
                        latte_res["error_count"], (latte_res.get("errors") or [""])[0][:200])
        if name in CQL_CEILINGS:
            m = (re.search(r'"rows_per_s":\s*([0-9.]+)', text) or
                 re.search(r"\brows_per_s=([0-9.]+)", text) or re.search(r"\brate=([0-9.]+)", text))
            if m:
                r["reported_rate"] = float(m.group(1))
        if status in ("ok", "unverified") and ks and rows < n * 0.999:
            status = "incomplete"
        if status == "failed":
            r["detail"] = "exit %s; last log lines: %s" % (
                c.exit_code, " | ".join(text.strip().splitlines()[-3:]))
        r["status"] = status
        if r["wall_s"]:
            r["rows_per_s"] = rows / r["wall_s"]
            if r.get("first_row_s") and r["wall_s"] > r["first_row_s"]:
                r["rows_per_s_after_first_row"] = rows / (r["wall_s"] - r["first_row_s"])
        if (name in CQL_CEILINGS or name == "latte") and r.get("reported_rate"):
            r["rows_per_s"] = r["reported_rate"]
        if rows:
            r["cpu_us_per_row"] = cpu / rows * 1e6
            if watcher and watcher.t_first:
                # Start-up left out: CPU from the sample nearest the first row to the end.
                before = [cs for (t, cs, _) in c.sampler.series if t <= watcher.t_first]
                if before:
                    r["cpu_us_per_row_after_first_row"] = (cpu - before[-1]) / rows * 1e6
            # What the same rows cost the node and the broker meanwhile (their whole processes:
            # compaction and flushes of earlier contenders included), and the rate the machine's
            # cores allow at the client's + node's + broker's CPU per row.
            spent = {k: servers1[k] - servers0[k] for k in servers0 if k in servers1}
            for k, v in spent.items():
                r["%s_cpu_s" % k] = v
                r["%s_us_per_row" % k] = v / rows * 1e6
            if "node" in spent and "broker" in spent:
                total = r["cpu_us_per_row"] + r["node_us_per_row"] + r["broker_us_per_row"]
                r["cores_bound_rows_per_s"] = (os.cpu_count() or 1) / total * 1e6
        r["rows"] = rows
        log("  %s: %s" % (name, summarize(r)))
        self.results["throughput"].append(r)
        return r

    @staticmethod
    def last_progress(path):
        try:
            with open(path) as f:
                lines = [l for l in f.read().splitlines() if l.strip()]
        except OSError:
            return None
        for l in reversed(lines):
            try:
                d = json.loads(l)
            except ValueError:
                continue
            if "total" in d:
                return d
        return None

    @staticmethod
    def has_event(path, event):
        try:
            with open(path) as f:
                return any(json.loads(l).get("event") == event for l in f if l.strip())
        except (OSError, ValueError):
            return False

    # ---- latency -----------------------------------------------------------------------------

    def latency(self, who, rate):
        try:
            return self._latency(who, rate)
        except Exception as e:  # noqa: BLE001 - one failed run must not lose the others
            log("latency %s@%d failed: %s" % (who, rate, e))
            r = {"contender": who, "rate": rate, "status": "failed", "detail": str(e)}
            self.results["latency"].append(r)
            return r

    def _latency(self, who, rate):
        dur = self.a.latency_duration
        tag = "%s-%d" % (who.replace("-connector", ""), rate)
        topic = self.topic("lat_" + tag.replace("-", "_"))
        ks = self.keyspace("lat_" + tag)
        r = {"contender": who, "rate": rate, "duration_s": dur}
        log("latency: %s at %d/s for %gs" % (who, rate, dur))
        if who == "rtetl":
            cmd = self.rtetl_stream_cmd(topic, ks, "%s_%s" % (self.prefix, tag.replace("-", "_")),
                                        ["--metrics-port", "0"])
            c = Contender(tag, cmd, os.path.join(self.run_dir, "latency-%s.log" % tag))
            ready = lambda: re.search(r"partitions assigned", c.log_text())  # noqa: E731
            start_timeout = 120
        else:
            progress = os.path.join(self.run_dir, "progress-latency-%s.jsonl" % tag)
            latfile = os.path.join(self.run_dir, "latency-%s.txt" % tag)
            cmd = self.spark_cmd("stream_to_cassandra.py", topic, ks, "latency-" + tag,
                                 ["--progress-file", progress, "--latency-file", latfile])
            c = Contender(tag, cmd, os.path.join(self.run_dir, "latency-%s.log" % tag),
                          env=self.spark_env())
            ready = lambda: self.has_event(progress, "ready")  # noqa: E731
            start_timeout = 600
        r["command"] = " ".join(cmd)
        try:
            deadline = time.time() + start_timeout
            while not ready():
                if c.poll() or time.time() > deadline:
                    raise RuntimeError("%s did not start (see %s)" % (who, c.log_path))
                time.sleep(0.2)
            written_now = ((lambda: self.rtetl_written(c)) if who == "rtetl" else
                           (lambda: (self.last_progress(progress) or {}).get("total", 0)))

            def wait_written(n, limit):
                deadline = time.time() + limit
                w = 0
                while time.time() < deadline:
                    if c.poll():
                        raise RuntimeError("%s exited during the latency run" % who)
                    w = written_now()
                    if w >= n:
                        break
                    time.sleep(0.2)
                return w

            # Warm-up, not measured: --latency-warmup seconds of records at the rate, all
            # written, so that the first micro-batches' set-up (Spark: connector session, code
            # generation, JIT) is not counted as latency of a steady stream. rtetl's summary is
            # cumulative, so its warm-up records stay in its figures (to its disadvantage).
            warm, _, _ = self.ingest(topic, ["--seed", "6", "--rate", "%d/s" % rate, "--count",
                                             str(max(1, int(rate * self.a.latency_warmup))), "-q"],
                                     "ingest-warmup-%s.log" % tag)
            if wait_written(warm, 600) < warm:
                raise RuntimeError("%s did not write the warm-up records" % who)
            cpu0, _ = c.snapshot()
            t_prod = time.time()
            delivered, secs, summary = self.ingest(
                topic, ["--seed", "7", "--rate", "%d/s" % rate, "--duration", "%gs" % dur, "-q"],
                "ingest-latency-%s.log" % tag)
            r["warmup_records"] = warm
            r["produced"] = delivered
            r["produce_s"] = secs
            r["produced_rate"] = delivered / secs if secs else None
            t_prod_end = time.time()
            written = wait_written(warm + delivered, max(120, dur)) - warm
            # A contender that keeps up drains within about one batch of the end of
            # production; one that does not has a backlog that grew all along, and its latency
            # is then a queue, not a property of the rate.
            r["drain_s"] = time.time() - t_prod_end
            r["sustained"] = r["drain_s"] <= max(5.0, 0.1 * dur)
            r["written"] = written
            cpu1, rss = c.snapshot()
            r["cpu_s"] = cpu1 - cpu0
            r["cpu_pct"] = 100.0 * (cpu1 - cpu0) / (time.time() - t_prod)
            r["peak_rss_mib"] = rss / 1048576.0
            if who == "rtetl":
                q = self.rtetl_quantiles(c)
                r["source"] = "rtetl /metrics rtetl_stream_end_to_end_seconds (summary)"
            else:
                vals = sorted(self.spark_latencies(topic, progress, latfile, t_prod))
                q = {str(k): percentile(vals, k) for k in (0.5, 0.9, 0.95, 0.99, 0.999)}
                q["count"] = len(vals)
                q["max"] = vals[-1] if vals else None
                r["source"] = ("per record: write end of its micro-batch (foreachBatch) - its Kafka "
                               "timestamp (read with kcat)")
            r["quantiles_ms"] = q
            r["status"] = "ok" if written >= delivered else "incomplete"
        except Exception as e:  # noqa: BLE001
            r["status"] = "failed"
            r["detail"] = str(e)
        finally:
            c.stop()
        log("  %s@%d/s: %s" % (who, rate, json.dumps(r.get("quantiles_ms", r.get("detail")))))
        self.results["latency"].append(r)
        return r

    def cql_floor(self, rate):
        """The node's own write latency at `rate`: the CQL client benchmark paced at that rate
        (bench/cql cql_bench --rate), no Kafka in the path. Latency counts from when each row
        was due, so a stall of the node counts for every row it held up."""
        dur = self.a.latency_duration
        ks = self.keyspace("floor_%d" % rate)
        n = max(1, int(rate * dur))
        cmd = [self.a.cql_hook, "--host", self.cql_host, "--port", str(self.cql_port),
               "--keyspace", ks, "--table", TABLE, "--count", str(n), "--rate", str(rate),
               "--json"]
        r = {"contender": "cql-floor", "rate": rate, "duration_s": dur, "command": " ".join(cmd)}
        log("latency: cql-floor at %d/s for %gs" % (rate, dur))
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=dur * 4 + 120)
            line = next((l for l in out.stdout.splitlines() if l.startswith("{")), None)
            if out.returncode != 0 or not line:
                raise RuntimeError("exit %d: %s" % (out.returncode, out.stderr.strip()[-300:]))
            j = json.loads(line)
            r["produced"] = j["rows"]
            r["produced_rate"] = j["rows_per_s"]
            r["written"] = j["rows"]
            r["sustained"] = j["rows_per_s"] >= 0.98 * rate
            r["peak_rss_mib"] = j["rss_kb"] / 1024.0
            r["cpu_pct"] = 100.0 * j["cpu_s"] / j["seconds"] if j["seconds"] else None
            r["quantiles_ms"] = {"0.5": j["p50_ms"], "0.9": j["p90_ms"], "0.99": j["p99_ms"],
                                 "0.999": j["p999_ms"], "count": j["rows"]}
            r["source"] = ("CQL client alone, paced (bench/cql --rate): due time -> write "
                           "acknowledged; the node's floor at this rate")
            r["status"] = "ok" if j.get("errors", 0) == 0 else "errors"
        except Exception as e:  # noqa: BLE001
            r["status"] = "failed"
            r["detail"] = str(e)
        log("  cql-floor@%d/s: %s" % (rate, json.dumps(r.get("quantiles_ms", r.get("detail")))))
        self.results["latency"].append(r)
        return r

    def spark_latencies(self, topic, progress, latfile, t_from):
        """Per record written in a micro-batch: the time that batch's write returned (the
        baseline's side file) minus the record's Kafka timestamp, read from Kafka itself with
        kcat (partition, offset, timestamp) and placed in its batch by the offset ranges of
        Spark's progress events. Records produced before t_from (the warm-up) are left out."""
        ends = {}
        with open(latfile) as f:
            for line in f:
                d = json.loads(line)
                ends[d["batch"]] = d["t_write_end"]
        ranges = []  # (partition, start, end, t_write_end)
        with open(progress) as f:
            for line in f:
                d = json.loads(line)
                if "offsets" not in d or d["batch"] not in ends:
                    continue
                start = (d["offsets"].get("start") or {}).get(topic, {})
                end = (d["offsets"].get("end") or {}).get(topic, {})
                for part, e in end.items():
                    ranges.append((int(part), int(start.get(part, 0)), int(e), ends[d["batch"]]))
        out = subprocess.run(["kcat", "-C", "-b", self.brokers, "-t", topic, "-o", "beginning",
                              "-e", "-q", "-f", "%p %o %T\n"], capture_output=True, text=True,
                             timeout=300, check=True).stdout
        by_part = {}
        for p, s_, e, t in ranges:
            by_part.setdefault(p, []).append((s_, e, t))
        vals = []
        for line in out.splitlines():
            p, o, ts = line.split()
            ts_s = int(ts) / 1000.0
            if ts_s < t_from:
                continue
            for s_, e, t in by_part.get(int(p), ()):
                if s_ <= int(o) < e:
                    vals.append((t - ts_s) * 1000.0)
                    break
        return vals

    @staticmethod
    def metrics_port(c):
        m = re.search(r'msg="serving metrics" addr=[\d.]+:(\d+)', c.log_text())
        return int(m.group(1)) if m else None

    def scrape(self, c):
        port = self.metrics_port(c)
        if not port:
            return ""
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as resp:
            return resp.read().decode()

    def rtetl_written(self, c):
        m = re.search(r'rtetl_stream_records_total\{stage="written"\}\s+([0-9.e+]+)', self.scrape(c))
        return int(float(m.group(1))) if m else 0

    def rtetl_quantiles(self, c):
        text = self.scrape(c)
        q = {}
        for k, v in re.findall(r'rtetl_stream_end_to_end_seconds\{quantile="([0-9.]+)"\}\s+(\S+)',
                               text):
            q[str(float(k))] = float(v) * 1000.0
        m = re.search(r"rtetl_stream_end_to_end_seconds_count\s+(\S+)", text)
        if m:
            q["count"] = int(float(m.group(1)))
        return q

    # ---- run ---------------------------------------------------------------------------------

    def run(self):
        self.results["spark_latency_rate"] = self.a.spark_latency_rate
        self.setup()
        self.warmup()
        if "latte" in self.a.contenders:
            self.prepare_latte()
        self.preload()
        # Rounds alternate the order (odd rounds as given, even ones reversed), so that no
        # contender always runs on the node first, while it still warms up or compacts.
        for rnd in range(1, self.a.rounds + 1):
            self.round, self.round_suffix = rnd, ("" if rnd == 1 else "_r%d" % rnd)
            order = self.a.contenders if rnd % 2 else list(reversed(self.a.contenders))
            for name in order:
                try:
                    self.throughput(name)
                except Exception as e:  # noqa: BLE001
                    log("%s failed: %s" % (name, e))
                    self.results["throughput"].append({"contender": name, "status": "failed",
                                                       "detail": str(e), "round": rnd})
                time.sleep(2)
        self.keep_best_rounds()
        if not self.a.no_latency:
            high = self.a.latency_rate
            if not high:
                rt = next((t for t in self.results["throughput"]
                           if t["contender"] == "rtetl" and t.get("status") == "ok"), None)
                if rt:
                    high = int((rt.get("rows_per_s_after_first_row") or rt["rows_per_s"]) / 2)
                else:
                    self.results["notes"].append("no rtetl throughput measured: the high-rate "
                                                 "latency run was skipped (or pass --latency-rate)")
            if self.a.quick:
                high = 0  # quick mode: the fixed rate only
            floor = (any(c in self.a.contenders for c in CQL_CEILINGS) and
                     os.access(self.a.cql_hook, os.X_OK))
            if high and high != self.a.spark_latency_rate:
                self.latency("rtetl", high)
                if floor:
                    self.cql_floor(high)
            self.latency("rtetl", self.a.spark_latency_rate)
            if floor:
                self.cql_floor(self.a.spark_latency_rate)
            if any(c.startswith("spark") for c in self.a.contenders):
                self.latency("spark-connector", self.a.spark_latency_rate)
        self.results["load_end"] = os.getloadavg()
        self.results["finished"] = datetime.datetime.now().isoformat(timespec="seconds")

    def keep_best_rounds(self):
        """With --rounds N > 1: each contender's best ok round (by rows/s after the first row)
        stands for it in the tables and ratios; every round stays in results["rounds"] and the
        per-contender spread in notes."""
        if self.a.rounds <= 1:
            return
        every = self.results["throughput"]
        self.results["rounds"] = every
        best = []
        for name in self.a.contenders:
            runs = [t for t in every if t["contender"] == name]
            ok = [t for t in runs if t.get("status") == "ok" and t.get("rows_per_s")]
            rate = lambda t: t.get("rows_per_s_after_first_row") or t["rows_per_s"]  # noqa: E731
            pick = max(ok, key=rate) if ok else runs[-1]
            best.append(pick)
            if ok:
                self.results["notes"].append("%s: rows/s after the 1st row by round: %s (best kept)" % (
                    name, ", ".join("r%d %.0f" % (t["round"], rate(t)) for t in ok)))
        self.results["throughput"] = best

    def cleanup(self):
        if self.a.keep:
            log("kept topics %s and keyspaces %s" % (self.topics, self.keyspaces))
        else:
            for ks in self.keyspaces:
                try:
                    self.session.execute("DROP KEYSPACE IF EXISTS %s" % ks, timeout=120)
                except Exception as e:  # noqa: BLE001
                    log("drop %s: %s" % (ks, e))
            if self.topics:
                subprocess.run([os.path.join(ROOT, "scripts", "stack"), "topics", "--delete",
                                "--topic", self.prefix + "_.*"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if self.cluster:
            self.cluster.shutdown()


def summarize(r):
    parts = [r.get("status", "")]
    for k, fmt in (("rows", "%d rows"), ("wall_s", "%.1f s"), ("rows_per_s", "%.0f rows/s"),
                   ("cpu_s", "%.1f cpu-s"), ("peak_rss_mib", "%.0f MiB"),
                   ("first_row_s", "first row %.1f s")):
        if r.get(k) is not None:
            parts.append(fmt % r[k])
    return ", ".join(parts)


def main(argv):
    args = parse_args(argv)
    b = Bench(args)

    def on_term(signum, frame):
        raise SystemExit(128 + signum)

    # A stopped harness stops what it started (each contender runs in its own process group,
    # so it would not get the signal) and drops its keyspaces and topics, then exits.
    signal.signal(signal.SIGTERM, on_term)
    try:
        b.run()
    finally:
        Contender.stop_all()
        b.cleanup()
    import report

    paths = report.write(b.results, args.out, quick=args.quick)
    for line in report.ratio_lines(b.results):
        print(line)
    for p in paths:
        print("bench: wrote %s" % os.path.relpath(p, ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
