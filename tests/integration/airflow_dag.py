"""The Airflow DAG real-time-etl-stack on the pinned Airflow (scripts/airflow; the version from
RTETL_AIRFLOW_VERSION), against the real local stack, in a throw-away AIRFLOW_HOME (SQLite,
`airflow db migrate`).

1. Import: no import errors (2.x: `airflow dags list-import-errors`; 3.x: `airflow dags
   reserialize`, then the import_error and dag tables) and airflow_dagcheck.py (shape, params,
   command building, refused values, the callables' skips and failures) passes.
2. A good run: `rtetl stream` runs on a fresh topic/keyspace/group; `airflow dags test` with conf
   {"duration": "2s", "api_url": "", "topic": T, "stream_health_url": <its /healthz>} succeeds,
   both tasks succeed, the topic holds new records (kcat), the task log holds rtetl's output, and
   the stream writes every one of them to Cassandra (counted with the Python driver). The param
   until_caught_up is off (the default): stream_until_caught_up is skipped and runs no rtetl.
2b. Batch-style (until_caught_up on, no service; a closed health port, which that mode must not
   check): on a fresh topic/keyspace/group, ingest then `rtetl stream --until-caught-up` succeed
   (exit 0, log "caught up"), and the table holds exactly the topic's records with '@' as soon
   as the run ends (read with the Python cassandra-driver).
Failure runs (RTETL_AIRFLOW_FAILURE_RUNS=0 leaves them out, as airflow3_dag_test.sh does):
3. A failing ingest (brokers 127.0.0.1:1, health check skipped by an empty URL): the run fails,
   stream_from_api is failed after its retry, check_stream_health is skipped.
3b. until_caught_up with an unreachable Cassandra: rtetl stream exits 1, stream_until_caught_up
   fails after its retry, the run fails.
4. A failing health check (a closed port): check_stream_health fails and ingest never runs.
Every process started here is stopped by PID, even on failure; the keyspace is dropped.
"""
import glob
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtetl_testlib import (BIN, BROKERS, CQL_HOST, CQL_PORT, SRC,  # noqa: E402
                           cassandra_session, check, check_true, drop_keyspace, failed_checks,
                           finish, kcat_payloads, log, unique, wait_for)


DAG_ID = "real-time-etl-stack"
topic = unique("af_topic")
keyspace = unique("ks_af")
group = unique("g_af")
batch_topic, batch_keyspace, batch_group = unique("af_batch"), unique("ks_afb"), unique("g_afb")
home = tempfile.mkdtemp(prefix="rtetl-airflow-test-")
# The runs where something fails (3, 3b, 4) exercise Airflow's retries and trigger rules more than
# the DAG (its callables' failures are checked by airflow_dagcheck.py on every version); they
# take ~2 min each on Airflow 3, so airflow3_dag_test.sh turns them off (0).
FAILURE_RUNS = os.environ.get("RTETL_AIRFLOW_FAILURE_RUNS", "1") != "0"

t_start = time.monotonic()
venv_bin = subprocess.run([os.path.join(SRC, "scripts", "airflow"), "install"], check=True,
                          stdout=subprocess.PIPE, text=True, timeout=1500).stdout.strip()
