"""The Grafana dashboard and Prometheus config of deploy/ against a real rtetl stream.

Static: deploy/grafana/rtetl.json parses and has the shape Grafana 10/11 loads (schemaVersion,
unique panel ids, panels inside the 24-column grid without overlaps, targets with unique refIds
and an expression); every datasource reference resolves to the provisioned Prometheus datasource
(directly by uid or through the DS_PROMETHEUS variable whose default is that uid); every
dashboard variable an expression uses is defined; every expression has balanced brackets and
calls only PromQL functions; the panels cover the series the brief asks for. promtool (Debian's
prometheus package, scripts/prometheus-tools) checks deploy/prometheus/prometheus.yml and parses
every expression as a recording rule (and is first shown to reject a broken one).

Live, on the shared stack: `rtetl stream --metrics-port 0` consumes a unique topic while `rtetl
ingest` writes 2,000 records into it at 500/s; a real Prometheus (bound to 127.0.0.1, scraping
every second, job and labels from deploy/prometheus/prometheus.yml) scrapes the stream. Checked:
every metric name the dashboard uses is on the stream's real /metrics (Prometheus's own `up`
aside); promtool check metrics accepts that text; every dashboard query, with Grafana's
variables filled in as Grafana would, returns at least one series from Prometheus; the
records-by-outcome panel has all five stages; the rows-written panel saw a rate above zero; and
the job/instance variables' label_values queries list the stream.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import yaml  # noqa: E402  (Debian's python3-yaml)

from rtetl_testlib import (BIN, BROKERS, SRC, Procs, check, check_true, finish, log,  # noqa: E402
                           rtetl, unique, wait_for)

DEPLOY = os.path.join(SRC, "deploy")
DASHBOARD = os.path.join(DEPLOY, "grafana", "rtetl.json")
DATASOURCES = os.path.join(DEPLOY, "grafana", "provisioning", "datasources", "prometheus.yml")
PROM_CONFIG = os.path.join(DEPLOY, "prometheus", "prometheus.yml")
RECORDS = 2000

# PromQL's functions and aggregation operators (Prometheus 2.x/3.x documentation).
PROMQL_CALLS = set("""
abs absent absent_over_time ceil changes clamp clamp_max clamp_min day_of_month day_of_week
day_of_year days_in_month delta deriv exp floor histogram_avg histogram_count histogram_fraction
histogram_quantile histogram_stddev histogram_stdvar histogram_sum holt_winters double_exponential_smoothing
hour idelta increase irate label_join label_replace ln log10 log2 minute month predict_linear
rate resets round scalar sgn sort sort_desc sort_by_label sort_by_label_desc sqrt time timestamp
vector year avg_over_time min_over_time max_over_time sum_over_time count_over_time
quantile_over_time stddev_over_time stdvar_over_time last_over_time present_over_time
mad_over_time acos acosh asin asinh atan atanh cos cosh sin sinh tan tanh deg pi rad
sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio
""".split())
# Keywords and the label lists that follow some of them.
PROMQL_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
                   "or", "unless", "offset", "atan2"}
# Series that Prometheus itself adds to every scrape target (not on rtetl's /metrics).
SYNTHETIC = {"up"}
# Grafana's global variables an expression may use.
GRAFANA_BUILTINS = {"__rate_interval", "__interval", "__range", "__interval_ms", "__range_s"}
# What the brief asks the dashboard to show, as the series that carry it.
REQUIRED = {"rtetl_stream_records_total", "rtetl_stream_lag", "rtetl_stream_inflight",
            "rtetl_stream_write_retries_total", "rtetl_stream_write_seconds",
            "rtetl_stream_end_to_end_seconds", "rtetl_cassandra_hosts_up",
            "rtetl_kafka_fetch_wakeups_total"}
STAGES = {"consumed", "written", "filtered", "invalid", "dead_lettered"}


def strip_strings(expr):
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)


def balanced(expr):
    pairs, stack = {")": "(", "}": "{", "]": "["}, []
    for c in strip_strings(expr):
        if c in "({[":
            stack.append(c)
        elif c in pairs:
            if not stack or stack.pop() != pairs[c]:
                return False
    return not stack


def calls(expr):
    return set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(", strip_strings(expr))) - PROMQL_KEYWORDS


def metric_names(expr):
    """The series names an expression selects: identifiers that are not calls, keywords, label
    names inside {...} or label lists after by/without/on/ignoring/group_left/group_right."""
    e = strip_strings(expr)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        rest = e[m.end():].lstrip()
        if rest.startswith("(") or m.group(0) in PROMQL_KEYWORDS:
            continue
        if re.fullmatch(r"(?i)inf|nan|e\d*", m.group(0)):
            continue
        names.add(m.group(0))
    return names


def variables_used(expr):
    return set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", expr))


def fill(expr, values):
    """The expression with Grafana's variables replaced by the given values."""
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: values[m.group(1)], expr)


