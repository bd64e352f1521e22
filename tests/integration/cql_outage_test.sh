#!/usr/bin/env bash
# tier: slow
# The CQL client across a native-transport outage (nodetool disablebinary/enablebinary, which
# drops every client connection like a restart does, without restarting the JVM): requests fail
# with retriable errors or are refused with NO_HOST, the host comes back, writes resume, and every
# acknowledged write is in the table. Slow tier: it briefly cuts every client of the shared stack.
set -euo pipefail
src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
exec "${RTETL_VENV_DIR:-$src/.venv}/bin/python" "$src/tests/integration/cql_outage.py"
