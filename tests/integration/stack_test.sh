#!/usr/bin/env bash
# Integration test of the local stack itself: a Kafka produce/consume round trip with kcat on a
# fresh topic, and CQL through the official Python driver (release_version 5.0.x, a write and a
# read in a fresh keyspace). Starts the stack if it is not up and stops it again only then.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap it_exit EXIT

stack_ensure_up
printf 'stack: kafka %s, cassandra %s:%s\n' "$KAFKA_BOOTSTRAP" "$CQL_HOST" "$CQL_PORT"

# Kafka: produce distinct messages (spaces, punctuation, UTF-8) to a new topic; the consumer
# must see exactly them, in order (one partition).
topic="$(unique_name stack)"
n=50
sent="$(for i in $(seq 1 "$n"); do printf 'msg %03d {"k": %d, "v": "héllo, wörld"} %s\n' "$i" "$i" "$topic"; done)"
assert_ok "kcat produced $n messages to $topic" kcat_produce "$topic" <<<"$sent"
got="$(kcat_consume "$topic" "$n" 60 || true)"
assert_eq "$sent" "$got" "kcat consumed the same $n messages from $topic"

# Cassandra: the server answers CQL and is the 5.0 line.
version="$(cql_py 'print(session.execute("SELECT release_version FROM system.local").one()[0])' || true)"
assert_match '^5\.0\.' "$version" "Cassandra release_version starts with 5.0. (got $version)"

# Cassandra: a write and a read back in a fresh keyspace, dropped again.
ks="$(unique_name stack)"
read -r -d '' kv_py <<'PY' || true
ks = args[0]
session.execute(f"CREATE KEYSPACE {ks} WITH replication = "
                "{'class': 'SimpleStrategy', 'replication_factor': 1}")
session.execute(f"CREATE TABLE {ks}.kv (k int PRIMARY KEY, v text)")
ins = session.prepare(f"INSERT INTO {ks}.kv (k, v) VALUES (?, ?)")
for i in range(1, 4):
    session.execute(ins, (i, f"v{i}"))
for row in sorted(session.execute(f"SELECT k, v FROM {ks}.kv")):
    print(f"{row.k}={row.v}")
session.execute(f"DROP KEYSPACE {ks}")
PY
rows="$(cql_py "$kv_py" "$ks" || true)"
assert_eq "$(printf '1=v1\n2=v2\n3=v3')" "$rows" "CQL write and read back in keyspace $ks"

test_finish
