/* Compiled record schema: field definitions and an open-addressing name table.
 *
 * DESIGN: field lookup by name happens once per JSON key on the hot path, so the table is
 * built for it at compile time. Names hash with a cheap function of (length, first, middle and
 * last byte); the compiler tries a few seeds and table sizes and keeps the first layout where
 * every field sits in its home slot (a perfect hash, the usual case for a dozen names), or the
 * one with the shortest probe sequences; when the cheap hash cannot tell names apart it falls
 * back to hashing every byte. Lookup is then one hash, one slot and one memcmp. Linear probing
 * keeps any layout correct, perfect or not. */
#include "pipeline/schema_impl.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/isotime.h"

static const char *const type_names[PIPE_T__COUNT] = {
    "string", "int", "bigint", "double", "boolean", "timestamp", "date", "uuid", "list", "map"};
static const char *const type_cql[PIPE_T__COUNT] = {
    "text",      "int",  "bigint", "double",     "boolean",
    "timestamp", "date", "uuid",   "list<text>", "map<text, text>"};

const char *pipe_type_name(pipe_type t)
{
    return (unsigned)t < PIPE_T__COUNT ? type_names[t] : "?";
}

const char *pipe_type_cql(pipe_type t)
{
    return (unsigned)t < PIPE_T__COUNT ? type_cql[t] : "?";
}

int pipe_type_parse(const char *name, pipe_type *out)
{
    for (int i = 0; i < PIPE_T__COUNT; i++)
        if (strcmp(name, type_names[i]) == 0) return *out = (pipe_type)i, 0;
    /* The CQL spellings of the collections, blanks ignored: list<text>, map<text, text>. */
    char t[32];
    size_t n = 0;
    for (const char *p = name; *p && n + 1 < sizeof t; p++)
        if (*p != ' ') t[n++] = *p;
    t[n] = '\0';
    if (strcmp(t, "list<text>") == 0) return *out = PIPE_T_LIST, 0;
    if (strcmp(t, "map<text,text>") == 0) return *out = PIPE_T_MAP, 0;
    return -1;
}

static int hexval(char ch)
{
    return ch >= '0' && ch <= '9'   ? ch - '0'
           : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
           : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                    : -1;
}

int pipe_uuid_parse(const char *s, size_t n, unsigned char out[16])
{
    if (n != 36) return -1;
    for (size_t i = 0, k = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') return -1;
            continue;
        }
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0) return -1;
        out[k++] = (unsigned char)(hi << 4 | lo);
        i++;
    }
    return 0;
}

int pipe_timestamp_parse(const char *s, size_t n, long long *ms)
{
    /* Cassandra's TimestampSerializer: text matching -?\d+ is a Long of milliseconds. */
    size_t i = n && s[0] == '-';
    if (i < n && n - i <= 19) {
        uint64_t v = 0;
        size_t k = i;
        while (k < n && s[k] >= '0' && s[k] <= '9') v = v * 10 + (uint64_t)(s[k++] - '0');
        if (k == n) {
            if (v > (i ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX)) return -1;
            *ms = i ? (long long)(0 - v) : (long long)v;
            return 0;
        }
    }
    int64_t t;
    if (iso_parse_timestamp(s, n, &t)) return -1;
    *ms = t;
    return 0;
}

int pipe_type_check_text(pipe_type t, const char *s, size_t n)
{
    unsigned char u[16];
    long long ms;
    switch (t) {
    case PIPE_T_TIMESTAMP: return pipe_timestamp_parse(s, n, &ms);
    case PIPE_T_DATE: {
        char tmp[32];
        const char *p = tmp;
        int64_t days;
        if (n >= sizeof tmp || memchr(s, '\0', n)) return -1;
        memcpy(tmp, s, n);
        tmp[n] = '\0';
        return iso_parse_date(&p, &days) || *p ? -1 : 0;
    }
    case PIPE_T_UUID: return pipe_uuid_parse(s, n, u);
    default: return 0;
    }
}

