#!/usr/bin/env bash
# The live dashboard at / on rtetl stream's metrics port, loaded in headless Chromium while a
# producer writes: the numbers it shows move and equal /metrics; saves a screenshot
# (RTETL_DASHBOARD_PNG, else <build>/dashboard.png). About 40 s. Chromium comes from
# scripts/install-deps; the test is skipped (status 77) only when it cannot be installed.
set -euo pipefail
src="${RTETL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
if ! command -v chromium >/dev/null 2>&1; then
  echo "stream_dashboard: chromium is missing; trying scripts/install-deps" >&2
  "$src/scripts/install-deps" >&2 || true
  if ! command -v chromium >/dev/null 2>&1; then
    echo "SKIP: stream_dashboard: chromium is not installed and scripts/install-deps could not" \
      "install it (Debian package 'chromium')"
    exit 77
  fi
fi
exec "${RTETL_VENV_DIR:-$src/.venv}/bin/python" "$src/tests/integration/stream_dashboard.py"
