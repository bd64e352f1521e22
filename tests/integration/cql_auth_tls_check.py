"""Cross-check for cql_auth_tls_test.sh: the official Python driver, over TLS (an ssl_context
that trusts only the test CA and checks the host name) and with a password, reads what rtetl's
client wrote.
Usage: cql_auth_tls_check.py PORT CA_FILE KEYSPACE ROWS [STREAM_KEYSPACE STREAM_ROWS]
Env CQL_CERT_FILE, CQL_KEY_FILE: the client certificate and key (the server requires one).
Checks table t (ROWS rows from `cql_auth_tls_driver write`: id, n, payload with the driver's
size and byte pattern) and table cli (one row written by `rtetl cql --tls`); with
STREAM_KEYSPACE, that its tb_usuarios holds STREAM_ROWS rows written by `rtetl stream` (each
with an id and an email). Prints PASS/FAIL lines; exits 1 on any failure."""
import logging
import os
import ssl
import sys
import warnings

logging.disable(logging.CRITICAL)
warnings.filterwarnings("ignore")

from cassandra.auth import PlainTextAuthProvider  # noqa: E402
from cassandra.cluster import Cluster  # noqa: E402

port, ca_file, ks, rows = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
stream_ks, stream_rows = (sys.argv[5], int(sys.argv[6])) if len(sys.argv) > 6 else (None, 0)
failures = 0


def check(name, expected, actual):
    global failures
    if expected == actual:
        print(f"PASS python: {name}", flush=True)
    else:
        failures += 1
        print(f"FAIL python: {name}: expected {expected!r:.200} got {actual!r:.200}", flush=True)


def blob(i):
    """cql_auth_tls_driver.c's blob_size and fill_blob; the pattern repeats every 256 bytes."""
    size = 1 << 20 if i % 25 == 7 else (i * 7919) % 40000
    period = bytes((i * 31 + j * 7) & 0xFF for j in range(256))
    return (period * (size // 256 + 1))[:size]


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies the chain and the host name
ctx.load_verify_locations(ca_file)
if os.environ.get("CQL_CERT_FILE"):
    ctx.load_cert_chain(os.environ["CQL_CERT_FILE"], os.environ.get("CQL_KEY_FILE"))
cluster = Cluster(["127.0.0.1"], port=port, ssl_context=ctx,
                  ssl_options={"server_hostname": "127.0.0.1"},
                  auth_provider=PlainTextAuthProvider("cassandra", "cassandra"),
                  connect_timeout=20, control_connection_timeout=20)
try:
    session = cluster.connect(ks)
    session.default_timeout = 60
    session.default_fetch_size = 20
    got = {}
    for r in session.execute("SELECT id, n, payload FROM t"):
        got[r.n] = (r.id, r.payload)
    check("row count of t", rows, len(got))
    bad = [n for n in range(rows)
           if got.get(n) != (f"row-{n:06d}", blob(n))]
    check("rows of t equal to what the C client wrote", [], bad[:5])
    check("row of cli written by rtetl cql --tls",
          [("k1", "written over TLS ✓")], [tuple(r) for r in session.execute("SELECT k, v FROM cli")])
    if stream_ks:
        srows = list(session.execute("SELECT id, email FROM %s.tb_usuarios" % stream_ks))
        check("rows written by rtetl stream over mutual TLS", stream_rows, len(srows))
        check("each of them with an id and an email", [],
              [r for r in srows if not r.id or "@" not in (r.email or "")][:3])
    # The server's view of this client's connections (the test runs no other client now).
    conns = [(r.ssl_enabled, r.username) for r in session.execute(
        "SELECT ssl_enabled, username FROM system_views.clients")]
    check("the server sees the Python connections as TLS, user cassandra",
          True, bool(conns) and all(c == (True, "cassandra") for c in conns))
except Exception as e:  # one line for the test's log
    failures += 1
    print(f"FAIL python: {type(e).__name__}: {e}", flush=True)
finally:
    cluster.shutdown()
sys.exit(1 if failures else 0)