/* Fills slots for (full, seed, mask) and returns the total probe distance (0 = perfect). */
static size_t place(pipe_schema *s, uint16_t *slots, int full, uint32_t seed, uint32_t mask)
{
    size_t dist = 0;
    memset(slots, 0, (mask + 1) * sizeof *slots);
    for (size_t i = 0; i < s->n; i++) {
        uint32_t h =
            schema_hash(full, seed, (const unsigned char *)s->fields[i].name, s->name_len[i]) &
            mask;
        while (slots[h]) h = (h + 1) & mask, dist++;
        slots[h] = (uint16_t)(i + 1);
    }
    return dist;
}

/* Searches seeds and sizes for the layout with the fewest probes; stops at a perfect one. */
static int build_table(pipe_schema *s)
{
    uint32_t base = 4;
    while (base < s->n * 2) base <<= 1;
    size_t best = SIZE_MAX;
    for (int full = 0; full < 2 && best; full++) {
        for (uint32_t size = base; size <= base * 8 && best; size <<= 1) {
            uint16_t *tmp = malloc(size * sizeof *tmp);
            if (!tmp) return -1;
            for (uint32_t seed = 1; seed <= 64 && best; seed++) {
                size_t d = place(s, tmp, full, seed * 0x9E3779B9u, size - 1);
                if (d >= best) continue;
                best = d;
                free(s->slots);
                s->slots = tmp;
                s->mask = size - 1, s->seed = seed * 0x9E3779B9u, s->full_hash = full;
                tmp = malloc(size * sizeof *tmp);
                if (!tmp) return -1;
            }
            free(tmp);
        }
    }
    return 0;
}

static int copy_fields(pipe_schema *s, const pipe_field *fields, size_t n, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        const char *name = fields[i].name ? fields[i].name : "";
        size_t len = strlen(name);
        if (len == 0 || len > PIPE_FIELD_NAME_MAX) {
            snprintf(err, errlen, "field %zu: name must be 1 to %d bytes", i + 1,
                     PIPE_FIELD_NAME_MAX);
            return -1;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(s->fields[j].name, name) == 0) {
                snprintf(err, errlen, "field '%s' defined twice", name);
                return -1;
            }
        }
        s->fields[i] = fields[i];
        s->fields[i].name = strdup(name);
        s->name_len[i] = len;
        s->plain[i] = 1;
        for (size_t k = 0; k < len; k++) {
            unsigned char c = (unsigned char)name[k];
            if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') s->plain[i] = 0;
        }
        s->n = i + 1;
        if (!s->fields[i].name) return snprintf(err, errlen, "out of memory"), -1;
    }
    return 0;
}

pipe_schema *pipe_schema_new(const pipe_field *fields, size_t n, size_t max_message_bytes,
                             char *err, size_t errlen)
{
    if (n > PIPE_SCHEMA_MAX_FIELDS) {
        snprintf(err, errlen, "too many fields (%zu, at most %d)", n, PIPE_SCHEMA_MAX_FIELDS);
        return NULL;
    }
    pipe_schema *s = calloc(1, sizeof *s);
    if (s) {
        s->fields = calloc(n ? n : 1, sizeof *s->fields);
        s->name_len = calloc(n ? n : 1, sizeof *s->name_len);
        s->plain = calloc(n ? n : 1, sizeof *s->plain);
    }
    if (!s || !s->fields || !s->name_len || !s->plain) {
        snprintf(err, errlen, "out of memory");
        pipe_schema_free(s);
        return NULL;
    }
    s->max_message = max_message_bytes;
    if (copy_fields(s, fields, n, err, errlen)) {
        pipe_schema_free(s);
        return NULL;
    }
    if (build_table(s)) {
        snprintf(err, errlen, "out of memory");
        pipe_schema_free(s);
        return NULL;
    }
    return s;
}

void pipe_schema_free(pipe_schema *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) free(s->fields[i].name);
    free(s->fields);
    free(s->name_len);
    free(s->plain);
    free(s->slots);
    free(s);
}

int pipe_schema_find(const pipe_schema *s, const char *name, size_t len)
{
    return schema_find(s, name, len);
}

size_t pipe_schema_nfields(const pipe_schema *s)
{
    return s->n;
}

const pipe_field *pipe_schema_field(const pipe_schema *s, size_t i)
{
    return i < s->n ? &s->fields[i] : NULL;
}

size_t pipe_schema_max_message(const pipe_schema *s)
{
    return s->max_message;
}
