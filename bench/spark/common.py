"""Shared pieces of the two Spark baselines: arguments, the session, the Kafka source, progress.

The baselines are what a Spark user would write for the reference job (Kafka topic of JSON
randomuser records -> Cassandra table with 12 text columns), run on one machine with local[2].
They are started by bench/run (bench/lib/bench.py), which passes the connector jars it fetched
with Maven (no --packages: Ivy would go to the internet) and watches the progress file this
module writes at the end of every micro-batch.
"""

import argparse
import json
import os
import threading
import time
from datetime import datetime, timezone

# The reference job's record: 12 string fields, id is the primary key.
FIELDS = [
    "id", "first_name", "last_name", "gender", "address", "post_code",
    "email", "username", "dob", "registered_date", "phone", "picture",
]


def parse_args(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--brokers", default="127.0.0.1:9092")
    p.add_argument("--topic", required=True)
    p.add_argument("--starting-offsets", default="earliest")
    p.add_argument("--cassandra-host", default="127.0.0.1")
    p.add_argument("--cassandra-port", type=int, default=9042)
    p.add_argument("--keyspace", required=True)
    p.add_argument("--table", default="tb_usuarios")
    p.add_argument("--checkpoint", required=True, help="checkpoint directory (a fresh one per run)")
    p.add_argument("--jars", default=os.environ.get("BENCH_SPARK_JARS", ""),
                   help="comma-separated jars for spark.jars (Kafka source, Cassandra connector)")
    p.add_argument("--master", default="local[2]")
    p.add_argument("--driver-memory", default="",
                   help="spark.driver.memory (local mode: the one JVM's heap) [Spark's default, 1g]")
    p.add_argument("--max-offsets-per-trigger", type=int, default=0,
                   help="0: Spark's default (each micro-batch takes everything available)")
    p.add_argument("--conf", action="append", default=[], metavar="K=V",
                   help="a Spark (or connector) setting for the session, e.g. "
                        "spark.cassandra.output.concurrent.writes=64 (repeatable)")
    p.add_argument("--progress-file", help="append one JSON line per finished micro-batch")
    p.add_argument("--latency-file",
                   help="write one line per record: end of its micro-batch minus its Kafka "
                        "timestamp, in milliseconds")
    return p.parse_args()


def spark_session(args, app_name, extra_conf=None):
    """The session, configured for local mode with the jars given on the command line.

    Everything that must be set before the JVM starts (jars, driver memory) goes through the
    builder, which pyspark turns into spark-submit arguments; Spark 3.5's launcher adds the
    --add-opens flags that Java 17 needs by itself.
    """
    from pyspark.sql import SparkSession

    b = (SparkSession.builder.appName(app_name)
         .master(args.master)
         .config("spark.sql.shuffle.partitions", "2")
         .config("spark.ui.enabled", "false")
         .config("spark.ui.showConsoleProgress", "false")
         .config("spark.sql.streaming.metricsEnabled", "false"))
    if args.driver_memory:
        b = b.config("spark.driver.memory", args.driver_memory)
    if args.jars:
        b = b.config("spark.jars", args.jars)
    conf = dict(extra_conf or {})
    conf.update(kv.split("=", 1) for kv in args.conf)  # the command line's --conf wins
    for k, v in conf.items():
        b = b.config(k, v)
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def kafka_records(spark, args):
    """The topic as a streaming DataFrame of the 12 fields plus the Kafka timestamp (`kafka_ts`),
    keeping records whose email contains '@', as the reference job does."""
    from pyspark.sql.functions import col, from_json
    from pyspark.sql.types import StringType, StructField, StructType

    schema = StructType([StructField(f, StringType(), True) for f in FIELDS])
    reader = (spark.readStream.format("kafka")
              .option("kafka.bootstrap.servers", args.brokers)
              .option("subscribe", args.topic)
              .option("startingOffsets", args.starting_offsets)
              .option("failOnDataLoss", "false"))
    if args.max_offsets_per_trigger > 0:
        reader = reader.option("maxOffsetsPerTrigger", args.max_offsets_per_trigger)
    raw = reader.load()
    parsed = raw.select(from_json(col("value").cast("string"), schema).alias("r"),
                        col("timestamp").alias("kafka_ts"))
    return parsed.select("r.*", "kafka_ts").filter(col("email").contains("@"))


class Progress:
    """Appends one JSON line per finished micro-batch to the progress file (the harness reads
    it to know when all records are written), and the per-record latencies to the latency file.
    Both are written by the driver after the batch's writes returned, so they cost the
    contender no Spark job."""

    def __init__(self, args):
        self.path = args.progress_file
        self.lat_path = args.latency_file
        self.total = 0
        self.lock = threading.Lock()
        if self.lat_path:
            open(self.lat_path, "w").close()

    def event(self, name):
        """A one-off marker line, e.g. {"event": "ready"} once the query waits for data."""
        if self.path:
            with self.lock, open(self.path, "a") as f:
                f.write(json.dumps({"event": name, "t": time.time()}) + "\n")

    def batch_done(self, batch_id, rows, t_end, kafka_ts_seconds=None, offsets=None):
        with self.lock:
            self.total += rows
            if self.lat_path and kafka_ts_seconds:
                with open(self.lat_path, "a") as f:
                    f.write("".join("%.3f\n" % ((t_end - ts) * 1000.0) for ts in kafka_ts_seconds))
            if self.path:
                line = {"batch": batch_id, "rows": rows, "total": self.total, "t_end": t_end}
                if offsets:
                    line["offsets"] = offsets
                with open(self.path, "a") as f:
                    f.write(json.dumps(line) + "\n")

    def write_end(self, batch_id, t):
        """Latency mode of the connector baseline: when the batch's write returned (JSON line)."""
        if self.lat_path:
            with self.lock, open(self.lat_path, "a") as f:
                f.write(json.dumps({"batch": batch_id, "t_write_end": t}) + "\n")


def iso_seconds(ts):
    """Spark's progress timestamp ('2024-01-01T00:00:00.123Z') as epoch seconds."""
    return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def _json_or_none(s):
    try:
        return json.loads(s) if s else None
    except ValueError:
        return None


def add_listener(spark, progress, count_batches):
    """Reports to `progress` from Spark's own query events, which cost the query nothing:
    "ready" the first time the query is idle (it has asked Kafka for offsets and found no new
    data) or has finished a batch, and, when count_batches, each finished batch's input rows with
    its end time (batch start + triggerExecution) and its Kafka offset range per partition."""
    from pyspark.sql.streaming import StreamingQueryListener

    class Listener(StreamingQueryListener):
        ready = False

        def _ready(self):
            if not self.ready:
                self.ready = True
                progress.event("ready")

        def onQueryStarted(self, event):
            pass

        def onQueryProgress(self, event):
            p = event.progress
            if count_batches and p.numInputRows:
                t_end = iso_seconds(p.timestamp) + p.durationMs.get("triggerExecution", 0) / 1e3
                offsets = None
                if p.sources:
                    src = p.sources[0]
                    offsets = {"start": _json_or_none(src.startOffset),
                               "end": _json_or_none(src.endOffset)}
                progress.batch_done(p.batchId, p.numInputRows, t_end, offsets=offsets)
            self._ready()

        def onQueryIdle(self, event):
            self._ready()

        def onQueryTerminated(self, event):
            pass

    spark.streams.addListener(Listener())


def run_until_stopped(query):
    """Blocks until the query stops (the harness ends the process with SIGTERM when the table is
    complete); a query that fails raises here, so the process exits non-zero."""
    try:
        query.awaitTermination()
    except KeyboardInterrupt:
        pass
    finally:
        time.sleep(0)
