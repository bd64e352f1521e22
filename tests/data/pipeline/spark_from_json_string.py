"""Regenerates spark_from_json_string.tsv: what Spark's from_json stores for tricky inputs.

Spark is the reference system (a Structured Streaming job reading Kafka JSON values with
from_json and the 12 StringType fields of the reference schema). Each case is a message, the
field to look at, and what rtetl is meant to do with it; this script runs Spark over the
messages and writes the table that tests/unit/test_pipeline_decode.c checks rtetl against.

Needs pyspark (and a JDK) in a throwaway virtualenv outside the repository, e.g.
    python3 -m venv /tmp/spark-venv && /tmp/spark-venv/bin/pip install pyspark==3.5.7
    /tmp/spark-venv/bin/python tests/data/pipeline/spark_from_json_string.py > out.tsv
The table was recorded with Spark 3.5.7 on Java 17.

Columns (tab-separated; bytes below 0x20, 0x7F and '%' are written %HH):
  message   the Kafka value, as bytes
  field     the schema field compared
  spark     the field's value in Spark's row; %N null, %ROW when from_json returned null,
            %ALL when every field of the row was null (the parser gave up on the record)
  rtetl     '=' when rtetl stores what Spark stores; a dead-letter reason when rtetl rejects
            the record (see the README's conformance table); '>' and the text rtetl stores
            when it differs from this Spark on purpose: Java 17's Double.toString sometimes
            prints more digits than needed, rtetl prints the shortest, as Java 19+ does.
"""
import sys

FIELDS = ["id", "first_name", "last_name", "gender", "address", "post_code", "email",
          "username", "dob", "registered_date", "phone", "picture"]

# (value of post_code, rtetl) in {"id":"k<n>","post_code":<value>}
VALUES = [
    (b'58378', '='), (b'0', '='), (b'-0', '='), (b'-1', '='), (b'2147483647', '='),
    (b'2147483648', '='), (b'9223372036854775807', '='), (b'9223372036854775808', '='),
    (b'-9223372036854775808', '='), (b'-9223372036854775809', '='),
    (b'123456789012345678901234567890', '='), (b'-123456789012345678901234567890', '='),
    (b'1.50', '='), (b'1e3', '='), (b'1E10', '='), (b'1e-5', '='), (b'0.1', '='), (b'1e-3', '='),
    (b'0.001', '='), (b'0.0001', '='), (b'9999999.0', '='), (b'1e7', '='), (b'10000000.0', '='),
    (b'123456789.123', '='), (b'-0.0', '='), (b'0.0', '='), (b'0e0', '='), (b'-0e0', '='),
    (b'1.7976931348623157e308', '='), (b'1e309', '='), (b'-1e309', '='), (b'5e-324', '='),
    (b'4.9e-324', '='), (b'2e-324', '='), (b'1e-400', '='), (b'-1e-400', '='), (b'100.0', '='),
    (b'1.0', '='), (b'2.5E+2', '='), (b'2e23', '>2.0E23'), (b'1e23', '>1.0E23'),
    (b'8.41e21', '>8.41E21'), (b'5e-5', '='), (b'1234567.0', '='), (b'12345678.0', '='),
    (b'0.30000000000000004', '='), (b'0.1e1', '='), (b'1.0E-3', '='),
    (b'9.999999999999999e22', '>1.0E23'), (b'4.35', '='), (b'2.0E-3', '='), (b'1.001', '='),
    (b'3.141592653589793', '='), (b'100.0e-2', '='), (b'1.2345678901234567890123', '='),
    (b'123456789012345678901234567890.0', '='), (b'2.2250738585072014E-308', '='),
    (b'2.225073858507201E-308', '='), (b'9007199254740993', '='), (b'9007199254740993.0', '='),
    (b'0.000999', '='), (b'9999999.999', '='), (b'1e22', '='), (b'1e21', '='), (b'5.0E-324', '='),
    (b'1.0E7', '='), (b'9.999999e6', '='), (b'-1.5e-7', '='), (b'6.02214076e23', '='),
    (b'1e0', '='), (b'1E+0', '='), (b'1e-0', '='), (b'2.0', '='), (b'0.5', '='), (b'1e-1', '='),
    (b'1e-2', '='), (b'1e6', '='), (b'123e-20', '='), (b'8.5e-3', '='), (b'-0.0e-0', '='),
    (b'true', '='), (b'false', '='), (b'null', '='),
    (b'{}', '='), (b'[]', '='), (b'{"k": [1, 2]}', '='), (b'{ "k" : [ 1 , 2 ] , "m" : { } }', '='),
    (b'[1.50, 1e3, -0, 1E10, {"a": 1.0}]', '='), (b'{"a":1,"a":2}', '='), (b'{"a":null}', '='),
    (b'[true,false,null]', '='),
    (b'{"s":"a\\"b\\\\c\\/d\\u0001\\u001f\\u007f \\u00e9 \\ud83d\\ude00 \\b\\f\\n\\r\\t"}', '='),
    (b'{"a\\nb": 1, "\\u00e9": "\\u2028"}', '='), ('{"k":"é日本😀"}'.encode(), '='),
    ('{"😀":"x"}'.encode(), '='), (b'["\\u0000", "\\u000b", "\\u001F"]', '='),
    (b'[[[["deep"]]]]', '='), (b'{"n":{"m":{"o":[]}}}', '='), (b'[1e309]', '='),
    (b'{"x":-0.0}', '='), (b'["a/b", "\\/"]', '='), (b'\n[\t1\r, 2 ]\n', '='),
    (b'[' * 510 + b']' * 510, '='),
    # unquoted non-finite numbers: a Jackson extension that Spark allows
    (b'NaN', 'malformed_json'), (b'Infinity', 'malformed_json'), (b'-Infinity', 'malformed_json'),
    (b'+Infinity', 'malformed_json'), (b'+INF', 'malformed_json'), (b'-INF', 'malformed_json'),
    (b'[NaN]', 'malformed_json'),
    # strings, for comparison
    (b'"01234-567"', '='), (b'""', '='), (b'"a\\u0000b"', '='), (b'"\\ud83d\\ude00 \\u00e9"', '='),
]

