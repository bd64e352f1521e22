/* The builtin source without Kafka.
 *   gen_bench [N]              users generated and formatted as records per CPU second, and the
 *                              mean record size (default N = 2,000,000)
 *   gen_bench --dump N [SEED]  prints N records as "id<TAB>record" lines (seed 42 by default):
 *                              the same lines `rtetl ingest --seed SEED` produces, for kcat -P */
#include "ingest/gen.h"
#include "ingest/id.h"
#include "ingest/record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int dump(long n, uint64_t seed)
{
    ingest_gen g;
    ingest_idgen ids;
    ingest_person p;
    ingest_buf b;
    char id[INGEST_ID_LEN];
    ingest_gen_init(&g, &seed);
    ingest_idgen_init(&ids, &seed);
    ingest_buf_init(&b);
    for (long i = 0; i < n; i++) {
        ingest_gen_next(&g, &p);
        ingest_id_next(&ids, id);
        b.len = 0;
        ingest_buf_put(&b, id, INGEST_ID_LEN);
        ingest_buf_putc(&b, '\t');
        ingest_record_write(&b, id, &p.user);
        ingest_buf_putc(&b, '\n');
        if (fwrite(b.p, 1, b.len, stdout) != b.len) return 1;
    }
    ingest_buf_free(&b);
    return fflush(stdout) != 0;
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "--dump") == 0)
        return dump(atol(argv[2]), argc > 3 ? strtoull(argv[3], NULL, 10) : 42);
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    uint64_t seed = 42;
    ingest_gen g;
    ingest_idgen ids;
    ingest_person p;
    ingest_buf b;
    char id[INGEST_ID_LEN];
    ingest_gen_init(&g, &seed);
    ingest_idgen_init(&ids, NULL); /* kernel randomness, as an unseeded run */
    ingest_buf_init(&b);
    unsigned long long bytes = 0, check = 0;
    double t0 = cpu_now();
    for (long i = 0; i < n; i++) {
        ingest_gen_next(&g, &p);
        ingest_id_next(&ids, id);
        b.len = 0;
        ingest_record_write(&b, id, &p.user);
        bytes += b.len;
        check += (unsigned char)b.p[b.len / 2];
    }
    double dt = cpu_now() - t0;
    printf("records=%ld cpu=%.3fs rate=%.0f/s ns_per_record=%.0f mean_bytes=%.1f (check %llu)\n", n,
           dt, n / dt, dt * 1e9 / n, (double)bytes / n, check);
    ingest_buf_free(&b);
    return 0;
}
