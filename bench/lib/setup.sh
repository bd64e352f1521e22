# Sourced by bench/run: makes the benchmark's Python venv and fetches the Spark connector jars.
# Everything lands in bench/.work/ (git-ignored); both steps are idempotent (marker files).
#
# The venv (bench/.work/spark-venv) holds pyspark 3.5.x (the reference job's Spark line; its
# wheel carries Spark's jars and launcher), the Python cassandra-driver (reference-style sink and
# the harness's table checks), psutil and matplotlib (the chart).
#
# The jars come from Maven Central with Maven itself (a generated pom, dependency:copy-
# dependencies), never with --packages/Ivy. Facts checked on this machine (Central as reached
# here, 2026-11): spark-sql-kafka-0-10_2.12 exists for 3.5.0/3.5.1/3.5.3/3.5.7 only (not 3.5.9),
# so pyspark is pinned to 3.5.7 to match it; spark-cassandra-connector-assembly_2.12 stops at
# 3.2.0, so the connector is the plain spark-cassandra-connector_2.12:3.5.1 plus its
# dependencies (java-driver-core-shaded 4.18.1 and friends), which is what the assembly bundles.
# Jars that pyspark already ships (scala-library, hadoop-client, slf4j, lz4, snappy, ...) are
# left out of spark.jars by artifact name, so Spark's own copies win and nothing is loaded twice.

BENCH_SPARK_VERSION="${BENCH_SPARK_VERSION:-3.5.7}"
BENCH_SCC_VERSION="${BENCH_SCC_VERSION:-3.5.1}"
BENCH_VENV="$BENCH_WORK/spark-venv"
BENCH_JARS_DIR="$BENCH_WORK/jars"
BENCH_PY_REQS=(
  "pyspark==$BENCH_SPARK_VERSION"
  "cassandra-driver==3.30.1"
  "psutil==7.2.2"
  "matplotlib==3.10.*"
)

bench_find_java17() {
  # As scripts/stack does: the first Java whose specification version is 17 (Spark 3.5 runs on
  # 8/11/17; the Temurin 25 on this image cannot run it).
  local c v cands=()
  [ -n "${RTETL_JAVA:-}" ] && cands+=("$RTETL_JAVA")
  [ -n "${JAVA_HOME:-}" ] && cands+=("$JAVA_HOME/bin/java")
  command -v java >/dev/null 2>&1 && cands+=("$(command -v java)")
  for c in /usr/lib/jvm/*17*/bin/java /usr/lib/jvm/*/bin/java; do [ -x "$c" ] && cands+=("$c"); done
  for c in "${cands[@]}"; do
    [ -x "$c" ] || continue
    v="$("$c" -XshowSettings:properties -version 2>&1 |
      awk -F' = ' '/java.specification.version/ { print $2; exit }')"
    if [ "$v" = 17 ]; then
      # JAVA_HOME is the directory above bin/ of the real binary (not a /usr/bin symlink).
      BENCH_JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$c")")")"
      return 0
    fi
  done
  echo "bench: no JDK 17 found (apt-get install openjdk-17-jdk-headless or set RTETL_JAVA)" >&2
  return 1
}

bench_ensure_venv() {
  local marker="$BENCH_VENV/.bench-venv-ok" want
  want="$(printf '%s\n' "${BENCH_PY_REQS[@]}")"
  if [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ]; then return 0; fi
  echo "bench: creating $BENCH_VENV (pyspark is a ~320 MB download; a few minutes the first time)" >&2
  [ -x "$BENCH_VENV/bin/python" ] || python3 -m venv "$BENCH_VENV" >&2
  CASS_DRIVER_NO_CYTHON=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
    "$BENCH_VENV/bin/python" -m pip install -q --prefer-binary "${BENCH_PY_REQS[@]}" >&2
  printf '%s' "$want" >"$marker"
}

bench_ensure_jars() {
  local marker="$BENCH_JARS_DIR/.bench-jars-ok" want pom="$BENCH_WORK/jars-pom"
  want="spark-sql-kafka-0-10_2.12:$BENCH_SPARK_VERSION spark-cassandra-connector_2.12:$BENCH_SCC_VERSION"
  if [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ]; then return 0; fi
  echo "bench: fetching the Kafka source and Cassandra connector jars with Maven" >&2
  rm -rf "$BENCH_JARS_DIR" && mkdir -p "$pom" "$BENCH_JARS_DIR"
  cat >"$pom/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>rtetl.bench</groupId><artifactId>spark-jars</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.spark</groupId><artifactId>spark-sql-kafka-0-10_2.12</artifactId><version>$BENCH_SPARK_VERSION</version></dependency>
    <dependency><groupId>com.datastax.spark</groupId><artifactId>spark-cassandra-connector_2.12</artifactId><version>$BENCH_SCC_VERSION</version></dependency>
  </dependencies>
</project>
EOF
  (cd "$pom" && mvn -B -q ${RTETL_MVN_ARGS:-} dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$BENCH_JARS_DIR") >&2
  printf '%s' "$want" >"$marker"
}

# Prints the comma-separated spark.jars list: the fetched jars whose artifact pyspark does not
# already ship (compared by file name without the version).
bench_spark_jars() {
  local pyjars have j base list=""
  pyjars="$("$BENCH_VENV/bin/python" -c 'import os, pyspark; print(os.path.join(os.path.dirname(pyspark.__file__), "jars"))')"
  # Names computed once, matched without a pipe into `grep -q` (under pipefail, the SIGPIPE of
  # the writer when grep exits early would read as "not found").
  have=" $(for j in "$pyjars"/*.jar; do bench_jar_base "$j"; done | tr '\n' ' ') "
  for j in "$BENCH_JARS_DIR"/*.jar; do
    base="$(bench_jar_base "$j")"
    case "$have" in *" $base "*) continue ;; esac
    list="${list:+$list,}$j"
  done
  printf '%s\n' "$list"
}

# The artifact name of a jar file: hadoop-client-api-3.3.4.jar -> hadoop-client-api.
bench_jar_base() {
  basename "$1" | sed -E 's/-[0-9][^-]*(-[a-zA-Z][^-]*)*\.jar$//'
}
