#!/usr/bin/env bash
# deploy/grafana/rtetl.json and deploy/prometheus/prometheus.yml (issue #13): the dashboard's
# structure and datasource references, its PromQL checked by promtool, and every query evaluated
# by a real Prometheus (scripts/prometheus-tools) that scrapes a real `rtetl stream` on the stack;
# every metric name it uses must be on the stream's /metrics. About 30 s.
set -euo pipefail
src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
# Debian's python3 with python3-yaml (scripts/install-deps); only the standard library besides.
py=/usr/bin/python3
[ -x "$py" ] || py=python3
exec "$py" "$src/tests/integration/grafana_dashboard.py"
