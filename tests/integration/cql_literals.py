"""Text for timestamp, date and time columns: what rtetl's parser (cql_value_from_text, used by
`rtetl stream` and `rtetl cql`) stores must be what Cassandra stores for the same CQL literal, and
text Cassandra refuses must be refused. The few forms where rtetl is deliberately stricter are
listed in STRICTER and must be refused by rtetl whatever Cassandra does with them."""
import os
import tempfile

from cql_testlib import check, driver, keyspace, python_session, run

TIMESTAMPS = [
    # offsets: +hhmm, +hh:mm, +hh, negative, zero, the +-18:00 bounds
    "2024-01-01T10:00:00+0530", "2024-01-01T10:00:00+05:30", "2024-01-01T10:00:00+05",
    "2024-01-01T10:00:00-0800", "2024-01-01 10:00:05-00", "2024-01-01 10:00:05+00:00",
    "2024-01-01 10:00:05+1800", "2024-01-01 10:00:05-12:00", "2024-01-01 10:00:05+1801",
    "2024-01-01 10:00:05+2400", "2024-01-01 10:00:05+0060", "2024-01-01 10:00:05+1",
    "2024-01-01 10:00:05+100", "2024-01-01 10:00:05+01:0", "2024-01-01 10:00:05+053",
    "2024-01-01 10:00:05+01:00:00",
    # date only, minutes, seconds, fractions of any length up to 9 digits
    "2024-01-01", "2024-01-01 10:00", "2024-01-01 10:00:05", "2024-01-01T10:00:05",
    "2024-01-01 10:00:05.1", "2024-01-01 10:00:05.12", "2024-01-01 10:00:05.123",
    "2024-01-01 10:00:05.1234", "2024-01-01 10:00:05.123456789Z", "2024-01-01 10:00:05.",
    "2024-01-01 10:00:05.1234567891", "2024-01-01 1:00", "2024-01-01 10:0", "2024-01-01 10:00:5",
    # zones: Z, after a space, UTC
    "2024-01-01T10:00Z", "2024-01-01Z", "2024-01-01+0100", "2024-01-01 +0100", "2024-01-01 Z",
    "2024-01-01 10:00:05.123+0100", "2024-01-01 10:00:05 +0100", "2024-01-01 10:00:05 Z",
    "2024-01-01 10:00:05 UTC", "2024-01-01 10:00:05.123 UTC", "2024-01-01 10:00:05 GMT",
    "2024-01-01T10:00:05.123 +0100", "2024-02-29 10:00 -03",
    # refused by Cassandra
    "2024-01-01T10:00:00+0530x", "2024-01-01 10:00:05z", "2024-01-01T10:00:05UTC",
    "2024-01-01 10:00:05GMT", "2024-01-01 10:00:05 utc", "2024-01-01T10:00:05  +0100",
    "2024-01-01T10:00:05+05:30Z", "2024-01-01T10:00:05Z+0100", "2024-1-1", "99-01-01",
    "10000-01-01", "+2024-01-01", "2024-01-01t10:00:05", "2024-01-01T10", " 2024-01-01",
    "2024-01-01 ", "2024-13-01", "2024-00-10", "2024-01-00", "2024-01-32",
    "2024-01-01 10:60:00", "2024-01-01 10:00:60", "2024-01-01 24:00:01", "2024-01-01 24:00:00.001",
    # hour 24 is the next midnight; years around 0; plain milliseconds
    "2024-01-01 24:00", "2024-01-01 24:00:00.000", "-0001-01-01", "0000-01-01", "-9999-01-01",
    "2024-02-29", "12345", "-5",
]
DATES = ["2024-01-01", "2024-02-29", "2023-02-29", "2024-04-31", "2024-1-1", "2024-01-01Z",
         "2024-01-01 ", "-0001-01-01", "0000-01-01", "0001-01-01", "10000-01-01", "+2024-01-01",
         "2147483648", "0", "-0", "12345", "4294967295", "4294967296", "-1", " 0",
         "2024-01-01T00:00"]
TIMES = ["10:00", "10:00:05", "10:00:05.1", "10:00:05.123456789", "10:00:05.1234567891",
         "24:00:00", "23:60:00", "23:59:60", "1:02:03", "1:2:3", "10:00:05Z", "10:00:05.",
         "10:00:05.0", "12345", "0", "-1", " 10:00:05", "10:00:05 ", "10:00:05.1 ", "\t10:00:05",
         "86399999999999", "86400000000000", "00:00:00", "23:59:59.999999999", " 5"]
# Accepted by Cassandra 5.0, refused by rtetl on purpose: impossible days that Cassandra's
# timestamp parser moves to the month's last day (it refuses them for date), named zones (need a
# zone database), and hours with more than two digits.
STRICTER = {("ts", "2023-02-29"), ("ts", "2024-02-30"), ("ts", "2023-02-30T00:00:00Z"),
            ("ts", "2024-04-31 10:00"), ("ts", "2024-01-01 10:00:05 PST"),
            ("ts", "2024-01-01 10:00:05 Europe/Paris"), ("ts", "2024-01-01 10:00:05 UTC+01:00"),
            ("tm", "010:00:05")}
AS_INT = {"ts": "blobAsBigint(timestampAsBlob(ts))", "d": "blobAsInt(dateAsBlob(d))",
          "tm": "blobAsBigint(timeAsBlob(tm))"}


def cassandra_value(s, ks, col, k, lit):
    """What Cassandra stores for the CQL literal, or None when it refuses it."""
    try:
        s.execute(f"INSERT INTO {ks}.lit_cql (k, {col}) VALUES ({k}, '{lit}')")
    except Exception:  # InvalidRequest: the literal does not parse
        return None
    return s.execute(f"SELECT {AS_INT[col]} FROM {ks}.lit_cql WHERE k = {k}").one()[0]


def rtetl_values(s, ks, col, cases):
    """What the C client stores for each text; None for text its parser refuses."""
    with tempfile.NamedTemporaryFile("w", delete=False) as f:
        for k, text in cases:
            f.write(f"{k}\t{text}\n")
    rc, out = driver("write-text", ks, col, f.name)
    os.unlink(f.name)
    check(f"driver write-text {col} exit", 0, rc)
    rejected = {int(line.split()[1]) for line in out.splitlines() if line.startswith("REJECT ")}
    got = {r[0]: r[1] for r in s.execute(f"SELECT k, {AS_INT[col]} FROM {ks}.lit")}
    return {k: None if k in rejected else got.get(k, "missing") for k, _ in cases}


def main():
    s = python_session()
    ks = keyspace(s, "cqllit")
    for t in ("lit", "lit_cql"):
        s.execute(f"CREATE TABLE {ks}.{t} (k int PRIMARY KEY, ts timestamp, d date, tm time)")
    base = 0
    for col, lits in (("ts", TIMESTAMPS + [x for c, x in STRICTER if c == "ts"]), ("d", DATES),
                      ("tm", TIMES + [x for c, x in STRICTER if c == "tm"])):
        cases = [(base + i, lit) for i, lit in enumerate(lits)]
        base += 1000
        ours = rtetl_values(s, ks, col, cases)
        for k, lit in cases:
            theirs = cassandra_value(s, ks, col, k, lit)
            if (col, lit) in STRICTER:
                check(f"{col} {lit!r} refused by rtetl (Cassandra stores {theirs})", None, ours[k])
            else:
                check(f"{col} {lit!r} as Cassandra", theirs, ours[k])


run(main)
