/*
 * Tern guest SDK, C side: the hypercall instruction and the few privileged
 * instructions a PV guest needs, as static inline functions for Swift.
 * The ABI itself (numbers, structs) is the hypervisor's public header.
 */
#ifndef TERN_GUEST_H
#define TERN_GUEST_H

#include <stddef.h>
#include <stdint.h>
#include "tern/abi.h"

/* tern_hypercall() (VMMCALL) comes with tern/abi.h. */

static inline void tern_guest_cli(void) { __asm__ volatile("cli" : : : "memory"); }
static inline void tern_guest_sti(void) { __asm__ volatile("sti" : : : "memory"); }
static inline void tern_guest_hlt(void) { __asm__ volatile("hlt" : : : "memory"); }
static inline void tern_guest_sti_hlt(void) { __asm__ volatile("sti; hlt" : : : "memory"); }
static inline void tern_guest_pause(void) { __asm__ volatile("pause"); }
static inline uint64_t tern_guest_rdtsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}
static inline uint64_t tern_guest_read_cr3(void) { uint64_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline void tern_guest_write_cr3(uint64_t v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
typedef struct { uint32_t eax, ebx, ecx, edx; } tern_guest_cpuid_result;
static inline tern_guest_cpuid_result tern_guest_cpuid(uint32_t leaf, uint32_t subleaf) {
    tern_guest_cpuid_result r;
    __asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
    return r;
}
static inline void tern_guest_lidt(const void *idtr) { __asm__ volatile("lidt (%0)" : : "r"(idtr) : "memory"); }
static inline void tern_guest_int3(void) { __asm__ volatile("int3" : : : "memory"); }
static inline uint64_t tern_guest_read64(uint64_t address) { return *(volatile uint64_t *)(uintptr_t)address; }
static inline void tern_guest_write64(uint64_t address, uint64_t value) { *(volatile uint64_t *)(uintptr_t)address = value; }
static inline uint64_t tern_guest_rdmsr(uint32_t msr) {
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}
static inline uint8_t tern_guest_inb(uint16_t port) {
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

/* runtime.c: flush what print() buffered (done at every '\n'). */
void tern_guest_console_flush(void);
/* start.asm: the upcall entry the SDK installs in its IDT. */
extern char tern_guest_upcall_entry[];
static inline uint64_t tern_guest_upcall_address(void) { return (uint64_t)(uintptr_t)tern_guest_upcall_entry; }

#endif
