/* Measures the builtin source without Kafka: users generated and formatted as records per
 * second, and the mean record size. Usage: gen_bench [N] (default 2,000,000). */
#include "ingest/gen.h"
#include "ingest/id.h"
#include "ingest/record.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
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
