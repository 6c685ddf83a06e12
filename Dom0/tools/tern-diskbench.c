/*
 * tern-diskbench: fio's method for the four numbers `make bench` compares
 * between Dom0's own disk and a guest's (docs/blockback.md, "Measuring"),
 * in one static binary that runs the same in both: direct I/O (O_DIRECT,
 * no page cache on the measuring side), Linux native AIO (io_submit, as
 * fio's libaio engine) at a fixed queue depth, for a fixed time.
 *
 *   tern-diskbench DEVICE TEST SECONDS [SPAN_MIB]
 *     seqread, seqwrite    1 MiB requests, queue depth 1, from offset 0
 *                          onwards (wrapping at SPAN_MIB)
 *     randread, randwrite  4 KiB requests at random 4 KiB-aligned offsets
 *                          of the first SPAN_MIB (default 64), queue depth 32
 *   prints one line: "TEST: N MB/s, N IOPS (N requests in N.NN s)"
 *
 * Writes destroy what DEVICE held: a scratch disk only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Linux's native AIO ABI (include/uapi/linux/aio_abi.h, x86-64), spelled
 * out: musl's headers do not carry the kernel's. */
typedef unsigned long aio_context_t;
enum { IOCB_CMD_PREAD = 0, IOCB_CMD_PWRITE = 1 };
struct iocb {
    uint64_t aio_data;
    uint32_t aio_key, aio_rw_flags;
    uint16_t aio_lio_opcode;
    int16_t  aio_reqprio;
    uint32_t aio_fildes;
    uint64_t aio_buf, aio_nbytes;
    int64_t  aio_offset;
    uint64_t aio_reserved2;
    uint32_t aio_flags, aio_resfd;
};
struct io_event {
    uint64_t data, obj;
    int64_t  res, res2;
};
_Static_assert(sizeof(struct iocb) == 64, "iocb layout");
_Static_assert(sizeof(struct io_event) == 32, "io_event layout");

#define SEQ_BLOCK   (1u << 20)
#define SEQ_DEPTH   1
#define RAND_BLOCK  4096u
#define RAND_DEPTH  32
#define ALIGNMENT   4096u
#define MIB         (1ull << 20)
#define DEFAULT_SPAN_MIB 64

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* xorshift64*: the offsets of a random test. */
static uint64_t next_random(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545F4914F6CDD1Dull;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s DEVICE seqread|seqwrite|randread|randwrite SECONDS [SPAN_MIB]\n", argv[0]);
        return 2;
    }
    const char *test = argv[2];
    int sequential = strncmp(test, "seq", 3) == 0;
    int writing = strstr(test, "write") != NULL;
    if (!sequential && strncmp(test, "rand", 4) != 0) {
        fprintf(stderr, "tern-diskbench: unknown test %s\n", test);
        return 2;
    }
    double seconds = atof(argv[3]);
    uint64_t span = (argc > 4 ? strtoull(argv[4], NULL, 10) : DEFAULT_SPAN_MIB) * MIB;
    unsigned block = sequential ? SEQ_BLOCK : RAND_BLOCK;
    unsigned depth = sequential ? SEQ_DEPTH : RAND_DEPTH;
    if (seconds <= 0 || span < block) {
        fprintf(stderr, "tern-diskbench: bad SECONDS or SPAN_MIB\n");
        return 2;
    }

    int fd = open(argv[1], (writing ? O_RDWR : O_RDONLY) | O_DIRECT);
    if (fd < 0) {
        fprintf(stderr, "tern-diskbench: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    aio_context_t context = 0;
    if (syscall(SYS_io_setup, depth, &context) < 0) {
        fprintf(stderr, "tern-diskbench: io_setup: %s\n", strerror(errno));
        return 1;
    }
    struct iocb iocbs[RAND_DEPTH];
    struct iocb *list[RAND_DEPTH];
    void *buffers[RAND_DEPTH];
    for (unsigned i = 0; i < depth; i++) {
        if (posix_memalign(&buffers[i], ALIGNMENT, block)) return 1;
        memset(buffers[i], 0xA5 ^ i, block);
    }

    uint64_t random = 0x9E3779B97F4A7C15ull, position = 0, done = 0;
    unsigned free_slots[RAND_DEPTH], free_count = depth, in_flight = 0;
    for (unsigned i = 0; i < depth; i++) free_slots[i] = i;
    double start = now(), end = start + seconds;
    struct io_event events[RAND_DEPTH];
    /* Keeps `depth` requests in flight until the time is up, then drains;
     * a slot (iocb and buffer) is reused only after its completion. */
    for (;;) {
        unsigned count = 0;
        while (free_count && now() < end) {
            unsigned slot = free_slots[--free_count];
            struct iocb *cb = &iocbs[slot];
            uint64_t offset;
            if (sequential) {
                offset = position;
                position = (position + block) % span;
            } else {
                offset = next_random(&random) % (span / block) * block;
            }
            memset(cb, 0, sizeof(*cb));
            cb->aio_data = slot;
            cb->aio_fildes = fd;
            cb->aio_lio_opcode = writing ? IOCB_CMD_PWRITE : IOCB_CMD_PREAD;
            cb->aio_buf = (uint64_t)(uintptr_t)buffers[slot];
            cb->aio_nbytes = block;
            cb->aio_offset = offset;
            list[count++] = cb;
        }
        if (count) {
            long submitted = syscall(SYS_io_submit, context, count, list);
            if (submitted != (long)count) {
                fprintf(stderr, "tern-diskbench: io_submit: %s\n", submitted < 0 ? strerror(errno) : "short");
                return 1;
            }
            in_flight += count;
        }
        if (!in_flight) break;
        long got = syscall(SYS_io_getevents, context, 1, in_flight, events, NULL);
        if (got < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "tern-diskbench: io_getevents: %s\n", strerror(errno));
            return 1;
        }
        for (long i = 0; i < got; i++) {
            if (events[i].res != (int64_t)block) {
                fprintf(stderr, "tern-diskbench: a request returned %lld\n", (long long)events[i].res);
                return 1;
            }
            free_slots[free_count++] = (unsigned)events[i].data;
        }
        in_flight -= got;
        done += got;
    }
    double elapsed = now() - start;
    printf("%s: %.1f MB/s, %.0f IOPS (%llu requests in %.2f s)\n", test,
           done * (double)block / 1e6 / elapsed, done / elapsed, (unsigned long long)done, elapsed);
    return 0;
}
