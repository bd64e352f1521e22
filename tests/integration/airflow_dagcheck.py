"""Loads airflow/dags with the installed Airflow (2.x or 3.x) and checks the DAG's shape.

Run with the Airflow venv's python, AIRFLOW_HOME set to a scratch directory:
    python airflow_dagcheck.py <dag folder>
Checks: no import errors; DAG real-time-etl-stack with its three tasks in order, daily, no
catch-up, retries; the params and their defaults (until_caught_up off); the rtetl commands it
builds (ingest: builtin vs API source; stream --until-caught-up); that values that could smuggle
options or shell syntax are refused; that the health check is skipped on an empty URL or with
until_caught_up, passes on 200 and fails on 503 or a closed port (never through http_proxy); that
stream_until_caught_up skips itself when the param is off, runs rtetl when on and fails on a
non-zero exit (a stand-in binary).
Prints PASS/FAIL lines; exits 1 on any failure.
"""
import importlib.util
import os
import sys
from datetime import timedelta

import airflow

failures = []


def check(name, expected, actual):
    if expected == actual:
        print(f"PASS {name}", flush=True)
    else:
        print(f"FAIL {name}: expected {expected!r} got {actual!r}", flush=True)
        failures.append(name)


def raises(fn, exc_names):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 (the class name is what is checked)
        return type(e).__name__ if type(e).__name__ in exc_names else f"{type(e).__name__}: {e}"
    return "no exception"


def dagbag_cls():
    try:  # Airflow 3.1+
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:
        from airflow.models.dagbag import DagBag
    return DagBag


def check_catch_up_task(mod, batch):
    """stream_until_caught_up with a stand-in rtetl (a shell script that logs its arguments and
    exits with RTETL_FAKE_RC): off, it skips without running rtetl; on, it runs it with the
    built command; a non-zero exit raises."""
    import tempfile
    tmp = tempfile.mkdtemp(prefix="rtetl-dagcheck-")
    fake, argv = os.path.join(tmp, "rtetl"), os.path.join(tmp, "argv")
    with open(fake, "w") as f:
        f.write(f'#!/bin/sh\necho "$@" >>{argv}\necho "fake rtetl $1"\nexit $(cat {tmp}/rc)\n')
    os.chmod(fake, 0o755)
    os.environ["RTETL_BIN"] = fake

    def run(params, rc):
        with open(os.path.join(tmp, "rc"), "w") as f:
            f.write(str(rc))
        return raises(lambda: mod.stream_until_caught_up(params=params),
                      {"AirflowSkipException", "AirflowException"})

    def calls():
        return open(argv).read().splitlines() if os.path.exists(argv) else []

    check("catch-up off: skipped", "AirflowSkipException",
          run({**batch, "until_caught_up": False}, 0))
    check("catch-up off: rtetl not run", [], calls())
    check("catch-up on, exit 0: passes", "no exception", run(batch, 0))
    check("catch-up on: rtetl stream --until-caught-up run", True,
          calls()[-1:] == [" ".join(mod.stream_command(batch)[1:])])
    check("catch-up on, exit 1: fails", "AirflowException", run(batch, 1))
    check("catch-up on, exit 2: fails", "AirflowException", run(batch, 2))
    os.environ["RTETL_BIN"] = "/x/rtetl"
    for p in ("rtetl", "argv", "rc"):
        if os.path.exists(os.path.join(tmp, p)):
            os.unlink(os.path.join(tmp, p))
    os.rmdir(tmp)


