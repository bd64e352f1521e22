"""Cross-checks the C client with the Python driver: types both ways and hostile text both ways."""
import datetime
import decimal
import ipaddress
import json
import os
import struct
import tempfile
import uuid

from cassandra.util import Date, Duration, Time

from cql_testlib import check, check_true, driver, keyspace, python_session, rtetl, run

HOSTILE = ["", "'", "''", "\"", "\\", "\\'", "a\x00b", "\x00", "line1\nline2\r\n\t",
           "héllo wörld ✓ 日本語 🎉", "'); DROP TABLE x; --", "$$", "%s %n %x", "\x7f\x01",
           "x" * (1 << 20), "é" * (1 << 19)]


def types_c_to_python(s, ks):
    """The C driver writes 3 rows of every type from text; Python reads them."""
    rc, out = driver("write-types", ks)
    check("driver write-types exit", 0, rc)
    r1 = s.execute(f"SELECT * FROM {ks}.alltypes WHERE k = 'r1'").one()
    check("r1.a", "plain ascii", r1.a)
    check("r1.t", "héllo wörld ✓", r1.t)
    check("r1.i", -2147483648, r1.i)
    check("r1.bi", 9223372036854775807, r1.bi)
    check("r1.si", -32768, r1.si)
    check("r1.ti", 127, r1.ti)
    check("r1.b", True, r1.b)
    check("r1.f", 1.5, r1.f)
    check("r1.d", 3.141592653589793, r1.d)
    check("r1.ts", datetime.datetime(2024, 2, 29, 12, 34, 56, 789000), r1.ts)
    check("r1.dt", Date(datetime.date(2024, 2, 29)), r1.dt)
    check("r1.tm", Time("13:45:01.123456789"), r1.tm)
    check("r1.u", uuid.UUID("123e4567-e89b-12d3-a456-426614174000"), r1.u)
    check("r1.tu", uuid.UUID("d2177dd0-eaa2-11de-a572-001b779c76e3"), r1.tu)
    check("r1.bl", b"\xde\xad\xbe\xef", r1.bl)
    check("r1.ip", "10.1.2.3", r1.ip)
    check("r1.vi", -123456789012345678901234567890, r1.vi)
    check("r1.de", decimal.Decimal("-3.14159"), r1.de)
    check("r1.l", [1, 2, 3], r1.l)
    check("r1.s", {"a", "b"}, set(r1.s))
    check("r1.m", {"k": 7}, dict(r1.m))
    check("r1.tp", (5, "hi"), r1.tp)
    r2 = s.execute(f"SELECT * FROM {ks}.alltypes WHERE k = 'r2'").one()
    check("r2.a empty", "", r2.a)
    check("r2.t empty", "", r2.t)
    check("r2.bl empty", b"", r2.bl)
    check("r2.ts epoch", datetime.datetime(1970, 1, 1), r2.ts)
    check("r2.d", -1e-300, r2.d)
    check("r2.ip", "::1", r2.ip)
    check("r2.de", decimal.Decimal("0.001"), r2.de)
    r3 = s.execute(f"SELECT * FROM {ks}.alltypes WHERE k = 'r3'").one()
    check("r3.t", "'quoted' \"double\" \\back", r3.t)
    check("r3.vi", 18446744073709551616, r3.vi)
    check("r3.de", decimal.Decimal("12345678901234567890.123456789"), r3.de)
    check("r3.dt", Date(datetime.date(1900, 3, 1)), r3.dt)
    check("r3.ip", "2001:db8::8a2e:370:7334", r3.ip)
    check("r3.tp null", None, r3.tp)


def types_python_to_c(s, ks):
    """Python writes every type; `rtetl cql --format json` (our decoder) prints them."""
    s.execute(f"CREATE TABLE {ks}.py (k int PRIMARY KEY, a ascii, t text, bi bigint, b boolean, "
              "f float, d double, ts timestamp, dt date, tm time, u uuid, bl blob, ip inet, "
              "vi varint, de decimal, du duration, l list<int>, s set<text>, "
              "m map<text, frozen<list<int>>>, tp tuple<int, text, boolean>)")
    ins = s.prepare(f"INSERT INTO {ks}.py (k, a, t, bi, b, f, d, ts, dt, tm, u, bl, ip, vi, de, du, "
                    "l, s, m, tp) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    s.execute(ins, (1, "asc", "tëxt 'q'", -5, False, 0.5, 1e-3,
               datetime.datetime(2001, 2, 3, 4, 5, 6, 7000), datetime.date(1999, 12, 31),
               Time("01:02:03.5"), uuid.UUID("00112233-4455-6677-8899-aabbccddeeff"),
               b"\x00\x01\xff", "192.168.0.1", -(10 ** 30), decimal.Decimal("-12.3400"),
               Duration(1, 2, 3), [3, 2, 1], {"z", "a"}, {"k": [1, 2]}, (7, "it's", True)))
    rc, out, err = rtetl("cql", "--format", "json", "-e", f"SELECT * FROM {ks}.py")
    check("rtetl json exit", 0, rc)
    row = json.loads(out.decode().splitlines()[0])
    expect = {"k": 1, "a": "asc", "t": "tëxt 'q'", "bi": -5, "b": False, "f": 0.5, "d": 0.001,
              "ts": "2001-02-03 04:05:06.007000+0000", "dt": "1999-12-31",
              "tm": "01:02:03.500000000", "u": "00112233-4455-6677-8899-aabbccddeeff",
              "bl": "0x0001ff", "ip": "192.168.0.1", "vi": -(10 ** 30), "de": -12.34,
              "du": "1mo2d3ns", "l": "[3, 2, 1]", "s": "{'a', 'z'}", "m": "{'k': [1, 2]}",
              "tp": "(7, 'it''s', True)"}
    for k, v in expect.items():
        check(f"py->c {k}", v, row.get(k))
    rc, out, err = rtetl("cql", "-e", f"SELECT de, vi FROM {ks}.py")
    check_true("decimal scale kept in table", b"-12.3400" in out, out)


def hostile_python_to_c(s, ks):
    s.execute(f"CREATE TABLE {ks}.hostile (k int PRIMARY KEY, v text)")
    ins = s.prepare(f"INSERT INTO {ks}.hostile (k, v) VALUES (?, ?)")
    for i, v in enumerate(HOSTILE):
        s.execute(ins, (i, v))
    rc, out, err = rtetl("cql", "--format", "json", "-e", f"SELECT k, v FROM {ks}.hostile")
    check("hostile read exit", 0, rc)
    got = {r["k"]: r["v"] for r in (json.loads(line) for line in out.decode().splitlines())}
    for i, v in enumerate(HOSTILE):
        check(f"py->c hostile[{i}] len={len(v)}", v, got.get(i))


def hostile_c_to_python(s, ks):
    s.execute(f"TRUNCATE {ks}.hostile")
    with tempfile.NamedTemporaryFile("wb", delete=False) as f:
        for v in HOSTILE:
            b = v.encode()
            f.write(struct.pack(">I", len(b)) + b)
    rc, _ = driver("write-blobs", ks, f.name)
    os.unlink(f.name)
    check("driver write-blobs exit", 0, rc)
    got = {r.k: r.v for r in s.execute(f"SELECT k, v FROM {ks}.hostile")}
    for i, v in enumerate(HOSTILE):
        check(f"c->py hostile[{i}] len={len(v)}", v, got.get(i))


def main():
    s = python_session()
    ks = keyspace(s, "cqltypes")
    types_c_to_python(s, ks)
    types_python_to_c(s, ks)
    hostile_python_to_c(s, ks)
    hostile_c_to_python(s, ks)


run(main)