log(f"Airflow venv {venv_bin} ready after {time.monotonic() - t_start:.0f}s")
# From the package metadata: importing airflow just for its version costs 10-30 s here.
airflow_version = subprocess.run(
    [os.path.join(venv_bin, "python"), "-c",
     "import importlib.metadata as m; print(m.version('apache-airflow'))"],
    check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
airflow_major = int(airflow_version.split(".")[0])
log(f"Airflow {airflow_version}; failure runs {'on' if FAILURE_RUNS else 'off'}")

env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "RTETL_"))}
env.update({
    "AIRFLOW_HOME": home,
    "AIRFLOW__CORE__DAGS_FOLDER": os.path.join(SRC, "airflow", "dags"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
    "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
    "RTETL_BIN": BIN,
})


def airflow(*args, timeout=900, name=None):
    """Runs the airflow CLI; returns (rc, output). The output is also kept in a file."""
    t0 = time.monotonic()
    r = subprocess.run([os.path.join(venv_bin, "airflow"), *args], env=env, timeout=timeout,
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, errors="replace")
    log(f"airflow {' '.join(args)[:100]} -> rc {r.returncode} in {time.monotonic() - t0:.0f}s")
    if name:
        with open(os.path.join(home, name + ".out"), "w") as f:
            f.write(r.stdout)
    return r.returncode, r.stdout


def json_tail(text):
    """The JSON document at the end of a CLI output that may start with log lines."""
    for i in (m.start() for m in re.finditer(r"^[\[{]", text, re.M)):
        try:
            return json.loads(text[i:])
        except ValueError:
            continue
    raise ValueError(f"no JSON in: {text[-500:]}")


def db_rows(sql, args=()):
    """Rows of a query on the metadata DB (SQLite), read directly: an independent reader, and
    much faster than the CLI."""
    db = sqlite3.connect(os.path.join(home, "airflow.db"))
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def task_states(logical_date_prefix):
    """{task_id: (state, try_number)} of the DAG's run whose logical date starts with the
    prefix, and the run's state."""
    cols = {r[1] for r in db_rows("PRAGMA table_info(dag_run)")}
    date_col = "logical_date" if "logical_date" in cols else "execution_date"  # 3.x : 2.x
    rows = db_rows("SELECT ti.task_id, ti.state, ti.try_number, dr.state FROM task_instance ti "
                   "JOIN dag_run dr ON dr.dag_id = ti.dag_id AND dr.run_id = ti.run_id "
                   f"WHERE ti.dag_id = ? AND dr.{date_col} LIKE ?",
                   (DAG_ID, logical_date_prefix + "%"))
    return {r[0]: (r[1], r[2]) for r in rows}, (rows[0][3] if rows else None)


def task_log(logical_date, task_id):
    """What the task logged in the run of that date: its log files if Airflow wrote any, and
    the output of `dags test`, which runs the tasks in-process and logs them to the console."""
    pat = os.path.join(home, "logs", f"dag_id={DAG_ID}", f"run_id=*{logical_date}*",
                       f"task_id={task_id}", "*.log")
    files = [open(p, errors="replace").read() for p in sorted(glob.glob(pat))]
    test_out = os.path.join(home, f"dags-test-{logical_date}.out")
    if os.path.exists(test_out):
        files.append(open(test_out, errors="replace").read())
    return "\n".join(files)


def dags_test(logical_date, conf):
    return airflow("dags", "test", DAG_ID, logical_date, "--conf", json.dumps(conf),
                   name=f"dags-test-{logical_date}")


def healthz_ok(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def table_ids(ks):
    """The ids in the keyspace's table, read page by page with the Python driver (a count(*)
    over 200k rows can time out on a busy single node; small pages do not); or why not."""
    from cassandra.query import SimpleStatement
    try:
        cluster, s = cassandra_session()
    except Exception as e:  # noqa: BLE001 (reported as a failed check)
        return f"read failed: {e}"
    try:
        q = SimpleStatement(f"SELECT id FROM {ks}.tb_usuarios", fetch_size=5000)
        return {r.id for r in s.execute(q, timeout=120)}
    except Exception as e:  # noqa: BLE001
        return f"read failed: {e}"
    finally:
        cluster.shutdown()


def want_ids(t):
    """The ids of the records in topic t that the reference filter keeps (email has '@')."""
    try:
        payloads = kcat_payloads(t)
    except subprocess.SubprocessError as e:  # e.g. no such topic: the run produced nothing
        log(f"kcat: {e}")
        payloads = []
    log(f"topic {t} holds {len(payloads)} records")
    check_true(f"new records in the Kafka topic {t}", len(payloads) > 0)
    return {json.loads(p)["id"] for p in payloads if "@" in json.loads(p).get("email", "")}


def check_table(what, ks, want):
    ids = table_ids(ks)
    check(f"{what}: Cassandra row count (cassandra-driver) == records with '@'", len(want),
          len(ids) if isinstance(ids, set) else ids)
    check(f"{what}: the table's ids are exactly the topic's", True, ids == want)


def metric(url, name):
    """One sample of rtetl stream's /metrics, or None."""
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            for line in r.read().decode().splitlines():
                if line.split(" ")[0] == name:
                    return float(line.split(" ")[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


started = []


def stop(p):
    """SIGTERM, then SIGKILL after 60 s, to one process this test started."""
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def failure_runs():
    """Runs 3, 3b and 4: failures fail the run."""
    # 3. A failing ingest fails the task (after its one retry); the empty URL skips the check.
    bad_date = "2024-03-02"
    rc, out = dags_test(bad_date, {"duration": "3s", "api_url": "", "topic": topic + "_bad",
                                   "brokers": "127.0.0.1:1", "stream_health_url": ""})
    states, run_state = task_states(bad_date)
    check_true("bad brokers: dags test exits non-zero or the run failed",
               rc != 0 or run_state == "failed", f"rc={rc} run_state={run_state}")
    check("bad brokers: stream_from_api failed", "failed", states.get("stream_from_api", (None,))[0])
    check("bad brokers: two attempts (retries=1)", 2, states.get("stream_from_api", (0, 0))[1])
    check("bad brokers: empty health URL skipped the check", "skipped",
          states.get("check_stream_health", (None,))[0])
    check_true("bad brokers: rtetl's error is in the task log",
               "rtetl ingest exited 1" in task_log(bad_date, "stream_from_api"),
               task_log(bad_date, "stream_from_api")[-1500:])

    # 3b. With until_caught_up, a failing rtetl stream (Cassandra unreachable: exit 1 at start)
    # fails its task after the retry, and the run.
    fail_date = "2024-03-05"
    rc, out = dags_test(fail_date, {
        "duration": "1s", "api_url": "", "topic": batch_topic + "_fail", "brokers": BROKERS,
        "stream_health_url": "", "until_caught_up": True, "keyspace": batch_keyspace,
        "group": batch_group + "_fail", "cassandra": "127.0.0.1:1"})
    states, run_state = task_states(fail_date)
    check("catch-up failing: the DAG run failed", "failed", run_state)
    check("catch-up failing: states", {
        "check_stream_health": "skipped", "stream_from_api": "success",
        "stream_until_caught_up": "failed"}, {k: v[0] for k, v in states.items()})
    check("catch-up failing: two attempts (retries=1)", 2,
          states.get("stream_until_caught_up", (0, 0))[1])
    check_true("catch-up failing: rtetl's exit status is in the task log",
               "rtetl stream exited 1" in task_log(fail_date, "stream_until_caught_up"),
               task_log(fail_date, "stream_until_caught_up")[-1500:])

    # 4. A failing health check stops the run before ingest.
    sick_date = "2024-03-03"
    rc, out = dags_test(sick_date, {"duration": "3s", "topic": topic + "_sick",
                                    "stream_health_url": "http://127.0.0.1:1/healthz"})
    states, run_state = task_states(sick_date)
    check_true("closed health port: run failed", rc != 0 or run_state == "failed",
               f"rc={rc} run_state={run_state}")
    check("closed health port: check failed", "failed",
          states.get("check_stream_health", (None,))[0])
    check("closed health port: ingest did not run", "upstream_failed",
          states.get("stream_from_api", (None,))[0])


try:
    # 1. The DAG imports cleanly on the pinned Airflow.
    rc, out = airflow("db", "migrate", name="db-migrate")
    check("airflow db migrate exits 0", 0, rc)
    # (No `dags list`: airflow_dagcheck.py's DagBag and every `dags test` below find the DAG.)
    if airflow_major >= 3:
        # 3.x's CLI lists what the DAG processor stored: parse and serialize the folder once and
        # read the stored import errors and DAGs straight from the metadata DB (one CLI call
        # less than `dags list-import-errors`).
        rc, out = airflow("dags", "reserialize", name="reserialize")
        check("airflow dags reserialize exits 0", 0, rc)
        check("no import errors (stored by reserialize)", [],
              db_rows("SELECT filename, stacktrace FROM import_error"))
        check("the DAG is stored", [(DAG_ID,)],
              db_rows("SELECT dag_id FROM dag WHERE dag_id = ?", (DAG_ID,)))
    else:  # 2.x's list-import-errors parses the folder itself
        rc, out = airflow("dags", "list-import-errors", "-o", "json", name="import-errors")
        check("list-import-errors exits 0", 0, rc)
        check("no import errors", [], json_tail(out) if rc == 0 else out[-2000:])
    r = subprocess.run([os.path.join(venv_bin, "python"),
                        os.path.join(SRC, "tests", "integration", "airflow_dagcheck.py"),
                        os.path.join(SRC, "airflow", "dags")], env=env, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
    for line in r.stdout.splitlines():
        if line.startswith(("FAIL", "Airflow ")):
            log(line)
    check("airflow_dagcheck.py passes (shape, params, command, refused values)", 0, r.returncode)
    log(f"import checks done after {time.monotonic() - t_start:.0f}s")

    # 2. A good run against the stack, with rtetl stream moving the records to Cassandra.
    stream_log = open(os.path.join(home, "stream.log"), "w+")
    stream = subprocess.Popen([BIN, "stream", "--mode", "initial", "--topic", topic, "--keyspace",
                               keyspace, "--group", group, "--brokers", BROKERS, "--metrics-port",
                               "0", "--status-interval", "5s"], stdin=subprocess.DEVNULL,
                              stdout=stream_log, stderr=subprocess.STDOUT)
    started.append(stream)

    def stream_output():
        stream_log.flush()
        with open(stream_log.name, errors="replace") as f:
            return f.read()

    port = wait_for("stream's metrics address", lambda: re.search(
        r'msg="serving metrics" addr=127\.0\.0\.1:(\d+)', stream_output()) or
        stream.poll() is not None, timeout=60)
    health_url = f"http://127.0.0.1:{port.group(1)}/healthz" if port is not True else ""
    if health_url:
        wait_for("stream /healthz 200", lambda: healthz_ok(health_url) or
                 stream.poll() is not None, timeout=120)
    check_true("rtetl stream is running and healthy", stream.poll() is None and
               healthz_ok(health_url), stream_output()[-2000:])

    good_date = "2024-03-01"
    rc, out = dags_test(good_date, {"duration": "2s", "api_url": "", "topic": topic,
                                    "brokers": BROKERS, "stream_health_url": health_url})
    check("good run: dags test exits 0", 0, rc)
    states, run_state = task_states(good_date)
    check("good run: health check succeeded", "success",
          states.get("check_stream_health", (None,))[0])
    check("good run: stream_from_api succeeded", "success",
          states.get("stream_from_api", (None,))[0])
    check("good run: DAG run succeeded", "success", run_state)
    if rc != 0:
        log(out[-3000:])
    ingest_log = task_log(good_date, "stream_from_api")
    check_true("good run: rtetl's output is in the task log",
               "rtetl: " in ingest_log and "--source builtin" in ingest_log, ingest_log[-1500:])
    check("until_caught_up off: stream_until_caught_up skipped", "skipped",
          states.get("stream_until_caught_up", (None,))[0])
    check_true("until_caught_up off: no rtetl stream run by the DAG",
               "until_caught_up is off" in ingest_log and
               "stream --until-caught-up" not in ingest_log, ingest_log[-1500:])
    want = want_ids(topic)
    metrics_url = health_url.replace("/healthz", "/metrics")
    try:  # Caught up: the stream says it wrote them all; the table is then read independently.
        wait_for("rtetl stream to write every record", lambda: (metric(
            metrics_url, 'rtetl_stream_records_total{stage="written"}') or 0) >= len(want) or
            stream.poll() is not None, timeout=300, interval=1)
    except TimeoutError as e:
        log(str(e))
    check_table("good run", keyspace, want)
    stop(stream)
    check("rtetl stream stops cleanly on SIGTERM", 0, stream.returncode)
    log(f"good run checked after {time.monotonic() - t_start:.0f}s")

    # 2b. Batch-style: the DAG moves the records itself, with no service (and no check of one).
    batch_date = "2024-03-04"
    rc, out = dags_test(batch_date, {
        "duration": "1s", "api_url": "", "topic": batch_topic, "brokers": BROKERS,
        "stream_health_url": "http://127.0.0.1:1/healthz", "until_caught_up": True,
        "keyspace": batch_keyspace, "group": batch_group, "cassandra": f"{CQL_HOST}:{CQL_PORT}"})
    check("batch run: dags test exits 0", 0, rc)
    states, run_state = task_states(batch_date)
    check("batch run: states (the health check skipped)", {
        "check_stream_health": "skipped", "stream_from_api": "success",
        "stream_until_caught_up": "success"}, {k: v[0] for k, v in states.items()})
    check("batch run: DAG run succeeded", "success", run_state)
    if rc != 0:
        log(out[-3000:])
    catch_up_log = task_log(batch_date, "stream_until_caught_up")
    check_true("batch run: rtetl stream --until-caught-up ran, caught up and exited 0",
               "stream --until-caught-up" in catch_up_log and 'reason="caught up"' in catch_up_log
               and "rtetl stream finished (exit 0)" in catch_up_log, catch_up_log[-2000:])
    check_table("batch run", batch_keyspace, want_ids(batch_topic))
    log(f"batch run checked after {time.monotonic() - t_start:.0f}s")

    if FAILURE_RUNS:
        failure_runs()
finally:
    for p in started:
        stop(p)
    drop_keyspace(keyspace)
    drop_keyspace(batch_keyspace)
    log(f"Airflow test took {time.monotonic() - t_start:.0f}s")

if failed_checks():
    log(f"--- last lines of rtetl stream ---\n{open(os.path.join(home, 'stream.log'), errors='replace').read()[-2000:]}"
        if os.path.exists(os.path.join(home, "stream.log")) else "")
    log(f"outputs kept in {home}")
else:
    shutil.rmtree(home, ignore_errors=True)
finish()
