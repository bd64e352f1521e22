"""Spark baseline 1: Kafka -> Cassandra the way a competent Spark user writes it.

Structured Streaming, local[2], default trigger: the Kafka source (spark-sql-kafka-0-10) from the
earliest offset, from_json with the 12-string-field schema, the filter email contains '@', and
each micro-batch appended to the table by the DataStax Spark Cassandra Connector
(df.write.format("org.apache.spark.sql.cassandra")) inside foreachBatch. The connector's defaults
are kept (async writes, unlogged batches grouped by partition key, 5 concurrent writes per task);
`--conf K=V` changes them (bench/run's spark-connector-tuned contender passes its tuned write
settings that way, and --max-offsets-per-trigger when asked).

Measurement hooks, for bench/run:
  --progress-file  one JSON line per finished micro-batch (rows, running total, end time, Kafka
                   offset range per partition), from Spark's own query progress events: costs
                   the query nothing.
  --latency-file   one JSON line per micro-batch: the time its write returned, taken in
                   foreachBatch. bench/run reads the Kafka timestamps of the records in the
                   batch's offset range from Kafka itself (kcat) and computes each record's
                   latency = that time - its timestamp. Nothing is added to the query (an
                   earlier version collected the batch's timestamps to the driver: a second
                   Spark job per batch, which cut Spark's sustainable rate to about the 1,000/s
                   being measured).

Run by hand (jars as bench/run fetches them into bench/.work/jars):
  bench/.work/spark-venv/bin/python bench/spark/stream_to_cassandra.py --topic T --keyspace K \
      --checkpoint /tmp/ck --jars "$(bench/run --spark-jars)"
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
        (df.drop("kafka_ts").write.format("org.apache.spark.sql.cassandra")
         .mode("append")
         .options(keyspace=args.keyspace, table=args.table)
         .save())
        progress.write_end(batch_id, time.time())

    # Rows, end times and offset ranges of the batches come from Spark's progress events.
    add_listener(spark, progress, count_batches=True)

    query = (kafka_records(spark, args).writeStream
             .foreachBatch(write_batch)
             .option("checkpointLocation", args.checkpoint)
             .start())
    run_until_stopped(query)
    return 0


if __name__ == "__main__":
    sys.exit(main())
