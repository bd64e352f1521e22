"""Static checks of deploy/docker-compose.yml and deploy/Dockerfile (no Docker engine needed).

    python deploy/check_compose.py [path/to/rtetl]      (needs PyYAML)

What a `docker compose config` cannot see: that the services hang together and agree with the
local stack and the DAG. Checked: the seven services and their images/targets; every service has
a health check and every depends_on waits for a healthy (or built) dependency; the published
ports are the local stack's, on 127.0.0.1; the Airflow service's RTETL_* defaults point at the
Kafka listener, the stream's metrics port and the fake API's port that those services really
use; the DAG folder is mounted where AIRFLOW__CORE__DAGS_FOLDER says; the DAG's env names exist
in the DAG file; the Dockerfile has the build/rtetl/airflow stages, pins Airflow 2.10 and
bookworm; that Prometheus scrapes the stream's metrics port with the mounted
deploy/prometheus/prometheus.yml and Grafana gets the provisioning files and the dashboard where
its dashboard provider looks, with a datasource pointing at the prometheus service (the
dashboard's own content is checked by tests/integration/grafana_dashboard.py); and, given a built rtetl, every shared library it links (readelf NEEDED) comes from a
Debian package that both runtime stages install (dpkg -S), so the slim image can run it.
Prints PASS/FAIL lines; exits 1 on any failure.
"""
import os
import re
import subprocess
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
failures = []


def check(name, expected, actual):
    if expected == actual:
        print(f"PASS {name}")
    else:
        print(f"FAIL {name}: expected {expected!r} got {actual!r}")
        failures.append(name)


def arg_after(cmd, flag):
    return cmd[cmd.index(flag) + 1] if flag in cmd else None


def stages(dockerfile):
    """{stage name: [apt packages installed in it]} of a multi-stage Dockerfile."""
    out, cur = {}, None
    text = re.sub(r"\\\n", " ", dockerfile)
    for line in text.splitlines():
        m = re.match(r"\s*FROM\s+\S+\s+AS\s+(\S+)", line, re.I)
        if m:
            cur = m.group(1)
            out[cur] = []
            continue
        m = re.search(r"apt-get install ([^&]*)", line)
        if cur and m:
            out[cur] += [w for w in m.group(1).split() if not w.startswith("-")]
    return out


def mounts_of(service):
    """{container path: host path relative to deploy/} of a service's bind mounts."""
    out = {}
    for v in service.get("volumes", []):
        parts = str(v).split(":")
        if parts[0].startswith("."):
            out[parts[1]] = parts[0]
    return out


def check_monitoring(svc, scmd):
    """Prometheus scrapes the stream; Grafana is provisioned with it and the dashboard."""
    check("prometheus image is prom/prometheus", True, bool(re.fullmatch(
        r"prom/prometheus:(\$\{PROMETHEUS_VERSION:-)?v\d+\.\d+\.\d+\}?",
        svc["prometheus"]["image"])))
    check("grafana image is grafana/grafana 10 or 11", True, bool(re.fullmatch(
        r"grafana/grafana:(\$\{GRAFANA_VERSION:-)?1[01]\.\d+\.\d+\}?", svc["grafana"]["image"])))
    pmounts = mounts_of(svc["prometheus"])
    conf_in = arg_after([a for c in svc["prometheus"].get("command", []) for a in c.split("=", 1)],
                        "--config.file")
    check("prometheus reads the mounted deploy/prometheus/prometheus.yml",
          "./prometheus/prometheus.yml", pmounts.get(conf_in))
    prom = yaml.safe_load(open(os.path.join(HERE, "prometheus", "prometheus.yml")))
    jobs = {j["job_name"]: j for j in prom.get("scrape_configs", [])}
    job = jobs.get("rtetl-stream", {})
    targets = [t for sc in job.get("static_configs", []) for t in sc.get("targets", [])]
    check("prometheus scrapes the stream's metrics port",
          [f"stream:{arg_after(scmd, '--metrics-port')}"], targets)
    check("prometheus scrapes /metrics", "/metrics", job.get("metrics_path", "/metrics"))

    gmounts = mounts_of(svc["grafana"])
    check("grafana gets deploy/grafana/provisioning", "./grafana/provisioning",
          gmounts.get("/etc/grafana/provisioning"))
    for host in gmounts.values():
        check(f"grafana mount {host} exists", True, os.path.exists(os.path.join(HERE, host)))
    prov = os.path.join(HERE, "grafana", "provisioning")
    ds = yaml.safe_load(open(os.path.join(prov, "datasources", "prometheus.yml")))["datasources"]
    pport = svc["prometheus"]["ports"][0].split(":")[2]
    check("the provisioned datasource is the prometheus service",
          [("prometheus", f"http://prometheus:{pport}")], [(d["type"], d["url"]) for d in ds])
    dprov = yaml.safe_load(open(os.path.join(prov, "dashboards", "rtetl.yml")))["providers"]
    dpath = dprov[0]["options"]["path"]
    check("the dashboard provider's folder holds the mounted rtetl.json", "./grafana/rtetl.json",
          gmounts.get(dpath.rstrip("/") + "/rtetl.json"))
    home = svc["grafana"]["environment"].get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    check("grafana's home dashboard is a mounted file", True, home in gmounts)
    check("grafana waits for prometheus", {"prometheus"}, set(svc["grafana"].get("depends_on", {})))


