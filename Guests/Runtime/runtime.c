/*
 * C symbols Embedded Swift links against, for Tern PV guests: a small bump
 * heap for posix_memalign, arc4random_buf; and the start-info pointer.
 * putchar is console.c's; the mem* routines are the hypervisor's
 * (Hypervisor/Runtime/memory.c).
 */
#include <stddef.h>
#include <stdint.h>
#include "tern_guest.h"

/* Set by start.asm from RDI before tern_guest_main runs. */
struct tern_start_info *tern_guest_start_info;

#define GUEST_HEAP_SIZE (256 * 1024)
static unsigned char heap[GUEST_HEAP_SIZE] __attribute__((aligned(16)));
static size_t heap_used;

int posix_memalign(void **out, size_t alignment, size_t size) {
    if (alignment < 16) {
        alignment = 16;
    }
    size_t start = (heap_used + alignment - 1) & ~(alignment - 1);
    if (start > GUEST_HEAP_SIZE || size > GUEST_HEAP_SIZE - start) {
        static const char msg[] = "guest heap exhausted\n";
        tern_hypercall(TERN_HC_CONSOLE_WRITE, (uint64_t)(uintptr_t)msg, sizeof msg - 1, 0, 0, 0);
        tern_hypercall(TERN_HC_SHUTDOWN, TERN_SHUTDOWN_CRASH, 0, 0, 0, 0);
        return 12;
    }
    heap_used = start + size;
    *out = &heap[start];
    return 0;
}

void free(void *p) {
    (void)p; /* a bump heap: small guests never give memory back */
}

void arc4random_buf(void *buf, size_t n) {
    unsigned char *p = buf;
    for (size_t i = 0; i < n; i++) {
        p[i] = (unsigned char)tern_guest_rdtsc();
    }
}