# (message, field, rtetl)
MESSAGES = [
    (b'{"id":"ref","first_name":"Ana","last_name":"Silva","gender":"female","address":"1 Rua A",'
     b'"post_code":58378,"email":"ana@example.com","username":"u","dob":"1990-01-01T00:00:00Z",'
     b'"registered_date":"2015-05-05T00:00:00Z","phone":"(11) 1234-5678","picture":"p.jpg"}',
     'post_code', '='),
    (b'{"id":"dup1","post_code":"1","post_code":"2"}', 'post_code', '='),
    (b'{"id":"dup2","post_code":"1","post_code":null}', 'post_code', '='),
    (b'{"id":"dup3","post_code":1,"post_code":"x"}', 'post_code', '='),
    (b'{"id":"dup4","post_code":"x","post_code":{"a": 1}}', 'post_code', '='),
    (b'{"id":"dup5","id":"dup5b"}', 'id', '='),
    (b'{"id":"dup6","post_code":"x","id":7}', 'id', '='),
    (b'{"id":"miss"}', 'post_code', '='),
    (b'{"id":"nested_id","x":{"id":"inner","post_code":1}}', 'post_code', '='),
    (b'{"id":"esc_key","post_\\u0063ode":5}', 'post_code', '='),
    (b"{'id':'sq1','post_code':'x'}", 'id', 'malformed_json'),
    (b'{"id":"sq2","post_code":\'x\'}', 'post_code', 'malformed_json'),
    (b'', 'id', 'empty'),
    (b'   ', 'id', 'empty'),
    (b'null', 'id', 'not_object'),
    (b'[]', 'id', 'not_object'),
    (b'[{"id":"arr1"}]', 'id', 'not_object'),
    (b'42', 'id', 'not_object'),
    (b'"str"', 'id', 'not_object'),
    (b'\xef\xbb\xbf{"id":"bom","post_code":"x"}', 'id', 'malformed_json'),
    (b'{"id":"badutf8","post_code":"a\xc3\x28b"}', 'post_code', 'invalid_utf8'),
    (b'{"id":"badutf8b","post_code":"a\xffb"}', 'post_code', 'invalid_utf8'),
    (b'{"id":"badutf8c","post_code":{"a":"\xed\xa0\x80"}}', 'post_code', 'invalid_utf8'),
    (b'{"id":"esc1","post_code":"\\x41"}', 'post_code', 'invalid_escape'),
    (b'{"id":"esc2","post_code":"\\ud800"}', 'post_code', 'invalid_escape'),
    (b'{"id":"esc3","post_code":"\\udc00x"}', 'post_code', 'invalid_escape'),
    (b'{"id":"esc4","post_code":"\\\'"}', 'post_code', 'invalid_escape'),
    (b'{"id":"esc5","post_code":["\\ud800"]}', 'post_code', 'invalid_escape'),
    (b'{"id":"ctl","post_code":"a\tb"}', 'post_code', 'malformed_json'),
    (b'{"id":"trail","post_code":"x"} x', 'post_code', 'trailing_data'),
    (b'{"id":"trail2","post_code":"x"}{}', 'post_code', 'trailing_data'),
    (b'{"id":"trunc","post_code":"x"', 'post_code', 'malformed_json'),
    (b'{"id":"trunc2","post_code":[1,', 'post_code', 'malformed_json'),
    (b'{"id":"unq",post_code:"x"}', 'post_code', 'malformed_json'),
    (b'{"id":"lead0","post_code":01}', 'post_code', 'malformed_json'),
    (b'{"id":"comma","post_code":"x",}', 'post_code', 'malformed_json'),
    (b'{"id":"comma2","post_code":[1,]}', 'post_code', 'malformed_json'),
    (b'{"id":"deep511","post_code":' + b'[' * 511 + b']' * 511 + b'}', 'post_code', '='),
    (b'{"id":"deep512","post_code":' + b'[' * 512 + b']' * 512 + b'}', 'post_code', 'too_deep'),
    (b'{"id":"deep600","post_code":' + b'[' * 600 + b']' * 600 + b'}', 'post_code', 'too_deep'),
    (b'{"id":"deep1100","post_code":' + b'[' * 1100 + b']' * 1100 + b'}', 'post_code',
     'too_deep'),
    (b'{"id":"deepother","x":' + b'[' * 600 + b']' * 600 + b'}', 'id', 'too_deep'),
    (b'{"id":"long","post_code":' + b'1' * 1001 + b'}', 'post_code', 'number_out_of_range'),
    (b'{"id":"long1000","post_code":' + b'1' * 1000 + b'}', 'post_code', '='),
    (b'{"id":"long_nested","post_code":[' + b'1' * 1001 + b']}', 'post_code',
     'number_out_of_range'),
    (b'{"id":"comment"/*c*/,"post_code":"x"}', 'id', 'malformed_json'),
    (b'{"id":"plus","post_code":+1}', 'post_code', 'malformed_json'),
    (b'{"id":"hexnum","post_code":0x10}', 'post_code', 'malformed_json'),
    (b'{"id":"dotnum","post_code":.5}', 'post_code', 'malformed_json'),
    (b'{"id":"num","post_code":1.}', 'post_code', 'malformed_json'),
]