def main():
    compose = yaml.safe_load(open(os.path.join(HERE, "docker-compose.yml")))
    dockerfile = open(os.path.join(HERE, "Dockerfile")).read()
    svc = compose.get("services", {})
    check("services", ["airflow", "cassandra", "fake-api", "grafana", "kafka", "prometheus",
                       "stream"], sorted(svc))

    # Images and build targets.
    check("kafka image is apache/kafka 3.9.x", True,
          bool(re.fullmatch(r"apache/kafka:(\$\{KAFKA_VERSION:-)?3\.9\.\d+\}?",
                            svc["kafka"]["image"])))
    check("cassandra image is 5.0", True,
          bool(re.fullmatch(r"cassandra:(\$\{CASSANDRA_VERSION:-)?5\.0(\.\d+)?\}?",
                            svc["cassandra"]["image"])))
    st = stages(dockerfile)
    check("Dockerfile stages", ["airflow", "build", "rtetl"], sorted(st))
    for name, target in (("fake-api", "rtetl"), ("stream", "rtetl"), ("airflow", "airflow")):
        b = svc[name].get("build", {})
        check(f"{name} builds target {target} of deploy/Dockerfile", (target, "deploy/Dockerfile"),
              (b.get("target"), b.get("dockerfile")))
        check(f"{name} build context is the repo root", ROOT,
              os.path.normpath(os.path.join(HERE, b.get("context", ""))))
    check("Airflow base image is 2.10.x", True,
          bool(re.search(r"ARG AIRFLOW_IMAGE=apache/airflow:2\.10\.\d+", dockerfile)))
    check("build and runtime on bookworm", True,
          "ARG DEBIAN_RELEASE=bookworm" in dockerfile
          and "FROM debian:${DEBIAN_RELEASE}-slim AS rtetl" in dockerfile)
    check("dockerignore keeps the context to CMakeLists.txt and src/", True,
          {"*", "!CMakeLists.txt", "!src/"} <= set(
              open(os.path.join(HERE, "Dockerfile.dockerignore")).read().split()))
    check("CMakeLists.txt installs rtetl (cmake --install)", True,
          "install(TARGETS rtetl" in open(os.path.join(ROOT, "CMakeLists.txt")).read())

    # Health checks and start order.
    for name, s in svc.items():
        check(f"{name} has a health check", True, bool(s.get("healthcheck", {}).get("test")))
        for dep, cond in (s.get("depends_on") or {}).items():
            check(f"{name} waits for {dep} to be healthy", "service_healthy",
                  cond.get("condition"))
    check("stream waits for kafka and cassandra", {"kafka", "cassandra"},
          set(svc["stream"].get("depends_on", {})))
    check("airflow waits for kafka, stream and fake-api", {"kafka", "stream", "fake-api"},
          set(svc["airflow"].get("depends_on", {})))

    # Ports: the local stack's, published on loopback only.
    published = {}
    for name, s in svc.items():
        for p in s.get("ports", []):
            host_ip, host_port, cport = str(p).split(":")
            check(f"{name} port {p} published on 127.0.0.1", "127.0.0.1", host_ip)
            published[name] = (int(host_port), int(cport))
    check("published ports match the local stack", {
        "kafka": (9092, 9092), "cassandra": (9042, 9042), "fake-api": (8000, 8000),
        "stream": (9108, 9108), "airflow": (8080, 8080), "prometheus": (9090, 9090),
        "grafana": (3000, 3000)}, published)

    # The wiring: what Airflow's DAG defaults point at is what the services listen on.
    kenv = svc["kafka"]["environment"]
    internal = re.search(r"INTERNAL://([^,]+)", kenv["KAFKA_ADVERTISED_LISTENERS"]).group(1)
    external = re.search(r"EXTERNAL://([^,]+)", kenv["KAFKA_ADVERTISED_LISTENERS"]).group(1)
    check("external listener is localhost:9092 (the local stack's)", "localhost:9092", external)
    check("cluster id is 16 bytes of base64url", True,
          bool(re.fullmatch(r"[A-Za-z0-9_-]{21}[AQgw]", kenv["CLUSTER_ID"])))
    check("kafka health check uses a listener it has", True,
          any(internal.split(":")[1] in str(t) or "9092" in str(t)
              for t in svc["kafka"]["healthcheck"]["test"]))
    scmd = svc["stream"]["command"]
    fcmd = svc["fake-api"]["command"]
    aenv = svc["airflow"]["environment"]
    check("stream consumes the internal listener", internal, arg_after(scmd, "--brokers"))
    check("stream writes to the cassandra service", "cassandra:9042",
          arg_after(scmd, "--cassandra"))
    check("stream metrics bound for other containers", "0.0.0.0", arg_after(scmd, "--metrics-bind"))
    check("fake-api bound for other containers", "0.0.0.0", arg_after(fcmd, "--bind"))
    check("DAG brokers = kafka's internal listener", internal, aenv.get("RTETL_BROKERS"))
    check("DAG topic = stream's topic", arg_after(scmd, "--topic"), aenv.get("RTETL_TOPIC"))
    check("DAG topic = the reference's", "data_kafka_topic", aenv.get("RTETL_TOPIC"))
    check("DAG health URL = stream's /healthz",
          f"http://stream:{arg_after(scmd, '--metrics-port')}/healthz",
          aenv.get("RTETL_STREAM_HEALTH_URL"))
    check("DAG API URL = fake-api's port", f"http://fake-api:{arg_after(fcmd, '--port')}/api/",
          aenv.get("RTETL_API_URL"))
    check("DAG cassandra (until_caught_up) = stream's", arg_after(scmd, "--cassandra"),
          aenv.get("RTETL_CASSANDRA"))
    check("DAG group (until_caught_up) = stream's", arg_after(scmd, "--group"),
          aenv.get("RTETL_GROUP"))
    check("stream health check = its metrics port", True,
          f":{arg_after(scmd, '--metrics-port')}/healthz" in " ".join(
              svc["stream"]["healthcheck"]["test"]))
    check("fake-api health check asks /api/?results=1", True,
          "/api/?results=1" in " ".join(svc["fake-api"]["healthcheck"]["test"]))
    check("RTETL_BIN is the installed binary", "/usr/local/bin/rtetl", aenv.get("RTETL_BIN"))
    mounts = {v.split(":")[1]: v.split(":")[0] for v in svc["airflow"].get("volumes", [])}
    dags = aenv.get("AIRFLOW__CORE__DAGS_FOLDER")
    check("the DAG folder is mounted where Airflow looks", "../airflow/dags", mounts.get(dags))
    dag_src = open(os.path.join(ROOT, "airflow", "dags", "real_time_etl_stack.py")).read()
    for k in aenv:
        if k.startswith("RTETL_"):
            check(f"the DAG reads {k}", True, f'"{k}"' in dag_src)
    check("load_examples off", "false", str(aenv.get("AIRFLOW__CORE__LOAD_EXAMPLES")).lower())
    check_monitoring(svc, scmd)

    # The runtime stages install the package of every library the binary links.
    runtime = set(st.get("rtetl", []))
    airflow_rt = set(st.get("airflow", []))
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "rtetl")
    if not os.path.exists(binary):
        print(f"SKIP shared-library check: no binary at {binary}")
        return
    needed = re.findall(r"\(NEEDED\).*\[(.+)\]",
                        subprocess.run(["readelf", "-d", binary], capture_output=True,
                                       text=True, check=True).stdout)
    check_true = bool(needed)
    check("readelf lists the binary's libraries", True, check_true)
    for lib in needed:
        r = subprocess.run(["dpkg", "-S", f"*/{lib}"], capture_output=True, text=True)
        pkgs = {line.split(":")[0] for line in r.stdout.splitlines() if ":" in line}
        if pkgs & {"libc6"}:
            continue  # in every Debian image
        check(f"{lib} ({', '.join(sorted(pkgs)) or '?'}) installed in the rtetl stage", True,
              bool(pkgs & runtime))
        check(f"{lib} installed in the airflow stage", True, bool(pkgs & airflow_rt))


if __name__ == "__main__":
    main()
    if failures:
        print(f"{len(failures)} check(s) failed: {', '.join(failures)}")
        sys.exit(1)
    print("all compose checks passed")
