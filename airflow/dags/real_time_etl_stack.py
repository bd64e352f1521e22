"""The Airflow DAG "real-time-etl-stack": rtetl ingest streams random users into Kafka.

It replaces the reference stack's Python producer (a PythonOperator that fetched randomuser.me
for 60 s and sent each user to Kafka) with one `rtetl ingest` process. `rtetl stream`, a
long-running service, moves the records on to Cassandra; this DAG only checks that it is healthy
before producing. With the param until_caught_up on, the DAG runs the whole pipeline
batch-style instead: after ingest, `rtetl stream --until-caught-up` writes what the topic holds
(up to the high watermarks seen at its start) to Cassandra, commits and exits; the health check
of the service is then skipped (there is no service to check). Off (the default), that task
skips itself at once, so the graph shows it skipped.

DESIGN: the task runs rtetl through subprocess with an argument list, never through a shell, and
every value that reaches the command line (duration, brokers, topic, api_url) is checked against
a strict pattern first, both in the Param schema (the trigger form and `dags trigger --conf`
reject bad values) and again in the task (a value could come from an environment variable or an
Airflow with param validation turned off). rtetl reads RTETL_<OPTION> variables from its
environment, so the child gets an environment without them: the DAG's settings are explicit
arguments and cannot be overridden behind its back.

Settings: DAG params, which a run's conf overrides, with defaults from the environment of the
Airflow process that parses this file:
  duration   RTETL_DURATION [60s]     how long ingest produces (rtetl syntax: 60s, 5m, 1h, 500ms)
  brokers    RTETL_BROKERS [127.0.0.1:9092]
  topic      RTETL_TOPIC [data_kafka_topic]
  api_url    RTETL_API_URL [""]       randomuser-compatible URL; empty: rtetl's builtin generator
  stream_health_url  RTETL_STREAM_HEALTH_URL [http://127.0.0.1:9108/healthz]; empty: skip check
  until_caught_up    [false]   true: run stream_until_caught_up after ingest (batch-style)
  cassandra  RTETL_CASSANDRA [127.0.0.1:9042]   for stream_until_caught_up only, like:
  keyspace   RTETL_KEYSPACE [dados_usuarios]    (the table is the reference's tb_usuarios)
  group      RTETL_GROUP [rtetl-stream]         (the service's group: a batch run goes on
                                                 from the offsets it committed)
and RTETL_BIN, the rtetl binary [rtetl on PATH, else <repo>/build/rtetl next to this DAG folder].

Airflow 2.10 and 3.x: the imports differ (airflow.sdk and the standard provider in 3.x), so they
are tried newest first. Everything else used here exists in both.
"""

from __future__ import annotations

import collections
import logging
import os
import re
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
from datetime import timedelta

import pendulum

try:  # Airflow 3.x
    from airflow.sdk import DAG, Param
except ImportError:  # Airflow 2.x
    from airflow import DAG
    from airflow.models.param import Param

try:  # Airflow 3.x (and 2.x with apache-airflow-providers-standard installed)
    from airflow.providers.standard.operators.python import PythonOperator
except ImportError:  # Airflow 2.x
    from airflow.operators.python import PythonOperator

try:  # Airflow 3.x task SDK
    from airflow.sdk.exceptions import AirflowException, AirflowSkipException
except ImportError:  # Airflow 2.x
    from airflow.exceptions import AirflowException, AirflowSkipException

DAG_ID = "real-time-etl-stack"
log = logging.getLogger("airflow.task")

# rtetl's duration syntax (src/util/opt.c): a non-negative number and an optional unit.
DURATION_RE = r"^[0-9]{1,9}(\.[0-9]{1,6})?(us|ms|s|m|min|h)?$"
# HOST:PORT[,HOST:PORT...]: host names, IPv4 or bracketed IPv6; nothing that starts with '-'.
_HOST = r"([A-Za-z0-9][A-Za-z0-9._-]{0,252}|\[[0-9A-Fa-f:.]{2,45}\])"
BROKERS_RE = rf"^{_HOST}:[0-9]{{1,5}}(,{_HOST}:[0-9]{{1,5}}){{0,31}}$"
# Cassandra contact points: the same, with the port optional (rtetl's default 9042).
CASSANDRA_RE = rf"^{_HOST}(:[0-9]{{1,5}})?(,{_HOST}(:[0-9]{{1,5}})?){{0,31}}$"
# Kafka's legal topic names, minus a leading '-' (which rtetl would read as an option); consumer
# group ids are held to the same set.
TOPIC_RE = r"^[A-Za-z0-9._][A-Za-z0-9._-]{0,248}$"
# An unquoted Cassandra keyspace name (at most 48 characters).
KEYSPACE_RE = r"^[A-Za-z][A-Za-z0-9_]{0,47}$"
# Empty (builtin generator) or one http(s) URL without spaces, quotes or control characters.
URL_RE = r"^(|https?://[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]{1,2000})$"
UNITS = {"": 1, "s": 1, "ms": 1e-3, "us": 1e-6, "m": 60, "min": 60, "h": 3600}

