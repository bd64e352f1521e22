/* The builtin user generator (see gen.h).
 *
 * DESIGN: this competes with kcat for the producer's CPU, so a user costs about twenty PRNG
 * draws and a few short copies: names and places point into static tables, and the composed
 * fields (email, dates, phone, postcode) are written into fixed buffers inside the person.
 * Dates are formatted from small calendar tables rather than with gmtime and snprintf. */
#include "ingest/gen.h"

#include "ingest/gen_data.h"
#include "ingest/json.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* Ages are computed against a fixed date (2025-01-01T00:00:00Z) so seeded runs do not drift. */
#define AGE_REFERENCE 1735689600LL
#define DOB_MIN       (-788918400LL) /* 1945-01-01 */
#define DOB_MAX       1104451200LL   /* 2004-12-31 */
#define REG_MIN       1009843200LL   /* 2002-01-01 */
#define REG_MAX       1672444800LL   /* 2022-12-31 */

/* Maps a byte of a name to its email form: ASCII letters lower-cased, digits and '-' kept, 0
 * for anything else (spaces, apostrophes and non-ASCII bytes disappear). */
static unsigned char email_map[256];
static pthread_once_t email_map_once = PTHREAD_ONCE_INIT;

static void email_map_init(void)
{
    for (int c = 0; c < 256; c++) {
        if (c >= 'A' && c <= 'Z')
            email_map[c] = (unsigned char)(c - 'A' + 'a');
        else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')
            email_map[c] = (unsigned char)c;
    }
}

void ingest_gen_init(ingest_gen *g, const uint64_t *seed)
{
    pthread_once(&email_map_once, email_map_init);
    if (seed)
        ingest_rng_seed(&g->rng, *seed);
    else
        ingest_rng_seed_random(&g->rng);
}

unsigned ingest_gen_nationalities(void)
{
    return gen_nnats;
}

static ingest_str str(const char *s)
{
    return (ingest_str){s, strlen(s)};
}

static ingest_str str_n(const char *s, size_t n)
{
    return (ingest_str){s, n};
}

/* Fills out from a pattern ('#' digit, 'N' digit 1-9, 'A' letter) and NUL-terminates it. One
 * PRNG draw yields four characters (16 bits each, scaled by multiply-shift). */
static size_t fill_pattern(ingest_gen *g, char *out, size_t cap, const char *pat)
{
    size_t n = 0;
    uint64_t bits = 0;
    int left = 0;
    for (; *pat && n + 1 < cap; pat++) {
        char c = *pat;
        if (c == '#' || c == 'N' || c == 'A') {
            if (left == 0) bits = ingest_rng_next(&g->rng), left = 4;
            uint32_t r16 = (uint32_t)(bits & 0xffff);
            bits >>= 16;
            left--;
            if (c == '#')
                c = (char)('0' + ((r16 * 10) >> 16));
            else if (c == 'N')
                c = (char)('1' + ((r16 * 9) >> 16));
            else
                c = (char)('A' + ((r16 * 26) >> 16));
        }
        out[n++] = c;
    }
    out[n] = '\0';
    return n;
}

static const char digit_pairs[201] = "00010203040506070809101112131415161718192021222324"
                                     "25262728293031323334353637383940414243444546474849"
                                     "50515253545556575859606162636465666768697071727374"
                                     "75767778798081828384858687888990919293949596979899";

