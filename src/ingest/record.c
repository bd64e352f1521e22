/* Record formatting (see record.h). This is on the hot path of the builtin source: no
 * allocation once the buffer has grown, one escape pass per field. */
#include "ingest/record.h"

#include "ingest/json.h"

const char *const ingest_record_fields[INGEST_RECORD_FIELDS] = {
    "id",    "first_name", "last_name", "gender",          "address", "post_code",
    "email", "username",   "dob",       "registered_date", "phone",   "picture",
};

/* Appends a field: key_lit is the literal `,"name":"` (with the value's opening quote). */
static inline void field(ingest_buf *b, bool plain, const char *key_lit, size_t key_len,
                         ingest_str v)
{
    ingest_buf_reserve(b, key_len + v.n + 1);
    memcpy(b->p + b->len, key_lit, key_len);
    b->len += key_len;
    if (plain) {
        memcpy(b->p + b->len, v.p, v.n);
        b->len += v.n;
    } else {
        ingest_json_chars(b, v.p, v.n);
        ingest_buf_reserve(b, 1);
    }
    b->p[b->len++] = '"';
}

#define FIELD(b, lit, v) field((b), u->plain, (lit), sizeof(lit) - 1, (v))

/* The address joins five parts with fixed separators; escaping each part into one JSON string
 * keeps the output valid however odd the parts are. */
static void address(ingest_buf *b, const ingest_user *u)
{
    const ingest_str parts[5] = {u->street_number, u->street_name, u->city, u->state, u->country};
    static const char *const seps[5] = {"", " ", ", ", ", ", ", "};
    ingest_buf_lit(b, ",\"address\":\"");
    for (int i = 0; i < 5; i++) {
        ingest_buf_puts(b, seps[i]);
        if (u->plain)
            ingest_buf_put(b, parts[i].p, parts[i].n);
        else
            ingest_json_chars(b, parts[i].p, parts[i].n);
    }
    ingest_buf_putc(b, '"');
}

void ingest_record_write(ingest_buf *b, const char id[INGEST_ID_LEN], const ingest_user *u)
{
    ingest_buf_lit(b, "{\"id\":\"");
    ingest_buf_put(b, id, INGEST_ID_LEN);
    ingest_buf_putc(b, '"');
    FIELD(b, ",\"first_name\":\"", u->first);
    FIELD(b, ",\"last_name\":\"", u->last);
    FIELD(b, ",\"gender\":\"", u->gender);
    address(b, u);
    FIELD(b, ",\"post_code\":\"", u->postcode);
    FIELD(b, ",\"email\":\"", u->email);
    FIELD(b, ",\"username\":\"", u->username);
    FIELD(b, ",\"dob\":\"", u->dob);
    FIELD(b, ",\"registered_date\":\"", u->registered);
    FIELD(b, ",\"phone\":\"", u->phone);
    FIELD(b, ",\"picture\":\"", u->picture);
    ingest_buf_putc(b, '}');
}