# Once ingest stopped producing, rtetl waits up to its --flush-timeout (60s) for the brokers'
# acknowledgements; the task's own deadline leaves room for that and for start-up.
FLUSH_SLACK_S = 120


def _env(name: str, default: str) -> str:
    v = os.environ.get(name)
    return default if v is None else v.strip()


def _text_param(env: str, default: str, pattern: str, description: str) -> Param:
    """A string param whose default comes from the environment, checked against the pattern."""
    return Param(_env(env, default), type="string", pattern=pattern, description=description)


def _check(name: str, value, pattern: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(pattern, value):
        raise AirflowException(f"param {name}: {value!r} does not match {pattern}")
    return value


def duration_seconds(value: str) -> float:
    """The seconds in an rtetl duration ("60s", "5m", "500ms"); raises on anything else."""
    _check("duration", value, DURATION_RE)
    m = re.fullmatch(r"([0-9.]+)([a-z]*)", value)
    seconds = float(m.group(1)) * UNITS[m.group(2)]
    if seconds <= 0:
        raise AirflowException("param duration: must be more than 0 (0 would never stop)")
    return seconds


def rtetl_binary() -> str:
    """RTETL_BIN, else rtetl on PATH, else the build of the repository this DAG folder is in."""
    explicit = os.environ.get("RTETL_BIN")
    if explicit:
        return explicit
    found = shutil.which("rtetl")
    if found:
        return found
    here = os.path.dirname(os.path.realpath(__file__))
    return os.path.normpath(os.path.join(here, "..", "..", "build", "rtetl"))


def _param(params: dict, name: str, pattern: str) -> str:
    return _check(name, str(params.get(name) or "").strip(), pattern)


def until_caught_up(params: dict) -> bool:
    """The until_caught_up param; a boolean only (the schema says so; checked again here)."""
    value = params.get("until_caught_up", False)
    if not isinstance(value, bool):
        raise AirflowException(f"param until_caught_up: {value!r} is not true or false")
    return value


def ingest_command(params: dict) -> list[str]:
    """The argument list of `rtetl ingest` for these params, each value validated first."""
    duration = str(params.get("duration", "")).strip()
    duration_seconds(duration)
    brokers = _param(params, "brokers", BROKERS_RE)
    topic = _param(params, "topic", TOPIC_RE)
    api_url = _param(params, "api_url", URL_RE)
    cmd = [rtetl_binary(), "ingest", "--duration", duration, "--brokers", brokers]
    cmd += ["--topic", topic]
    cmd += ["--api-url", api_url] if api_url else ["--source", "builtin"]
    return cmd


def stream_command(params: dict) -> list[str]:
    """The argument list of `rtetl stream --until-caught-up`, each value validated first. The
    pipeline is the reference's (filter, table tb_usuarios); where a group without committed
    offsets starts is rtetl's default (initial: the earliest offset)."""
    return [rtetl_binary(), "stream", "--until-caught-up",
            "--brokers", _param(params, "brokers", BROKERS_RE),
            "--topic", _param(params, "topic", TOPIC_RE),
            "--group", _param(params, "group", TOPIC_RE),
            "--cassandra", _param(params, "cassandra", CASSANDRA_RE),
            "--keyspace", _param(params, "keyspace", KEYSPACE_RE)]


def _child_env() -> dict:
    # rtetl reads RTETL_<OPTION> from its environment (RTETL_API_URL would become --api-url and
    # clash with --source builtin); only its log level may pass through.
    keep = {"RTETL_LOG_LEVEL"}
    return {k: v for k, v in os.environ.items() if not k.startswith("RTETL_") or k in keep}


def stream_from_api(**context) -> None:
    """Runs rtetl ingest; its stderr goes to the task log; a non-zero exit fails the task."""
    cmd = ingest_command(context["params"])
    deadline = duration_seconds(cmd[cmd.index("--duration") + 1]) + FLUSH_SLACK_S
    run_rtetl(cmd, deadline)


def stream_until_caught_up(**context) -> None:
    """With until_caught_up on: runs rtetl stream --until-caught-up, which writes the topic's
    records up to the high watermarks seen at its start, commits and exits; a non-zero exit
    fails the task (and so the run). Off: skips itself."""
    params = context["params"]
    if not until_caught_up(params):
        raise AirflowSkipException(
            "until_caught_up is off: rtetl stream (a service) moves the records; nothing to do"
        )
    # No deadline of its own: how long catching up takes depends on the backlog; the task's
    # execution_timeout bounds it (Airflow then stops the task, and rtetl with it).
    run_rtetl(stream_command(params), None)


def run_rtetl(cmd: list[str], deadline: float | None) -> None:
    """Runs rtetl with this argument list; its output goes to the task log. A non-zero exit
    raises with rtetl's last lines; past the deadline (seconds; None: none) it is stopped."""
    what = f"rtetl {cmd[1]}"
    log.info("running: %s", " ".join(cmd))
    tail: collections.deque[str] = collections.deque(maxlen=20)
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=_child_env(),
            text=True,
            errors="replace",
        )
    except OSError as e:
        raise AirflowException(f"cannot run {cmd[0]}: {e} (set RTETL_BIN)") from e
    timer = _Deadline(proc, deadline) if deadline is not None else None
    try:
        for line in proc.stdout:
            line = line.rstrip("\n")
            tail.append(line)
            log.info("rtetl: %s", line)
        rc = proc.wait()
    finally:
        # Reached on success, on a timeout, and when Airflow stops the task (SIGTERM raises in
        # this process): never leave a producer running without its task. SIGTERM makes rtetl
        # stop and flush what it already sent.
        if timer:
            timer.cancel()
        _stop(proc)
    if timer and timer.fired:
        raise AirflowException(f"{what} still running after {deadline:.0f}s; stopped it")
    if rc != 0:
        why = {1: "runtime failure", 2: "usage or configuration error"}.get(rc, "failure")
        raise AirflowException(f"{what} exited {rc} ({why}); last lines:\n" + "\n".join(tail))
    log.info("%s finished (exit 0)", what)


