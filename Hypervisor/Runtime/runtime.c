/*
 * The few C library symbols Embedded Swift links against on bare metal
 * (platform-facts.md): putchar, posix_memalign/free, arc4random_buf; the
 * mem* routines are in memory.c, shared with the guests' runtime.
 */
#include <stddef.h>
#include <stdint.h>
#include "tern/abi.h"

/* Implemented in Swift (Hypervisor/x86_64/Machine/RuntimeSupport.swift). */
void tern_runtime_putchar(int c);
void tern_runtime_out_of_memory(size_t size) __attribute__((noreturn));
void *tern_heap_allocate(size_t size, size_t alignment);
void tern_heap_free(void *p);

int putchar(int c) {
    tern_runtime_putchar(c);
    return c;
}

/*
 * Swift's allocations go to the hypervisor heap (Core/Heap.swift) over this
 * static area (1 MiB: boot-time tables and, later, kernel objects).
 */
#define TERN_HEAP_SIZE (1024 * 1024)
static unsigned char heap_area[TERN_HEAP_SIZE] __attribute__((aligned(4096)));
void *tern_heap_area(void) { return heap_area; }
size_t tern_heap_area_size(void) { return TERN_HEAP_SIZE; }
/* The heap's map of block starts, one bit per 16 bytes, then its 16 bins'
 * heads and their mask (Heap.startMapWords). */
static uint64_t heap_start_map[TERN_HEAP_SIZE / 16 / 64 + 16 + 1];
uint64_t *tern_heap_start_map(void) { return heap_start_map; }

/*
 * Tern's console history (Core/ConsoleRing.swift), static so that it keeps
 * the log from the first line, before the heap exists.
 */
static unsigned char console_ring_area[TERN_LOG_RING_SIZE];
void *tern_console_ring_area(void) { return console_ring_area; }

int posix_memalign(void **out, size_t alignment, size_t size) {
    void *p = tern_heap_allocate(size, alignment);
    if (p == NULL) {
        tern_runtime_out_of_memory(size);
    }
    *out = p;
    return 0;
}

void free(void *p) {
    if (p != NULL) {
        tern_heap_free(p);
    }
}

/* Hash seeds only (Dictionary/Set); not a source of secrets. */
void arc4random_buf(void *buf, size_t n) {
    unsigned char *p = buf;
    uint32_t lo, hi;
    for (size_t i = 0; i < n; i++) {
        __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
        p[i] = (unsigned char)(lo ^ (lo >> 8) ^ hi);
    }
}