def cases():
    out = [(b'{"id":"k%d","post_code":%s}' % (i, v), 'post_code', r)
           for i, (v, r) in enumerate(VALUES)]
    return out + MESSAGES


def enc(s):
    """A value as text, %-escaping control characters, DEL and '%'."""
    return ''.join('%%%02X' % ord(c) if ord(c) < 0x20 or c in '\x7f%' else c for c in s)


def main():
    from pyspark.sql import SparkSession
    from pyspark.sql.functions import col, from_json
    from pyspark.sql.types import StringType, StructField, StructType
    schema = StructType([StructField(f, StringType()) for f in FIELDS])
    spark = (SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    jvm = spark.sparkContext._jvm
    cs = cases()
    # Binary cast to string, as the reference job reads Kafka's value column.
    df = spark.createDataFrame([(i, bytearray(m)) for i, (m, _, _) in enumerate(cs)],
                               "i int, value binary")
    rows = df.select("i", from_json(col("value").cast("string"), schema).alias("v")) \
             .orderBy("i").collect()
    out = sys.stdout.buffer
    out.write(("# Spark %s, Java %s: from_json with the reference schema (12 StringType fields).\n"
               "# Made by spark_from_json_string.py (which documents the columns); checked by\n"
               "# tests/unit/test_pipeline_decode.c.\n"
               % (spark.version, jvm.java.lang.System.getProperty("java.version"))).encode())
    for r in rows:
        m, field, want = cs[r.i]
        if r.v is None:
            spark_text = '%ROW'
        elif all(r.v[f] is None for f in FIELDS):
            spark_text = '%ALL'
        elif r.v[field] is None:
            spark_text = '%N'
        else:
            spark_text = enc(r.v[field])
        line = b'\t'.join([pct_bytes(m), field.encode(), spark_text.encode('utf-8'),
                           want.encode('utf-8')])
        out.write(line + b'\n')
    spark.stop()


def pct_bytes(b):
    """The message column keeps its raw bytes (invalid UTF-8 included), %-escaping only control
    bytes, DEL and '%'."""
    return b''.join(b'%%%02X' % c if c < 0x20 or c == 0x7F or c == 0x25 else bytes([c])
                    for c in b)


if __name__ == "__main__":
    main()