def datasource_refs(node, path="dashboard"):
    """Every "datasource" object in the dashboard, with where it is."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "datasource" and isinstance(v, dict):
                yield path, v
            else:
                yield from datasource_refs(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from datasource_refs(v, f"{path}[{i}]")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode("utf-8", "replace")


def http_ok(url):
    try:
        return http_get(url)[0] == 200
    except OSError:
        return False


def prom_api(base, path, **params):
    q = urllib.parse.urlencode(params, doseq=True)
    status, body = http_get(f"{base}/api/v1/{path}?{q}", timeout=20)
    return json.loads(body)


def static_checks(dash, tools):
    """Structure, datasources, variables and PromQL of the dashboard; returns the targets."""
    check_true("schemaVersion is Grafana 10/11's (38..41)", 38 <= dash.get("schemaVersion", 0) <= 41,
               str(dash.get("schemaVersion")))
    check_true("dashboard has a uid and a title", bool(dash.get("uid")) and bool(dash.get("title")))
    panels = dash.get("panels", [])
    ids = [p.get("id") for p in panels]
    check("panel ids are unique", len(ids), len(set(ids)))
    cells, overlaps, outside = {}, [], []
    for p in panels:
        g = p.get("gridPos", {})
        if g.get("x", 0) + g.get("w", 0) > 24 or min(g.get(k, -1) for k in "xywh") < 0:
            outside.append(p.get("title"))
        for x in range(g.get("x", 0), g.get("x", 0) + g.get("w", 0)):
            for y in range(g.get("y", 0), g.get("y", 0) + g.get("h", 0)):
                if (x, y) in cells and cells[(x, y)] not in overlaps:
                    overlaps.append((cells[(x, y)], p.get("title")))
                cells[(x, y)] = p.get("title")
    check("every panel has a gridPos inside the 24-column grid", [], outside)
    check("no two panels overlap", [], overlaps[:3])
    graphs = [p for p in panels if p.get("type") != "row"]
    check_true("the dashboard has at least 10 graph panels", len(graphs) >= 10, str(len(graphs)))
    targets = []
    for p in graphs:
        ts = p.get("targets") or []
        check_true(f"panel {p.get('title')!r} has targets with expressions",
                   bool(ts) and all(t.get("expr") for t in ts))
        refs = [t.get("refId") for t in ts]
        check(f"panel {p.get('title')!r} refIds are unique", len(refs), len(set(refs)))
        targets += [(p.get("title"), t) for t in ts]

    # Datasources: the provisioned one, by uid or through the DS_PROMETHEUS variable.
    provisioned = yaml.safe_load(open(DATASOURCES))["datasources"]
    prom_uids = {d["uid"] for d in provisioned if d.get("type") == "prometheus"}
    check("one Prometheus datasource is provisioned, with a uid", 1, len(prom_uids))
    check_true("the provisioned datasource is the default", any(d.get("isDefault") for d in provisioned))
    tvars = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
    ds_vars = {n for n, v in tvars.items() if v.get("type") == "datasource"
               and v.get("query") == "prometheus" and v.get("current", {}).get("value") in prom_uids}
    bad = []
    for where, ref in datasource_refs(dash):
        if ref.get("type") == "grafana":
            continue  # the built-in annotations
        uid = ref.get("uid", "")
        var = re.fullmatch(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", uid)
        ok = ref.get("type") == "prometheus" and (uid in prom_uids or (var and var.group(1) in ds_vars))
        if not ok:
            bad.append((where, ref))
    check("every datasource reference resolves to the provisioned Prometheus", [], bad[:3])
    check_true("every target names its datasource",
               all(isinstance(t.get("datasource"), dict) for _, t in targets))

    # Variables, brackets, functions, metric names.
    exprs = [t["expr"] for _, t in targets]
    exprs += [v["query"]["query"] for v in tvars.values()
              if v.get("type") == "query" and isinstance(v.get("query"), dict)]
    undefined = {n for e in exprs for n in variables_used(e)} - set(tvars) - GRAFANA_BUILTINS
    check("every variable in an expression is defined", set(), undefined)
    check("every expression has balanced brackets", [], [e for e in exprs if not balanced(e)])
    unknown = {c for e in exprs for c in calls(e)} - PROMQL_CALLS - {"label_values"}
    check("every call is a PromQL function or aggregation", set(), unknown)
    names = {n for _, t in targets for n in metric_names(t["expr"])}
    bases = {re.sub(r"_(sum|count)$", "", n) for n in names}
    check("the panels cover the required series", set(), REQUIRED - bases)
    check_true("the checker finds names in a known expression",
               metric_names('sum by (stage) (rate(a_total{x="b(c"}[1m])) / on() b') == {"a_total", "b"})

    # promtool: the config, and every filled-in expression as a recording rule.
    promtool = os.path.join(tools, "promtool")
    r = subprocess.run([promtool, "check", "config", PROM_CONFIG], capture_output=True, text=True)
    check("promtool check config deploy/prometheus/prometheus.yml", 0, r.returncode)
    if r.returncode:
        log(r.stdout + r.stderr)
    tmp = tempfile.mkdtemp(prefix="rtetl-grafana-")
    values = {"job": "rtetl-stream", "instance": ".*", "__rate_interval": "5s",
              "__interval": "1s", "__range": "5m"}

    def rules_ok(es, name):
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            yaml.safe_dump({"groups": [{"name": "rtetl_dashboard", "rules": [
                {"record": f"rtetl_dashboard:expr{i}", "expr": fill(e, values)}
                for i, e in enumerate(es)]}]}, f)
        r = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True)
        return r.returncode, r.stdout + r.stderr

    rc, out = rules_ok(['sum(rate(rtetl_stream_lag{job=~"$job"}[$__rate_interval])'], "bad.yml")
    check_true("promtool rejects an unbalanced expression (the check can fail)", rc != 0, out)
    rc, out = rules_ok([t["expr"] for _, t in targets], "dashboard.yml")
    check("promtool check rules parses every dashboard expression", 0, rc)
    if rc:
        log(out)
    shutil.rmtree(tmp, ignore_errors=True)
    return targets, names, tvars


def scrape_names(text):
    return {ln.split("{")[0].split(" ")[0] for ln in text.splitlines() if ln and not ln.startswith("#")}


def live_checks(procs, tools, targets, names, tvars):
    topic, group, keyspace = unique("grafana"), unique("grafana_g"), unique("grafana_ks")
    try:
        rtetl("ingest", "--source", "builtin", "--count", "1", "--seed", "3", "--topic", topic,
              "--brokers", BROKERS, "--quiet", timeout=120)
        stream = procs.start("stream", [BIN, "stream", "--mode", "initial", "--topic", topic,
                                        "--group", group, "--keyspace", keyspace, "--brokers",
                                        BROKERS, "--metrics-port", "0", "--status-interval", "2s"])
        m = wait_for("the stream's metrics address", lambda: re.search(
            r'msg="serving metrics" addr=127\.0\.0\.1:(\d+)', procs.output(stream)) or
            stream.poll() is not None, timeout=60)
        check_true("rtetl stream serves metrics", m is not True, procs.output(stream)[-2000:])
        if m is True:
            return
        maddr = f"127.0.0.1:{m.group(1)}"
        wait_for("stream /healthz 200", lambda: http_ok(f"http://{maddr}/healthz") or
                 stream.poll() is not None, timeout=60)

        # A real Prometheus with the deploy config's job, pointed at this stream.
        conf = yaml.safe_load(open(PROM_CONFIG))
        conf["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
        job = next(j for j in conf["scrape_configs"] if j["job_name"] == "rtetl-stream")
        for sc in job["static_configs"]:
            sc["targets"] = [maddr]
        pconf = os.path.join(procs.tmp, "prometheus.yml")
        with open(pconf, "w") as f:
            yaml.safe_dump(conf, f)
        pport = free_port()
        base = f"http://127.0.0.1:{pport}"
        prom = procs.start("prometheus", [
            os.path.join(tools, "prometheus"), f"--config.file={pconf}",
            f"--storage.tsdb.path={os.path.join(procs.tmp, 'tsdb')}",
            f"--web.listen-address=127.0.0.1:{pport}"])
        wait_for("prometheus ready", lambda: http_ok(f"{base}/-/ready") or prom.poll() is not None,
                 timeout=60)

        def scraped_up():
            try:
                res = prom_api(base, "query", query='up{job="rtetl-stream"}')["data"]["result"]
                return bool(res) and res[0]["value"][1] == "1"
            except (OSError, ValueError, KeyError):
                return False

        wait_for("prometheus to scrape the stream", scraped_up, timeout=30)
        t0 = time.time()
        rtetl("ingest", "--source", "builtin", "--count", str(RECORDS), "--rate", "500/s",
              "--seed", "4", "--topic", topic, "--brokers", BROKERS, "--quiet", timeout=120)

        def settled():
            """Records with an outcome (written, filtered, invalid, dead-lettered)."""
            n = 0
            try:
                for ln in http_get(f"http://{maddr}/metrics")[1].splitlines():
                    if ln.startswith("rtetl_stream_records_total{") and "consumed" not in ln:
                        n += int(ln.split()[1])
            except (OSError, ValueError):
                return 0
            return n

        wait_for(f"the stream to settle {RECORDS + 1} records", lambda: settled() >= RECORDS + 1,
                 timeout=60)
        text = http_get(f"http://{maddr}/metrics")[1]
        exposed = scrape_names(text)
        missing = sorted(n for n in names - SYNTHETIC if n not in exposed)
        check("every metric name of the dashboard is on rtetl's /metrics", [], missing)
        families = {ln.split()[2] for ln in text.splitlines() if ln.startswith("# TYPE ")}
        log(f"families on /metrics not on the dashboard: {sorted(families - names) or 'none'}")
        r = subprocess.run([os.path.join(tools, "promtool"), "check", "metrics"], input=text,
                           capture_output=True, text=True)
        check("promtool check metrics accepts rtetl's /metrics", (0, ""),
              (r.returncode, (r.stdout + r.stderr).strip()))

        # Every panel query, filled in as Grafana would with the variables' defaults, returns
        # series from the Prometheus that scraped the stream.
        done_at = time.time()

        def scrapes_since_done():
            res = prom_api(base, "query", query='timestamp(up{job="rtetl-stream"})')
            return res["data"]["result"] and float(res["data"]["result"][0]["value"][1]) > done_at + 5

        wait_for("5 s of scrapes after the writes", scrapes_since_done, timeout=40)
        values = {"DS_PROMETHEUS": "", "job": tvars["job"]["current"]["value"],
                  "instance": tvars["instance"].get("allValue", ".*"), "__rate_interval": "5s"}
        empty = []
        for title, t in targets:
            res = prom_api(base, "query", query=fill(t["expr"], values))
            if res.get("status") != "success" or not res["data"]["result"]:
                empty.append((title, t["refId"], res.get("error") or "no series"))
        check("every dashboard query returns series from Prometheus", [], empty)
        by_stage = next(t for title, t in targets if "by (stage)" in t["expr"]
                        and "stage=~" not in t["expr"])
        res = prom_api(base, "query", query=fill(by_stage["expr"], values))["data"]["result"]
        check("records by outcome shows the five stages", STAGES,
              {s["metric"].get("stage") for s in res})
        rows = next(t for title, t in targets if title == "Rows written")
        res = prom_api(base, "query_range", query=fill(rows["expr"], values), start=t0 - 5,
                       end=time.time(), step=1)["data"]["result"]
        peak = max((float(v) for s in res for _, v in s["values"]), default=0.0)
        check_true("rows written rose above 0/s while records were written", peak > 0, str(peak))
        jobs = prom_api(base, "label/job/values", **{"match[]": "rtetl_stream_records_total"})
        check_true("the job variable's query lists the default job",
                   values["job"] in jobs.get("data", []), str(jobs))
        inst = prom_api(base, "label/instance/values",
                        **{"match[]": f'rtetl_stream_records_total{{job=~"{values["job"]}"}}'})
        check("the instance variable's query lists the stream", [maddr], inst.get("data"))

        check("rtetl stream exits 0 on SIGTERM", 0, procs.stop(stream))
        check("prometheus exits 0 on SIGTERM", 0, procs.stop(prom))
        shutil.rmtree(os.path.join(procs.tmp, "tsdb"), ignore_errors=True)
    finally:
        rc, _, err = rtetl("cql", "-e", f"DROP KEYSPACE IF EXISTS {keyspace}", check_rc=False,
                           timeout=120)
        if rc:
            log(f"dropping {keyspace} failed: {err[-500:]}")


def main():
    start = time.monotonic()
    r = subprocess.run([os.path.join(SRC, "scripts", "prometheus-tools")], capture_output=True,
                       text=True)
    check("scripts/prometheus-tools provides promtool and prometheus", 0, r.returncode)
    if r.returncode:
        log(r.stderr)
        finish()
    tools = r.stdout.strip()
    dash = json.load(open(DASHBOARD))
    targets, names, tvars = static_checks(dash, tools)
    with Procs() as procs:
        live_checks(procs, tools, targets, names, tvars)
    log(f"took {time.monotonic() - start:.1f} s")
    finish()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    main()
