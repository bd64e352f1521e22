"""The Airflow DAG "real-time-etl-stack": rtetl ingest streams random users into Kafka.

It replaces the reference stack's Python producer (a PythonOperator that fetched randomuser.me
for 60 s and sent each user to Kafka) with one `rtetl ingest` process. `rtetl stream`, a
long-running service, moves the records on to Cassandra; this DAG only checks that it is healthy
before producing.

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
BROKERS_RE = (
    r"^([A-Za-z0-9][A-Za-z0-9._-]{0,252}|\[[0-9A-Fa-f:.]{2,45}\]):[0-9]{1,5}"
    r"(,([A-Za-z0-9][A-Za-z0-9._-]{0,252}|\[[0-9A-Fa-f:.]{2,45}\]):[0-9]{1,5}){0,31}$"
)
# Kafka's legal topic names, minus a leading '-' (which rtetl would read as an option).
TOPIC_RE = r"^[A-Za-z0-9._][A-Za-z0-9._-]{0,248}$"
# Empty (builtin generator) or one http(s) URL without spaces, quotes or control characters.
URL_RE = r"^(|https?://[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]{1,2000})$"
UNITS = {"": 1, "s": 1, "ms": 1e-3, "us": 1e-6, "m": 60, "min": 60, "h": 3600}

# Once ingest stopped producing, rtetl waits up to its --flush-timeout (60s) for the brokers'
# acknowledgements; the task's own deadline leaves room for that and for start-up.
FLUSH_SLACK_S = 120


def _env(name: str, default: str) -> str:
    v = os.environ.get(name)
    return default if v is None else v.strip()


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


def ingest_command(params: dict) -> list[str]:
    """The argument list of `rtetl ingest` for these params, each value validated first."""
    duration = str(params.get("duration", "")).strip()
    duration_seconds(duration)
    brokers = _check("brokers", str(params.get("brokers", "")).strip(), BROKERS_RE)
    topic = _check("topic", str(params.get("topic", "")).strip(), TOPIC_RE)
    api_url = _check("api_url", str(params.get("api_url") or "").strip(), URL_RE)
    cmd = [rtetl_binary(), "ingest", "--duration", duration, "--brokers", brokers]
    cmd += ["--topic", topic]
    cmd += ["--api-url", api_url] if api_url else ["--source", "builtin"]
    return cmd


def _child_env() -> dict:
    # rtetl reads RTETL_<OPTION> from its environment (RTETL_API_URL would become --api-url and
    # clash with --source builtin); only its log level may pass through.
    keep = {"RTETL_LOG_LEVEL"}
    return {k: v for k, v in os.environ.items() if not k.startswith("RTETL_") or k in keep}


def stream_from_api(**context) -> None:
    """Runs rtetl ingest; its stderr goes to the task log; a non-zero exit fails the task."""
    params = context["params"]
    cmd = ingest_command(params)
    deadline = duration_seconds(cmd[cmd.index("--duration") + 1]) + FLUSH_SLACK_S
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
    timer = _Deadline(proc, deadline)
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
        timer.cancel()
        _stop(proc)
    if timer.fired:
        raise AirflowException(f"rtetl ingest still running after {deadline:.0f}s; stopped it")
    if rc != 0:
        what = {1: "runtime failure", 2: "usage or configuration error"}.get(rc, "failure")
        raise AirflowException(
            f"rtetl ingest exited {rc} ({what}); last lines:\n" + "\n".join(tail)
        )
    log.info("rtetl ingest finished (exit 0)")


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
    """GETs rtetl stream's /healthz; not 200 fails the task; an empty URL skips the check."""
    url = str(context["params"].get("stream_health_url") or "").strip()
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
   it answers 200; it is skipped when the URL is empty.
2. `stream_from_api` runs `rtetl ingest --duration D --brokers B --topic T` with `--api-url U`,
   or `--source builtin` (the embedded generator) when `api_url` is empty. A non-zero exit fails
   the task, with rtetl's last lines in the error; its whole output is in the task log.

Params (a run's conf overrides them, e.g. `{"duration": "5s", "api_url": ""}`); defaults come
from `RTETL_DURATION`, `RTETL_BROKERS`, `RTETL_TOPIC`, `RTETL_API_URL`,
`RTETL_STREAM_HEALTH_URL`; the binary from `RTETL_BIN`. Values are pattern-checked and passed
as arguments, never through a shell.
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
        "duration": Param(
            _env("RTETL_DURATION", "60s"),
            type="string",
            pattern=DURATION_RE,
            description="How long rtetl ingest produces (60s, 5m, 1h, 500ms).",
        ),
        "brokers": Param(
            _env("RTETL_BROKERS", "127.0.0.1:9092"),
            type="string",
            pattern=BROKERS_RE,
            description="Kafka bootstrap servers, HOST:PORT[,HOST:PORT...].",
        ),
        "topic": Param(
            _env("RTETL_TOPIC", "data_kafka_topic"),
            type="string",
            pattern=TOPIC_RE,
            description="Destination Kafka topic.",
        ),
        "api_url": Param(
            _env("RTETL_API_URL", ""),
            type="string",
            pattern=URL_RE,
            description="randomuser-compatible API URL; empty: rtetl's builtin generator.",
        ),
        "stream_health_url": Param(
            _env("RTETL_STREAM_HEALTH_URL", "http://127.0.0.1:9108/healthz"),
            type="string",
            pattern=URL_RE,
            description="rtetl stream's /healthz, checked before ingest; empty: no check.",
        ),
    },
) as dag:
    health = PythonOperator(
        task_id="check_stream_health",
        python_callable=check_stream_health,
        execution_timeout=timedelta(minutes=1),
        doc_md="GET rtetl stream's /healthz; fail unless 200; skipped when the URL is empty.",
    )
    ingest = PythonOperator(
        task_id="stream_from_api",
        python_callable=stream_from_api,
        # Runs after a passed or skipped health check, not after a failed one.
        trigger_rule="none_failed",
        execution_timeout=timedelta(hours=2),
        doc_md="`rtetl ingest` for `duration`; fails when rtetl exits non-zero.",
    )
    health >> ingest