class _Deadline:
    """Sends SIGTERM to a child that outlives its deadline (a timer thread; no signals used)."""

    def __init__(self, proc: subprocess.Popen, seconds: float):
        self.fired = False
        self._proc = proc
        self._t = threading.Timer(seconds, self._fire)
        self._t.daemon = True
        self._t.start()

    def _fire(self) -> None:
        self.fired = True
        if self._proc.poll() is None:
            self._proc.terminate()
            try:  # rtetl flushes on SIGTERM (bounded by its --flush-timeout); then no mercy
                self._proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                self._proc.kill()

    def cancel(self) -> None:
        self._t.cancel()


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def check_stream_health(**context) -> None:
    """GETs rtetl stream's /healthz; not 200 fails the task; an empty URL or until_caught_up
    (no service then) skips the check."""
    params = context["params"]
    if until_caught_up(params):
        raise AirflowSkipException(
            "until_caught_up is on: this run writes to Cassandra itself; no service to check"
        )
    url = str(params.get("stream_health_url") or "").strip()
    if not url:
        raise AirflowSkipException("stream_health_url is empty: health check skipped")
    _check("stream_health_url", url, URL_RE)
    # Straight to the stream, never through an http_proxy from the environment.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=10) as r:  # http(s) only: checked above
            status, body = r.status, r.read(200).decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read(200).decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as e:
        raise AirflowException(f"rtetl stream health {url}: unreachable ({e})") from e
    if status != 200:
        raise AirflowException(f"rtetl stream health {url}: HTTP {status} {body.strip()!r}")
    log.info("rtetl stream health %s: HTTP 200 %s", url, body.strip())


