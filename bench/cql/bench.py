"""bench/cql/run's driver: runs the contenders one after the other against one Cassandra node,
each into a fresh table, measures each client process from the outside, and reports.

Measurement. Each client connects and prepares, prints READY and waits; the runner reads the
process's utime+stime from /proc/<pid>/stat and lets it go; the client inserts N rows with its
own bounded concurrency, prints DONE and waits again; the runner reads utime+stime and VmHWM
(peak RSS) from /proc at that moment, then lets it exit and takes the whole-process rusage from
wait4. "CPU s (inserts)" is the difference of the two /proc readings: the client's CPU for the
N inserts (all threads; for Java the whole JVM: JIT, GC, Netty), without start-up and shutdown;
"CPU s (process)" is everything from exec to exit. rows/s is N over the client's own clock from
the first submit to the last acknowledgement. After each run the table's rows are counted
(count(*) over 64 token ranges) and compared with N. "Node CPU" is the Cassandra process's
utime+stime over the same inserts (the local stack's node, found by its pid file): what each row
costs the server, which is what a client's framing (v4 against v5) can change."""
import argparse
import datetime
import json
import os
import platform
import queue
import re
import shlex
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from stackproc import proc_cpu, server_pid, servers_cpu, stack_dir  # noqa: E402

ROOT = os.environ.get("BENCH_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
WORK = os.environ.get("BENCH_WORK") or os.path.join(ROOT, "bench", ".work")
COLUMNS = ["id", "first_name", "last_name", "gender", "address", "post_code", "email",
           "username", "dob", "registered_date", "phone", "picture"]
ALL = ["rtetl", "java", "python", "java-v5", "python-v5"]
DEFAULT = ["rtetl", "java", "python"]
# java-v5 / python-v5: the same drivers speaking protocol v5 (Cassandra 4.0+: checksummed frames
# that carry many messages each), to measure what v5 framing is worth on this node against v4.


def log(msg):
    print("cql-bench: " + msg, file=sys.stderr, flush=True)


def parse_args():
    p = argparse.ArgumentParser(prog="bench/cql/run", description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", "--count", type=int, default=1_000_000, help="inserts per client [1000000]")
    p.add_argument("--only", default=",".join(DEFAULT),
                   help="clients, comma-separated, of %s [rtetl,java,python]" % ",".join(ALL))
    p.add_argument("--host", default=None, help="the node [the local stack's]")
    p.add_argument("--port", type=int, default=None, help="its CQL port [the local stack's]")
    p.add_argument("--bench-keyspace", default="bench_cql", help="keyspace of the runs [bench_cql]")
    p.add_argument("--window", type=int, default=1024, help="rtetl: requests in flight [1024]")
    p.add_argument("--connections", type=int, default=2, help="rtetl: connections per host [2]")
    p.add_argument("--java-inflight", type=int, default=1024, help="Java: semaphore permits [1024]")
    p.add_argument("--py-concurrency", type=int, default=100,
                   help="Python: execute_concurrent concurrency [100]")
    p.add_argument("--warmup", type=int, default=None,
                   help="rows written by rtetl first, not measured [min(50000, rows/5)]")
    p.add_argument("--timeout", type=int, default=3600, help="seconds per client run [3600]")
    p.add_argument("--json", action="store_true", help="one JSON line per client instead of a table")
    p.add_argument("--no-save", action="store_true", help="do not write bench/results/cql-*.md")
    p.add_argument("--note", action="append", default=[], help="a line for the report's notes")
    return p.parse_args()


def stack_env():
    try:
        out = subprocess.run([os.path.join(ROOT, "scripts", "stack"), "env"], capture_output=True,
                             text=True, timeout=30).stdout
    except Exception:  # noqa: BLE001
        return {}
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def node_cpu(pid):
    """The node's utime+stime, or None when it is not known or gone."""
    return servers_cpu({"node": pid}).get("node") if pid is not None else None


def proc_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def logfmt(line):
    return dict(kv.split("=", 1) for kv in line.split() if "=" in kv)


class Client:
    """One client process speaking the READY / GO / DONE / result / EOF protocol."""

    def __init__(self, name, cmd, logpath):
        self.name, self.cmd = name, cmd
        self.logf = open(logpath, "w")
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.logf, text=True, start_new_session=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.logf.write(line)
            self.logf.flush()
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def expect(self, word, timeout):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError("%s: no %s within %d s" % (self.name, word, timeout))
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise RuntimeError("%s exited before %s (see its log)" % (self.name, word))
            if line == word:
                return

    def next_line(self, timeout):
        line = self.lines.get(timeout=timeout)
        if line is None:
            raise RuntimeError("%s exited without a result line" % self.name)
        return line

    def run(self, timeout, node_pid=None):
        r = {}
        self.expect("READY", 300)
        pid = self.p.pid
        cpu0 = proc_cpu(pid)
        node0 = node_cpu(node_pid)
        self.p.stdin.write("GO\n")
        self.p.stdin.flush()
        self.expect("DONE", timeout)
        r["cpu_inserts_s"] = proc_cpu(pid) - cpu0
        node1 = node_cpu(node_pid)
        r["node_cpu_s"] = node1 - node0 if node0 is not None and node1 is not None else None
        r["rss_kb"] = proc_hwm_kb(pid)
        r["result"] = logfmt(self.next_line(60))
        self.p.stdin.close()
        _, status, ru = os.wait4(pid, 0)
        self.p.returncode = os.waitstatus_to_exitcode(status)
        r["cpu_process_s"] = ru.ru_utime + ru.ru_stime
        r["exit_code"] = self.p.returncode
        return r

    def kill(self):
        if self.p.returncode is None:
            try:
                os.killpg(self.p.pid, 9)
                self.p.wait(10)
            except Exception:  # noqa: BLE001
                pass
        self.logf.close()


class Bench:
    def __init__(self, a):
        self.a = a
        env = stack_env()
        self.host = a.host or env.get("STACK_CQL_HOST", "127.0.0.1")
        self.port = a.port or int(env.get("STACK_CQL_PORT", "9042"))
        self.node_pid = server_pid(stack_dir(env), "cassandra") if a.host is None else None
        self.ks = a.bench_keyspace
        self.table = "tb_usuarios"
        self.stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        self.run_dir = os.path.join(WORK, "cql-runs", self.stamp)
        os.makedirs(self.run_dir, exist_ok=True)
        self.pool = os.path.join(self.run_dir, "pool.tsv")
        self.cbin = os.environ["BENCH_CQL_BIN"]
        subprocess.run([self.cbin, "--dump-pool", self.pool], check=True)
        from cassandra.cluster import Cluster  # only the full benchmark needs the driver here
        import cassandra
        self.py_driver_version = cassandra.__version__
        self.cluster = Cluster([self.host], port=self.port, protocol_version=4, connect_timeout=30)
        self.session = self.cluster.connect()
        self.session.default_timeout = 120
        self.cassandra_version = self.session.execute(
            "SELECT release_version FROM system.local").one()[0]

    def fresh_table(self):
        s = self.session
        s.execute("CREATE KEYSPACE IF NOT EXISTS %s WITH replication = "
                  "{'class': 'SimpleStrategy', 'replication_factor': 1}" % self.ks)
        s.execute("DROP TABLE IF EXISTS %s.%s" % (self.ks, self.table))
        s.execute("CREATE TABLE %s.%s (%s, PRIMARY KEY (id))" % (
            self.ks, self.table, ", ".join(c + " text" for c in COLUMNS)))

    def count_rows(self):
        """count(*) over 64 token ranges (one count over a million rows may time out)."""
        from cassandra.concurrent import execute_concurrent_with_args
        lo, hi, n = -(2 ** 63), 2 ** 63 - 1, 64
        step = (hi - lo) // n
        bounds = [lo + i * step for i in range(n)] + [hi]
        ps = self.session.prepare("SELECT count(*) FROM %s.%s WHERE token(id) > ? AND token(id) <= ?"
                                  % (self.ks, self.table))
        args = [(bounds[i], bounds[i + 1]) for i in range(n)]
        total = 0  # the partitioner never gives a key the minimum token, lo itself
        for ok, res in execute_concurrent_with_args(self.session, ps, args, concurrency=4):
            if not ok:
                raise res
            total += res.one()[0]
        return total

    def command(self, name, rows):
        a = self.a
        if name == "rtetl":
            return [self.cbin, "--host", self.host, "--port", str(self.port), "--keyspace", self.ks,
                    "--table", self.table, "--rows", str(rows), "--window", str(a.window),
                    "--connections", str(a.connections), "--handshake"]
        v5 = name.endswith("-v5")
        if name.startswith("python"):
            return [sys.executable, os.path.join(ROOT, "bench", "cql", "py_client.py"), self.host,
                    str(self.port), self.ks, self.table, str(rows), self.pool,
                    str(a.py_concurrency), "5" if v5 else "4"]
        return [os.environ["BENCH_CQL_JAVA"], "-cp", os.environ["BENCH_CQL_JAVA_CP"], "CqlBench",
                self.host, str(self.port), self.ks, self.table, str(rows), self.pool,
                str(a.java_inflight), "V5" if v5 else "V4"]

    def run_one(self, name, rows, verify=True, tag=None):
        self.fresh_table()
        cmd = self.command(name, rows)
        log("%s: %d rows: %s" % (name, rows, " ".join(shlex.quote(c) for c in cmd)))
        c = Client(name, cmd, os.path.join(self.run_dir, (tag or name) + ".log"))
        try:
            r = c.run(self.a.timeout, self.node_pid)
        finally:
            c.kill()
        r["client"], r["command"], r["rows_wanted"] = name, cmd, rows
        res = r["result"]
        r["rows"] = int(res.get("rows", 0))
        r["errors"] = int(res.get("errors", 0))
        r["seconds"] = float(res.get("seconds", "nan"))
        r["rows_per_s"] = r["rows"] / r["seconds"] if r["seconds"] > 0 else 0.0
        if verify:
            try:
                r["rows_in_table"] = self.count_rows()
            except Exception as e:  # noqa: BLE001
                r["rows_in_table"] = None
                log("%s: counting failed: %s" % (name, e))
        log("%s: %s" % (name, summary(r)))
        return r


def node_us_row(r):
    n = r.get("node_cpu_s")
    return n / r["rows"] * 1e6 if n is not None and r["rows"] else None


def summary(r):
    nu = node_us_row(r)
    return ("rows=%d errors=%d seconds=%.2f rows/s=%.0f cpu_inserts=%.2fs cpu_process=%.2fs "
            "node_us_row=%s rss=%.0fMiB in_table=%s exit=%s" % (
                r["rows"], r["errors"], r["seconds"], r["rows_per_s"], r["cpu_inserts_s"],
                r["cpu_process_s"], "%.1f" % nu if nu is not None else "?",
                (r["rss_kb"] or 0) / 1024, r.get("rows_in_table"), r["exit_code"]))


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception:  # noqa: BLE001
        return ""


def machine():
    model = sh("sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1")
    mem = sh("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' /proc/meminfo")
    debian = sh("cat /etc/debian_version")
    return "%s, %d cores (%s), %s RAM, Linux %s, Debian %s" % (
        socket.gethostname(), os.cpu_count(), model, mem, platform.release(), debian)


LABELS = {"rtetl": "rtetl C client (libuv, async, token-aware)",
          "java": "Java driver %s, executeAsync + semaphore",
          "python": "Python driver %s, execute_concurrent_with_args"}


def label(r, b):
    res = r["result"]
    proto = ", protocol %s" % res["protocol"].lower() if "protocol" in res else ""
    if r["client"].startswith("java"):
        return LABELS["java"] % res.get("driver", "").replace("java-driver-core-", "") + proto
    if r["client"].startswith("python"):
        return LABELS["python"] % b.py_driver_version + proto
    return LABELS["rtetl"]


def inflight(r, a):
    return {"rtetl": a.window, "java": a.java_inflight,
            "python": a.py_concurrency}[r["client"].split("-")[0]]


def report(b, results, argv, load_before, load_after, warmup):
    a = b.a
    lines = []
    now = datetime.datetime.now()
    lines.append("# CQL client benchmark: %s on %s" % (now.strftime("%Y-%m-%d %H:%M"), socket.gethostname()))
    lines.append("")
    lines.append("Command: `%s`" % " ".join(["bench/cql/run"] + [shlex.quote(x) for x in argv]))
    lines.append("")
    avg = sh("LC_ALL=C awk -F'\\t' '{for (i = 1; i <= NF; i++) s += length($i); n += NF} END "
             "{printf \"%%.1f\", s / n}' %s" % shlex.quote(b.pool))
    lines.append("N = %d prepared INSERTs per client of the reference row (12 `text` columns, "
                 "`id` a random 32-hex primary key, the other 11 from a pool of 4,096 "
                 "randomuser-like users made by rtetl's builtin generator, %s bytes each on average) "
                 "into Cassandra %s at %s:%d (1 node), protocol v4 (v5 where marked), LOCAL_ONE, each client "
                 "into a fresh table; %d rows written by rtetl first as a server warm-up, not "
                 "measured." % (a.rows, avg or "?", b.cassandra_version, b.host, b.port, warmup))
    lines.append("")
    lines.append("| client | in flight | rows/s | CPU s per 1M rows (inserts) | node CPU µs per row "
                 "| CPU s (inserts) | CPU s (whole process) | peak RSS MiB | seconds | rows acked "
                 "| errors | rows in table |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        per_m = r["cpu_inserts_s"] / r["rows"] * 1e6 if r["rows"] else float("nan")
        nu = node_us_row(r)
        lines.append("| %s | %d | %.0f | %.2f | %s | %.2f | %.2f | %.0f | %.2f | %d | %d | %s |" % (
            label(r, b), inflight(r, a), r["rows_per_s"], per_m,
            "%.1f" % nu if nu is not None else "?", r["cpu_inserts_s"],
            r["cpu_process_s"], (r["rss_kb"] or 0) / 1024, r["seconds"], r["rows"], r["errors"],
            r.get("rows_in_table")))
    by = {r["client"]: r for r in results}
    lines.append("")
    if "rtetl" in by and "java" in by:
        rt, jv = by["rtetl"], by["java"]
        speed = rt["rows_per_s"] / jv["rows_per_s"] if jv["rows_per_s"] else float("nan")
        cpu = ((rt["cpu_inserts_s"] / rt["rows"]) / (jv["cpu_inserts_s"] / jv["rows"])
               if rt["rows"] and jv["rows"] and jv["cpu_inserts_s"] else float("nan"))
        met = speed >= 1.0 and cpu <= 0.2
        lines.append("Target (at least the Java driver's rows/s with at most a fifth of its client "
                     "CPU): rows/s ratio rtetl/Java = **%.2f**, CPU-per-row ratio rtetl/Java = "
                     "**%.3f** (1/%.1f): **%s**." % (speed, cpu, 1 / cpu if cpu else float("inf"),
                                                     "met" if met else "not met"))
        lines.append("")
    lines.append("Machine: %s. Load average (1, 5, 15 min) before: %s; after: %s. Cassandra and "
                 "the clients share the 2 cores; other work on the machine was not stopped." % (
                     machine(), " ".join("%.1f" % x for x in load_before),
                     " ".join("%.1f" % x for x in load_after)))
    lines.append("")
    java_res = by.get("java", {}).get("result", {})
    lines.append("Versions: rtetl %s (cc: %s; libuv %s; %s); Python %s, cassandra-driver %s "
                 "(connection class %s); %s on Java %s; Cassandra %s." % (
                     a.rev,
                     sh("cc --version | head -1"), sh("pkg-config --modversion libuv"),
                     sh("openssl version"), platform.python_version(), b.py_driver_version,
                     by.get("python", {}).get("result", {}).get("connection", "?"),
                     java_res.get("driver", "java-driver-core (not run)"),
                     java_res.get("java", "?"), b.cassandra_version))
    lines.append("")
    lines.append("How it is measured: each client connects and prepares, then waits; CPU is "
                 "utime+stime of the client process from /proc/<pid>/stat (all its threads; for "
                 "Java the whole JVM: JIT, GC, Netty) between the moment it is let go and the "
                 "moment it has every acknowledgement (\"inserts\"), and from exec to exit "
                 "(\"whole process\", wait4); peak RSS is VmHWM at the end; rows/s is N over the "
                 "client's own clock from the first submit to the last acknowledgement; rows in "
                 "table: count(*) over 64 token ranges after the run. Python and Java connection "
                 "pools and concurrency are the drivers' documented bulk-write patterns "
                 "(execute_concurrent_with_args, executeAsync + Semaphore), at the in-flight "
                 "bounds shown; all speak protocol v4 (the Java and Python drivers would "
                 "negotiate v5 with Cassandra 5, which adds checksummed framing) except the "
                 "-v5 rows, and the drivers' "
                 "token-aware routing is on (one node here). Logs: %s." % os.path.relpath(
                     b.run_dir, ROOT))
    for n in a.note:
        lines.append("")
        lines.append(n)
    return "\n".join(lines) + "\n"


def main():
    a = parse_args()
    names = [n.strip() for n in a.only.split(",") if n.strip()]
    bad = [n for n in names if n not in ALL]
    if bad:
        sys.exit("bench/cql/run: unknown client %s (%s)" % (",".join(bad), ", ".join(ALL)))
    load_before = os.getloadavg()
    # The source the C client was built from, read before the runs (the tree may move on).
    a.rev = sh("git -C %s rev-parse --short HEAD" % shlex.quote(ROOT))
    if sh("git -C %s status --porcelain -- src/cql src/util src/ingest bench/cql" % shlex.quote(ROOT)):
        a.rev += " + uncommitted changes"
    b = Bench(a)
    warmup = a.warmup if a.warmup is not None else min(50000, a.rows // 5)
    results = []
    try:
        if warmup > 0:
            log("warm-up: %d rows with rtetl (not measured)" % warmup)
            b.run_one("rtetl", warmup, verify=False, tag="warmup")
        for n in names:
            results.append(b.run_one(n, a.rows))
        b.session.execute("DROP KEYSPACE IF EXISTS %s" % b.ks)
    finally:
        b.cluster.shutdown()
    load_after = os.getloadavg()
    failed = [r["client"] for r in results if r["exit_code"] or r["errors"] or r["rows"] != a.rows
              or (r.get("rows_in_table") not in (None, a.rows))]
    if a.json:
        for r in results:
            print(json.dumps({"client": r["client"], "rows": r["rows"],
                              "seconds": round(r["seconds"], 3),
                              "rows_per_s": round(r["rows_per_s"]),
                              "cpu_s": round(r["cpu_inserts_s"], 3),
                              "cpu_process_s": round(r["cpu_process_s"], 3),
                              "node_cpu_s": r.get("node_cpu_s"),
                              "rss_kb": r["rss_kb"], "errors": r["errors"],
                              "rows_in_table": r.get("rows_in_table")}))
    text = report(b, results, sys.argv[1:], load_before, load_after, warmup)
    if not a.json:
        sys.stdout.write(text)
    if not a.no_save:
        out = os.path.join(ROOT, "bench", "results", "cql-%s-%s.md" % (
            datetime.date.today().isoformat(), socket.gethostname()))
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "w") as f:
            f.write(text)
        log("wrote %s" % os.path.relpath(out, ROOT))
    if failed:
        log("incomplete or failed runs: %s" % ", ".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