/* Writes exactly `width` (1 to 4) digits of v, zero-padded; returns the end. */
static char *digits(char *o, unsigned v, int width)
{
    if (width == 2) {
        memcpy(o, digit_pairs + 2 * (v % 100), 2);
        return o + 2;
    }
    for (int i = width - 1; i >= 0; i--) {
        o[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return o + width;
}

/* Calendar tables for formatting dates fast: the first day (days since 1970-01-01) of each
 * year from DATE_MIN_YEAR on, and "MM-DD" for every day of a leap year. Built once. */
#define DATE_MIN_YEAR 1900
#define DATE_YEARS    300
static long long year_start[DATE_YEARS + 1];
static char leap_mmdd[366][5];
static pthread_once_t calendar_once = PTHREAD_ONCE_INIT;

static bool is_leap(long long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static void calendar_init(void)
{
    /* 1900-01-01 is 25567 days before 1970-01-01. */
    long long d = -25567;
    for (int i = 0; i <= DATE_YEARS; i++) {
        year_start[i] = d;
        d += is_leap(DATE_MIN_YEAR + i) ? 366 : 365;
    }
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int k = 0;
    for (int m = 0; m < 12; m++) {
        for (int day = 1; day <= mdays[m]; day++, k++) {
            char tmp[16];
            snprintf(tmp, sizeof tmp, "%02d-%02d", m + 1, day);
            memcpy(leap_mmdd[k], tmp, 5);
        }
    }
}

/* Formats unix milliseconds as 2006-01-02T15:04:05.000Z (24 bytes + NUL) for dates from 1900
 * to 2199 (the generator's range), else as 1970-01-01T00:00:00.000Z. */
size_t ingest_gen_iso_date(char *out, long long ms)
{
    pthread_once(&calendar_once, calendar_init);
    long long secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    unsigned milli = (unsigned)(ms - secs * 1000);
    long long days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    unsigned sod = (unsigned)(secs - days * 86400);
    if (days < year_start[0] || days >= year_start[DATE_YEARS]) days = 0, sod = 0, milli = 0;
    /* A year has at least 365 days, so this guess is at or after the right year, by at most
     * one for the span of the table. */
    int yi = (int)((days - year_start[0]) / 365);
    if (yi > DATE_YEARS - 1) yi = DATE_YEARS - 1;
    while (year_start[yi] > days) yi--;
    long long year = DATE_MIN_YEAR + yi;
    unsigned doy = (unsigned)(days - year_start[yi]);
    if (!is_leap(year) && doy >= 59) doy++; /* skip February 29 */
    char *o = digits(out, (unsigned)year, 4);
    *o++ = '-';
    memcpy(o, leap_mmdd[doy], 5);
    o += 5;
    *o++ = 'T';
    o = digits(o, sod / 3600, 2);
    *o++ = ':';
    o = digits(o, sod / 60 % 60, 2);
    *o++ = ':';
    o = digits(o, sod % 60, 2);
    *o++ = '.';
    o = digits(o, milli, 3);
    *o++ = 'Z';
    *o = '\0';
    return (size_t)(o - out);
}

static long long rand_ms(ingest_gen *g, long long lo_s, long long hi_s)
{
    uint64_t span = (uint64_t)(hi_s - lo_s) * 1000;
    return lo_s * 1000 + (long long)(ingest_rng_next(&g->rng) % span);
}

static int age_at_reference(long long ms)
{
    return (int)((AGE_REFERENCE * 1000 - ms) / (1000LL * 31556952));
}

/* Appends the email form of a name (its Latin spelling when it has one): O'Brien -> obrien. */
static size_t email_part(char *o, size_t cap, const gen_name *nm)
{
    const unsigned char *s = (const unsigned char *)(nm->latin ? nm->latin : nm->s);
    size_t n = 0;
    for (; *s && n < cap; s++) {
        unsigned char c = email_map[*s];
        o[n] = (char)c;
        n += c != 0;
    }
    return n;
}

static void make_email(ingest_person *p, const gen_name *first, const gen_name *last)
{
    static const char domain[] = "@example.com";
    size_t cap = sizeof p->email - sizeof domain - 1, n;
    n = email_part(p->email, cap / 2, first);
    p->email[n++] = '.';
    n += email_part(p->email + n, cap - n, last);
    memcpy(p->email + n, domain, sizeof domain);
    p->user.email = str_n(p->email, n + sizeof domain - 1);
}

static void make_username(ingest_gen *g, ingest_person *p)
{
    const char *a = gen_adjectives[ingest_rng_below(&g->rng, gen_nadjectives)];
    const char *b = gen_animals[ingest_rng_below(&g->rng, gen_nanimals)];
    size_t la = strlen(a), lb = strlen(b);
    memcpy(p->username, a, la);
    memcpy(p->username + la, b, lb);
    char *o = digits(p->username + la + lb, 100 + ingest_rng_below(&g->rng, 900), 3);
    *o = '\0';
    p->user.username = str_n(p->username, la + lb + 3);
}

static void make_picture(ingest_person *p)
{
    static const char base[] = "https://randomuser.me/api/portraits/med/";
    char *o = p->picture;
    memcpy(o, base, sizeof base - 1);
    o += sizeof base - 1;
    if (p->female)
        memcpy(o, "women/", 6), o += 6;
    else
        memcpy(o, "men/", 4), o += 4;
    o = digits(o, (unsigned)p->picture_no, p->picture_no >= 10 ? 2 : 1);
    memcpy(o, ".jpg", 5);
    p->user.picture = str_n(p->picture, (size_t)(o + 4 - p->picture));
}

static void make_dates(ingest_gen *g, ingest_person *p)
{
    long long dob = rand_ms(g, DOB_MIN, DOB_MAX), reg = rand_ms(g, REG_MIN, REG_MAX);
    p->user.dob = str_n(p->dob, ingest_gen_iso_date(p->dob, dob));
    p->user.registered = str_n(p->registered, ingest_gen_iso_date(p->registered, reg));
    p->dob_age = age_at_reference(dob);
    p->registered_age = age_at_reference(reg);
}

void ingest_gen_next(ingest_gen *g, ingest_person *p)
{
    ingest_rng *r = &g->rng;
    const gen_nat *nat = &gen_nats[ingest_rng_below(r, gen_nnats)];
    p->female = ingest_rng_below(r, 2) != 0;
    const gen_name *first = p->female ? &nat->female[ingest_rng_below(r, nat->nfemale)]
                                      : &nat->male[ingest_rng_below(r, nat->nmale)];
    const gen_name *last = &nat->last[ingest_rng_below(r, nat->nlast)];
    const gen_place *place = &nat->places[ingest_rng_below(r, nat->nplaces)];
    static const char *const ftitles[] = {"Ms", "Mrs", "Miss", "Madame", "Mademoiselle"};
    p->nat = nat->code;
    p->title = p->female ? ftitles[ingest_rng_below(r, nat->code[0] == 'F' ? 5 : 3)]
                         : (nat->code[0] == 'F' ? "Monsieur" : "Mr");
    p->tz_offset = nat->tz_offset;
    p->tz_desc = nat->tz_desc;
    p->postcode_numeric = nat->postcode_numeric;
    p->user.plain = true; /* the tables hold no character JSON must escape (unit-tested) */
    p->user.first = str_n(first->s, first->len);
    p->user.last = str_n(last->s, last->len);
    p->user.gender = p->female ? str_n("female", 6) : str_n("male", 4);
    char *o = p->street_number;
    unsigned num = 1 + ingest_rng_below(r, 9999);
    int w = num >= 1000 ? 4 : num >= 100 ? 3 : num >= 10 ? 2 : 1;
    o = digits(o, num, w);
    *o = '\0';
    p->user.street_number = str_n(p->street_number, (size_t)w);
    const gen_str *street = &nat->streets[ingest_rng_below(r, nat->nstreets)];
    p->user.street_name = str_n(street->s, street->len);
    p->user.city = str_n(place->city, place->city_len);
    p->user.state = str_n(place->state, place->state_len);
    p->user.country = str_n(nat->country, nat->country_len);
    p->user.postcode =
        str_n(p->postcode, fill_pattern(g, p->postcode, sizeof p->postcode, nat->postcode));
    make_email(p, first, last);
    make_username(g, p);
    make_dates(g, p);
    p->user.phone = str_n(p->phone, fill_pattern(g, p->phone, sizeof p->phone, nat->phone));
    p->cell_pattern = nat->cell; /* drawn only when the API form is written */
    p->picture_no = (int)ingest_rng_below(r, 100);
    make_picture(p);
}

/* ---- randomuser API JSON (fake-api) ---------------------------------------------------- */

static long long strtol_or_zero(const char *s)
{
    long long v = 0;
    for (; *s >= '0' && *s <= '9'; s++) v = v * 10 + (*s - '0');
    return v;
}

static void kv_str(ingest_buf *b, const char *key, ingest_str v)
{
    ingest_buf_putc(b, '"');
    ingest_buf_puts(b, key);
    ingest_buf_lit(b, "\":");
    ingest_json_str(b, v.p, v.n);
}

static void kv_cstr(ingest_buf *b, const char *key, const char *v)
{
    kv_str(b, key, str(v));
}

static void kv_int(ingest_buf *b, const char *key, long long v)
{
    char tmp[64];
    int n = snprintf(tmp, sizeof tmp, "\"%s\":%lld", key, v);
    ingest_buf_put(b, tmp, (size_t)n);
}

static void write_location(ingest_gen *g, ingest_buf *b, const ingest_person *p)
{
    const ingest_user *u = &p->user;
    char tmp[64];
    ingest_buf_lit(b, "\"location\":{\"street\":{");
    kv_int(b, "number", strtol_or_zero(p->street_number));
    ingest_buf_putc(b, ',');
    kv_str(b, "name", u->street_name);
    ingest_buf_lit(b, "},");
    kv_str(b, "city", u->city);
    ingest_buf_putc(b, ',');
    kv_str(b, "state", u->state);
    ingest_buf_putc(b, ',');
    kv_str(b, "country", u->country);
    ingest_buf_putc(b, ',');
    if (p->postcode_numeric)
        kv_int(b, "postcode", strtol_or_zero(p->postcode));
    else
        kv_str(b, "postcode", u->postcode);
    double lat = ingest_rng_unit(&g->rng) * 180 - 90, lon = ingest_rng_unit(&g->rng) * 360 - 180;
    int n = snprintf(tmp, sizeof tmp,
                     ",\"coordinates\":{\"latitude\":\"%.4f\",\"longitude\":\"%.4f\"},", lat, lon);
    ingest_buf_put(b, tmp, (size_t)n);
    ingest_buf_lit(b, "\"timezone\":{");
    kv_cstr(b, "offset", p->tz_offset);
    ingest_buf_putc(b, ',');
    kv_cstr(b, "description", p->tz_desc);
    ingest_buf_lit(b, "}}");
}

static void write_login(ingest_gen *g, ingest_buf *b, const ingest_person *p)
{
    static const char *const passwords[] = {"hunter2",  "qwerty",   "letmein",  "dragon",
                                            "sunshine", "trustno1", "p@$$w0rd", "\"quoted\"\\pass"};
    unsigned char bytes[16];
    char id[INGEST_ID_LEN], uuid[37];
    uint64_t a = ingest_rng_next(&g->rng), c = ingest_rng_next(&g->rng);
    memcpy(bytes, &a, 8);
    memcpy(bytes + 8, &c, 8);
    ingest_id_format(bytes, id);
    snprintf(uuid, sizeof uuid, "%.8s-%.4s-%.4s-%.4s-%.12s", id, id + 8, id + 12, id + 16, id + 20);
    ingest_buf_lit(b, "\"login\":{");
    kv_cstr(b, "uuid", uuid);
    ingest_buf_putc(b, ',');
    kv_str(b, "username", p->user.username);
    ingest_buf_putc(b, ',');
    kv_cstr(b, "password", passwords[ingest_rng_below(&g->rng, 8)]);
    ingest_buf_putc(b, '}');
}

static void write_picture(ingest_buf *b, const ingest_person *p)
{
    static const char *const keys[] = {"large", "medium", "thumbnail"};
    static const char *const dirs[] = {"", "med/", "thumb/"};
    char url[96];
    ingest_buf_lit(b, "\"picture\":{");
    for (int i = 0; i < 3; i++) {
        snprintf(url, sizeof url, "https://randomuser.me/api/portraits/%s%s/%d.jpg", dirs[i],
                 p->female ? "women" : "men", p->picture_no);
        if (i) ingest_buf_putc(b, ',');
        kv_cstr(b, keys[i], url);
    }
    ingest_buf_putc(b, '}');
}

void ingest_gen_write_api_user(ingest_gen *g, ingest_buf *b, const ingest_person *p)
{
    const ingest_user *u = &p->user;
    ingest_buf_putc(b, '{');
    kv_str(b, "gender", u->gender);
    ingest_buf_lit(b, ",\"name\":{");
    kv_cstr(b, "title", p->title);
    ingest_buf_putc(b, ',');
    kv_str(b, "first", u->first);
    ingest_buf_putc(b, ',');
    kv_str(b, "last", u->last);
    ingest_buf_lit(b, "},");
    write_location(g, b, p);
    ingest_buf_putc(b, ',');
    kv_str(b, "email", u->email);
    ingest_buf_putc(b, ',');
    write_login(g, b, p);
    ingest_buf_lit(b, ",\"dob\":{");
    kv_str(b, "date", u->dob);
    ingest_buf_putc(b, ',');
    kv_int(b, "age", p->dob_age);
    ingest_buf_lit(b, "},\"registered\":{");
    kv_str(b, "date", u->registered);
    ingest_buf_putc(b, ',');
    kv_int(b, "age", p->registered_age);
    ingest_buf_lit(b, "},");
    kv_str(b, "phone", u->phone);
    ingest_buf_putc(b, ',');
    char cell[32];
    fill_pattern(g, cell, sizeof cell, p->cell_pattern);
    kv_cstr(b, "cell", cell);
    ingest_buf_putc(b, ',');
    write_picture(b, p);
    ingest_buf_putc(b, ',');
    kv_cstr(b, "nat", p->nat);
    ingest_buf_putc(b, '}');
}