DOC_MD = """
### real-time-etl-stack

Streams random-user records into Kafka for a while, like the reference stack's
`stream_from_api` task, with **`rtetl ingest`** instead of a Python producer. `rtetl stream`
(a service outside Airflow) writes them on to Cassandra `dados_usuarios.tb_usuarios`.

1. `check_stream_health` GETs `stream_health_url` (rtetl stream's `/healthz`) and fails unless
   it answers 200; it is skipped when the URL is empty or `until_caught_up` is on.
2. `stream_from_api` runs `rtetl ingest --duration D --brokers B --topic T` with `--api-url U`,
   or `--source builtin` (the embedded generator) when `api_url` is empty. A non-zero exit fails
   the task, with rtetl's last lines in the error; its whole output is in the task log.
3. `stream_until_caught_up` (**only with the param `until_caught_up` on**; off, it is skipped)
   runs the whole pipeline batch-style: `rtetl stream --until-caught-up --brokers B --topic T
   --group G --cassandra C --keyspace K` writes what the topic holds to Cassandra, commits and
   exits. A non-zero exit fails the task and the run.

Params (a run's conf overrides them, e.g. `{"duration": "5s", "api_url": ""}` or
`{"until_caught_up": true}`); defaults come from `RTETL_DURATION`, `RTETL_BROKERS`,
`RTETL_TOPIC`, `RTETL_API_URL`, `RTETL_STREAM_HEALTH_URL`, `RTETL_CASSANDRA`, `RTETL_KEYSPACE`,
`RTETL_GROUP`; the binary from `RTETL_BIN`. Values are pattern-checked and passed as arguments,
never through a shell.
"""

with DAG(
    dag_id=DAG_ID,
    description="rtetl ingest: random users -> Kafka (rtetl stream moves them to Cassandra)",
    schedule="@daily",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    doc_md=DOC_MD,
    tags=["rtetl", "kafka", "cassandra", "etl"],
    default_args={
        "owner": "rtetl",
        "retries": 1,
        "retry_delay": timedelta(seconds=30),
    },
    params={
        "duration": _text_param(
            "RTETL_DURATION", "60s", DURATION_RE,
            "How long rtetl ingest produces (60s, 5m, 1h, 500ms).",
        ),
        "brokers": _text_param(
            "RTETL_BROKERS", "127.0.0.1:9092", BROKERS_RE,
            "Kafka bootstrap servers, HOST:PORT[,HOST:PORT...].",
        ),
        "topic": _text_param(
            "RTETL_TOPIC", "data_kafka_topic", TOPIC_RE, "Destination Kafka topic."
        ),
        "api_url": _text_param(
            "RTETL_API_URL", "", URL_RE,
            "randomuser-compatible API URL; empty: rtetl's builtin generator.",
        ),
        "stream_health_url": _text_param(
            "RTETL_STREAM_HEALTH_URL", "http://127.0.0.1:9108/healthz", URL_RE,
            "rtetl stream's /healthz, checked before ingest; empty: no check.",
        ),
        "until_caught_up": Param(
            False,
            type="boolean",
            description="Batch-style: after ingest, rtetl stream --until-caught-up writes the "
            "topic to Cassandra and exits (no service needed; the health check is skipped).",
        ),
        "cassandra": _text_param(
            "RTETL_CASSANDRA", "127.0.0.1:9042", CASSANDRA_RE,
            "until_caught_up: Cassandra contact points, HOST[:PORT][,...].",
        ),
        "keyspace": _text_param(
            "RTETL_KEYSPACE", "dados_usuarios", KEYSPACE_RE,
            "until_caught_up: the keyspace of table tb_usuarios (created if missing).",
        ),
        "group": _text_param(
            "RTETL_GROUP", "rtetl-stream", TOPIC_RE,
            "until_caught_up: the consumer group (the service's: go on from its commits).",
        ),
    },
) as dag:
    health = PythonOperator(
        task_id="check_stream_health",
        python_callable=check_stream_health,
        execution_timeout=timedelta(minutes=1),
        doc_md="GET rtetl stream's /healthz; fail unless 200; skipped when the URL is empty "
        "or until_caught_up is on.",
    )
    ingest = PythonOperator(
        task_id="stream_from_api",
        python_callable=stream_from_api,
        # Runs after a passed or skipped health check, not after a failed one.
        trigger_rule="none_failed",
        execution_timeout=timedelta(hours=2),
        doc_md="`rtetl ingest` for `duration`; fails when rtetl exits non-zero.",
    )
    catch_up = PythonOperator(
        task_id="stream_until_caught_up",
        # The graph says the task is conditional; off, it shows as skipped.
        task_display_name="stream_until_caught_up (if until_caught_up)",
        python_callable=stream_until_caught_up,
        execution_timeout=timedelta(hours=2),
        doc_md="Only with the param `until_caught_up` on (else skipped): `rtetl stream "
        "--until-caught-up` writes the topic to Cassandra, commits, exits; non-zero fails the run.",
    )
    health >> ingest >> catch_up
