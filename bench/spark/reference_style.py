"""Spark baseline 2: the reference job's own style of sink.

Same Kafka source, schema and filter as stream_to_cassandra.py, but each micro-batch is collected
to the driver and its rows are inserted one at a time with the Python cassandra-driver
(session.execute of a parameterized INSERT, synchronous), as the reference real-time-etl-stack
job does. This is the baseline the project replaces; the connector baseline is the stronger one.

Measurement hooks as in stream_to_cassandra.py: --progress-file (rows per finished batch, end
time taken after the last insert returned) and --latency-file (per record, that end time minus
the record's Kafka timestamp). The timestamps ride along in the collected rows, so the hooks add
no Spark job.
"""

import sys
import time

from common import FIELDS, Progress, add_listener, kafka_records, parse_args, run_until_stopped, spark_session


def main():
    args = parse_args(__doc__.splitlines()[0])
    from cassandra.cluster import Cluster

    cluster = Cluster([args.cassandra_host], port=args.cassandra_port)
    session = cluster.connect()
    insert = "INSERT INTO %s.%s (%s) VALUES (%s)" % (
        args.keyspace, args.table, ", ".join(FIELDS), ", ".join(["%s"] * len(FIELDS)))

    spark = spark_session(args, "rtetl-bench-spark-reference-style")
    progress = Progress(args)

    def write_batch(df, batch_id):
        rows = df.collect()
        if not rows:
            return
        for r in rows:
            session.execute(insert, tuple(r[f] for f in FIELDS))
        t_end = time.time()
        ts = [r["kafka_ts"].timestamp() for r in rows] if args.latency_file else None
        progress.batch_done(batch_id, len(rows), t_end, ts)

    add_listener(spark, progress, count_batches=False)
    query = (kafka_records(spark, args).writeStream
             .foreachBatch(write_batch)
             .option("checkpointLocation", args.checkpoint)
             .start())
    try:
        run_until_stopped(query)
    finally:
        cluster.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