def main(folder):
    print(f"Airflow {airflow.__version__}, DAG folder {folder}", flush=True)
    cls = dagbag_cls()
    try:
        bag = cls(dag_folder=folder, include_examples=False)
    except TypeError:  # Airflow 3.2+: no examples argument (load_examples=False does it)
        bag = cls(dag_folder=folder)
    check("no import errors", {}, dict(bag.import_errors))
    check("no warnings while parsing (e.g. deprecated imports)", {},
          dict(getattr(bag, "captured_warnings", {})))
    dag = bag.dags.get("real-time-etl-stack")
    check("DAG real-time-etl-stack is loaded", True, dag is not None)
    if dag is None:
        return
    check("task ids", ["check_stream_health", "stream_from_api", "stream_until_caught_up"],
          sorted(dag.task_ids))
    ingest = dag.get_task("stream_from_api")
    catch_up = dag.get_task("stream_until_caught_up")
    check("health check runs before ingest", {"check_stream_health"}, set(ingest.upstream_task_ids))
    check("ingest runs after a skipped check", "none_failed",
          getattr(ingest.trigger_rule, "value", ingest.trigger_rule))
    check("catch-up runs after ingest", {"stream_from_api"}, set(catch_up.upstream_task_ids))
    check("catch-up only after a successful ingest", "all_success",
          getattr(catch_up.trigger_rule, "value", catch_up.trigger_rule))
    check("catch-up is a leaf (its failure fails the run)", set(),
          set(catch_up.downstream_task_ids))
    check("the graph names the catch-up's condition", True,
          "until_caught_up" in str(getattr(catch_up, "task_display_name", "")))
    check("catchup off", False, dag.catchup)
    sched = getattr(dag, "schedule_interval", None)
    if sched is None or not isinstance(sched, str):
        sched = getattr(dag, "schedule", None)
    check("daily schedule", "@daily", str(sched))
    check("retries", 1, ingest.retries)
    check("retry delay", timedelta(seconds=30), ingest.retry_delay)
    check("tags", True, {"rtetl", "kafka"} <= set(dag.tags))
    check("doc_md present", True, bool(dag.doc_md) and "rtetl ingest" in dag.doc_md)
    defaults = {k: dag.params[k] for k in dag.params}
    check("param names", ["api_url", "brokers", "cassandra", "duration", "group", "keyspace",
                          "stream_health_url", "topic", "until_caught_up"], sorted(defaults))
    check("until_caught_up is off by default", False, defaults.get("until_caught_up"))
    if not os.environ.get("RTETL_DURATION"):
        check("default duration", "60s", defaults.get("duration"))
    if "RTETL_STREAM_HEALTH_URL" not in os.environ:
        check("default health URL", "http://127.0.0.1:9108/healthz",
              defaults.get("stream_health_url"))

    # The module itself: the command it builds and what it refuses.
    spec = importlib.util.spec_from_file_location("rtetl_dag", os.path.join(folder,
                                                                              "real_time_etl_stack.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    base = {"duration": "5s", "brokers": "127.0.0.1:9092", "topic": "t1", "api_url": ""}
    os.environ["RTETL_BIN"] = "/x/rtetl"
    check("builtin command", ["/x/rtetl", "ingest", "--duration", "5s", "--brokers",
                              "127.0.0.1:9092", "--topic", "t1", "--source", "builtin"],
          mod.ingest_command(base))
    check("API command tail", ["--api-url", "http://127.0.0.1:8000/api/"],
          mod.ingest_command({**base, "api_url": "http://127.0.0.1:8000/api/"})[-2:])
    check("two brokers accepted", "a:1,b.example:9092",
          mod.ingest_command({**base, "brokers": "a:1,b.example:9092"})[5])
    check("duration seconds", 300.0, mod.duration_seconds("5m"))
    batch = {**base, "until_caught_up": True, "group": "g1", "cassandra": "c1,10.0.0.2:9043",
             "keyspace": "ks_1"}
    check("stream command", ["/x/rtetl", "stream", "--until-caught-up", "--brokers",
                             "127.0.0.1:9092", "--topic", "t1", "--group", "g1", "--cassandra",
                             "c1,10.0.0.2:9043", "--keyspace", "ks_1"], mod.stream_command(batch))
    bad = {
        "duration": ["5s --count 1", "-5s", "0", "5 s", "60x", "$(id)", ""],
        "brokers": ["-X", "host", "h:1;id", "h:1 --topic x", "h:1,", ""],
        "topic": ["-t", "a b", "a;b", "$(id)", "", "x" * 250],
        "api_url": ["file:///etc/passwd", "http://a b", "http://x/`id`", "--source", "http://\"x"],
    }
    for key, values in bad.items():
        for v in values:
            check(f"{key}={v[:30]!r} refused", "AirflowException",
                  raises(lambda: mod.ingest_command({**base, key: v}), {"AirflowException"}))
    bad_stream = {
        "cassandra": ["-X", "h:1;id", "h 1", "h:1,", ""],
        "keyspace": ["-k", "1ks", "ks;drop", "ks.tb", "a" * 49, ""],
        "group": ["-g", "a b", "$(id)", ""],
        "topic": ["-t"], "brokers": ["h:1 --x"],
    }
    for key, values in bad_stream.items():
        for v in values:
            check(f"stream {key}={v[:30]!r} refused", "AirflowException",
                  raises(lambda: mod.stream_command({**batch, key: v}), {"AirflowException"}))
    for v in ["true", 1, None]:
        check(f"until_caught_up={v!r} refused", "AirflowException",
              raises(lambda: mod.until_caught_up({"until_caught_up": v}), {"AirflowException"}))
    check("env RTETL_* are not passed to rtetl", [],
          [k for k in mod._child_env() if k.startswith("RTETL_") and k != "RTETL_LOG_LEVEL"])
    check("empty health URL skips", "AirflowSkipException",
          raises(lambda: mod.check_stream_health(params={"stream_health_url": ""}),
                 {"AirflowSkipException"}))
    check("until_caught_up skips the health check", "AirflowSkipException",
          raises(lambda: mod.check_stream_health(params={
              "stream_health_url": "http://127.0.0.1:1/healthz", "until_caught_up": True}),
              {"AirflowSkipException"}))
    check_catch_up_task(mod, batch)
    check("closed health port fails", "AirflowException",
          raises(lambda: mod.check_stream_health(params={"stream_health_url":
                                                         "http://127.0.0.1:1/healthz"}),
                 {"AirflowException"}))
    # A tiny local server: /ok answers 200, /sick 503 (what rtetl stream's /healthz says when
    # unhealthy). An http_proxy in the environment must not be used for it.
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            code = 200 if self.path == "/ok" else 503
            self.send_response(code)
            self.end_headers()
            self.wfile.write(b"ok" if code == 200 else b"unhealthy")

        def log_message(self, *a):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    os.environ["http_proxy"] = "http://127.0.0.1:1"
    try:
        check("health 200 passes", "no exception",
              raises(lambda: mod.check_stream_health(params={"stream_health_url": base + "/ok"}),
                     set()))
        check("health 503 fails", "AirflowException",
              raises(lambda: mod.check_stream_health(params={"stream_health_url": base + "/sick"}),
                     {"AirflowException"}))
    finally:
        del os.environ["http_proxy"]
        srv.shutdown()
    # The exception classes the DAG raises must be the ones this Airflow's task runner handles.
    try:
        from airflow.sdk.exceptions import AirflowSkipException
    except ImportError:
        from airflow.exceptions import AirflowSkipException
    check("skip exception is Airflow's", True,
          issubclass(mod.AirflowSkipException, AirflowSkipException)
          or issubclass(AirflowSkipException, mod.AirflowSkipException))


if __name__ == "__main__":
    main(os.path.abspath(sys.argv[1]))
    if failures:
        print(f"{len(failures)} check(s) failed: {', '.join(failures)}")
        sys.exit(1)
    print("all DAG checks passed")
