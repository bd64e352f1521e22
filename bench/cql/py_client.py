"""The Python contender of bench/cql/run: N prepared inserts of the reference row with the official
DataStax/Apache Python driver's execute_concurrent_with_args (the driver's own bulk-write helper).

Usage: py_client.py HOST PORT KEYSPACE TABLE ROWS POOL_TSV CONCURRENCY
Same protocol as cql_bench --handshake: READY (connected, prepared) / a line on stdin / inserts /
DONE + a result line / waits for stdin to close. Row i is POOL_TSV line i % lines with a fresh
random 32-hex id, like the other contenders. Protocol v4, LOCAL_ONE: the same as theirs."""
import logging
import sys
import time
from random import getrandbits

logging.disable(logging.WARNING)

import cassandra  # noqa: E402
from cassandra import ConsistencyLevel  # noqa: E402
from cassandra.cluster import Cluster  # noqa: E402
from cassandra.concurrent import execute_concurrent_with_args  # noqa: E402

COLUMNS = ["id", "first_name", "last_name", "gender", "address", "post_code", "email",
           "username", "dob", "registered_date", "phone", "picture"]


def main():
    host, port, ks, table, rows, pool_file, conc = sys.argv[1:8]
    protocol = int(sys.argv[8]) if len(sys.argv) > 8 else 4
    rows, conc = int(rows), int(conc)
    with open(pool_file, encoding="utf-8") as f:
        pool = [tuple(line.rstrip("\n").split("\t")) for line in f]
    cluster = Cluster([host], port=int(port), protocol_version=protocol, connect_timeout=30)
    session = cluster.connect()
    session.default_timeout = 30
    ps = session.prepare("INSERT INTO %s.%s (%s) VALUES (%s)" % (
        ks, table, ", ".join(COLUMNS), ", ".join("?" * len(COLUMNS))))
    ps.consistency_level = ConsistencyLevel.LOCAL_ONE
    print("READY", flush=True)
    sys.stdin.readline()
    npool = len(pool)
    params = (("%032x" % getrandbits(128),) + pool[i % npool] for i in range(rows))
    t0 = time.monotonic()
    ok = failed = 0
    last = ""
    for success, result in execute_concurrent_with_args(
            session, ps, params, concurrency=conc, raise_on_first_error=False,
            results_generator=True):
        if success:
            ok += 1
        else:
            failed += 1
            last = repr(result)
    secs = time.monotonic() - t0
    print("DONE", flush=True)
    print("rows=%d seconds=%.3f rows_per_s=%.0f errors=%d driver=cassandra-driver-%s "
          "connection=%s protocol=v%d" % (ok, secs, ok / secs, failed, cassandra.__version__,
                                          cluster.connection_class.__name__,
                                          cluster.protocol_version), flush=True)
    if failed:
        print("py_client: %d failed; last: %s" % (failed, last), file=sys.stderr)
    sys.stdin.readline()
    cluster.shutdown()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
