/*
 * memset, memcpy, memmove, memcmp for freestanding code: the hypervisor and
 * the PV guests (Guests/Runtime) both link this file.
 */
#include <stddef.h>
#include <stdint.h>

/* 8 bytes per iteration for the bulk, then the tail: QEMU's TCG runs a
 * string instruction one iteration at a time, so zeroing a guest's memory
 * takes 8x fewer steps than with byte stores. */
void *memset(void *dst, int c, size_t n) {
    void *d = dst;
    uint64_t pattern = 0x0101010101010101ull * (uint8_t)c;
    size_t words = n / 8, rest = n % 8;
    __asm__ volatile("rep stosq" : "+D"(d), "+c"(words) : "a"(pattern) : "memory");
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(rest) : "a"(pattern) : "memory");
    return dst;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n) {
    void *d = dst;
    size_t words = n / 8, rest = n % 8;
    __asm__ volatile("rep movsq" : "+D"(d), "+S"(src), "+c"(words) : : "memory");
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(rest) : : "memory");
    return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d <= s || d >= s + n) {
        return memcpy(dst, src, n);
    }
    /* Overlap with dst above src: copy backwards (DF=1), then restore DF. */
    d += n - 1;
    s += n - 1;
    __asm__ volatile("std; rep movsb; cld" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i]) {
            return x[i] < y[i] ? -1 : 1;
        }
    }
    return 0;
}
