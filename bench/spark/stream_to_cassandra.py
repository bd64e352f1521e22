"""Spark baseline 1: Kafka -> Cassandra the way a competent Spark user writes it.

Structured Streaming, local[2], default trigger: the Kafka source (spark-sql-kafka-0-10) from the
earliest offset, from_json with the 12-string-field schema, the filter email contains '@', and
each micro-batch appended to the table by the DataStax Spark Cassandra Connector
(df.write.format("org.apache.spark.sql.cassandra")) inside foreachBatch. The connector's defaults
are kept (async writes, unlogged batches grouped by partition key, 5 concurrent writes per task).

Measurement hooks, for bench/run:
  --progress-file  one JSON line per finished micro-batch (rows, running total, end time), from
                   Spark's own query progress: costs the query nothing.
  --latency-file   per record, end of its micro-batch minus its Kafka timestamp (ms). This needs
                   the batch's timestamps on the driver, so in this mode the batch is cached, the
                   write runs, the end time is taken, and then the cached timestamps are
                   collected (a small job after the write, before the next batch).

Run by hand (jars as bench/run fetches them into bench/.work/jars):
  bench/.work/spark-venv/bin/python bench/spark/stream_to_cassandra.py --topic T --keyspace K \
      --checkpoint /tmp/ck --jars "$(bench/lib/spark-jars)"
The keyspace and table must exist (bench/run creates them).
"""

import sys
import time

from common import Progress, add_listener, kafka_records, parse_args, run_until_stopped, spark_session


def main():
    args = parse_args(__doc__.splitlines()[0])
    spark = spark_session(args, "rtetl-bench-spark-connector", {
        "spark.sql.extensions": "com.datastax.spark.connector.CassandraSparkExtensions",
        "spark.cassandra.connection.host": args.cassandra_host,
        "spark.cassandra.connection.port": str(args.cassandra_port),
    })
    progress = Progress(args)

    def write_batch(df, batch_id):
        rows = df.drop("kafka_ts")
        if args.latency_file:
            df.persist()
        (rows.write.format("org.apache.spark.sql.cassandra")
         .mode("append")
         .options(keyspace=args.keyspace, table=args.table)
         .save())
        if args.latency_file:
            t_end = time.time()
            ts = [r[0] for r in df.selectExpr("cast(kafka_ts as double)").collect()]
            df.unpersist()
            progress.batch_done(batch_id, len(ts), t_end, ts)

    # Throughput mode: rows and end times come from Spark's progress events; latency mode:
    # from write_batch above (which then knows each record's timestamp).
    add_listener(spark, progress, count_batches=not args.latency_file)

    query = (kafka_records(spark, args).writeStream
             .foreachBatch(write_batch)
             .option("checkpointLocation", args.checkpoint)
             .start())
    run_until_stopped(query)
    return 0


if __name__ == "__main__":
    sys.exit(main())
