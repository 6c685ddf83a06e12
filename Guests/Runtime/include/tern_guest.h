/*
 * Tern guest SDK, C side: the hypercall instruction and the few privileged
 * instructions a PV guest needs, as static inline functions for Swift.
 * The ABI itself (numbers, structs) is the hypervisor's public headers.
 */
#ifndef TERN_GUEST_H
#define TERN_GUEST_H

#include <stddef.h>
#include <stdint.h>
#include "tern/abi.h"
#include "tern/event.h"
#include "tern/grant.h"
#include "tern/device.h"
#include "tern/ring.h"

/* tern_hypercall() (VMMCALL) comes with tern/abi.h. */

static inline void tern_guest_cli(void) { __asm__ volatile("cli" : : : "memory"); }
static inline void tern_guest_sti(void) { __asm__ volatile("sti" : : : "memory"); }
static inline void tern_guest_hlt(void) { __asm__ volatile("hlt" : : : "memory"); }
static inline void tern_guest_sti_hlt(void) { __asm__ volatile("sti; hlt" : : : "memory"); }
/* Interrupts on for one instruction (STI's shadow covers the NOP): a
 * pending upcall is taken here, and nowhere else. */
static inline void tern_guest_take_interrupts(void) { __asm__ volatile("sti; nop; cli" : : : "memory"); }
/* STI then TERN_HC_BLOCK in its shadow: no upcall can be taken between
 * the two (one taken there would be handled, then BLOCK sleep on). */
static inline void tern_guest_sti_block(void) {
    uint64_t rax = TERN_HC_BLOCK;
    __asm__ volatile("sti; vmmcall" : "+a"(rax) : : "memory");
}
/* Interrupts off; returns RFLAGS as it was, for tern_guest_irq_restore. */
static inline uint64_t tern_guest_irq_save(void) {
    uint64_t flags;
    __asm__ volatile("pushfq; popq %0; cli" : "=r"(flags) : : "memory");
    return flags;
}
/* Interrupts back on if they were on (RFLAGS.IF, bit 9) at the save. */
static inline void tern_guest_irq_restore(uint64_t flags) {
    if (flags & (1u << 9)) __asm__ volatile("sti" : : : "memory");
}
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
static inline void tern_guest_outb(uint16_t port, uint8_t value) {
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}
static inline uint8_t tern_guest_inb(uint16_t port) {
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

/*
 * SSE for a guest that uses the vector registers (the hostile guest's
 * `mode=vectors`): CR4.OSFXSR and OSXMMEXCPT (AMD APM vol. 2, 3.1.3), and
 * the 16 XMM registers loaded from / stored to 256 bytes. The guests are
 * built without SSE, so no compiled code of theirs touches these registers
 * between the two.
 */
#define TERN_GUEST_CR4_OSFXSR (1ULL << 9)
#define TERN_GUEST_CR4_OSXMMEXCPT (1ULL << 10)
static inline void tern_guest_enable_sse(void) {
    uint64_t cr4;
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    __asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | TERN_GUEST_CR4_OSFXSR | TERN_GUEST_CR4_OSXMMEXCPT) : "memory");
}
static inline void tern_guest_load_xmm(const uint8_t *from) {
    __asm__ volatile(
        "movdqu 0(%0), %%xmm0\n\t"    "movdqu 16(%0), %%xmm1\n\t"   "movdqu 32(%0), %%xmm2\n\t"
        "movdqu 48(%0), %%xmm3\n\t"   "movdqu 64(%0), %%xmm4\n\t"   "movdqu 80(%0), %%xmm5\n\t"
        "movdqu 96(%0), %%xmm6\n\t"   "movdqu 112(%0), %%xmm7\n\t"  "movdqu 128(%0), %%xmm8\n\t"
        "movdqu 144(%0), %%xmm9\n\t"  "movdqu 160(%0), %%xmm10\n\t" "movdqu 176(%0), %%xmm11\n\t"
        "movdqu 192(%0), %%xmm12\n\t" "movdqu 208(%0), %%xmm13\n\t" "movdqu 224(%0), %%xmm14\n\t"
        "movdqu 240(%0), %%xmm15"
        : : "r"(from) : "memory");
}
static inline void tern_guest_store_xmm(uint8_t *to) {
    __asm__ volatile(
        "movdqu %%xmm0, 0(%0)\n\t"    "movdqu %%xmm1, 16(%0)\n\t"   "movdqu %%xmm2, 32(%0)\n\t"
        "movdqu %%xmm3, 48(%0)\n\t"   "movdqu %%xmm4, 64(%0)\n\t"   "movdqu %%xmm5, 80(%0)\n\t"
        "movdqu %%xmm6, 96(%0)\n\t"   "movdqu %%xmm7, 112(%0)\n\t"  "movdqu %%xmm8, 128(%0)\n\t"
        "movdqu %%xmm9, 144(%0)\n\t"  "movdqu %%xmm10, 160(%0)\n\t" "movdqu %%xmm11, 176(%0)\n\t"
        "movdqu %%xmm12, 192(%0)\n\t" "movdqu %%xmm13, 208(%0)\n\t" "movdqu %%xmm14, 224(%0)\n\t"
        "movdqu %%xmm15, 240(%0)"
        : : "r"(to) : "memory");
}

/* start.asm stores the start-info page's address (RDI at entry) here
 * before it calls tern_guest_main. */
extern struct tern_start_info *tern_guest_start_info;

/*
 * Words shared with Tern (the event page, grant entries): each update is
 * one instruction, so it is whole whichever side runs next. Tern runs on
 * this CPU only between the guest's instructions (it is uniprocessor), so
 * the LOCK prefixes are not needed for Tern's sake; they keep the
 * operations atomic should a second vCPU ever share the page.
 */
static inline uint64_t tern_guest_load64(const volatile uint64_t *p) { return *p; }
static inline uint16_t tern_guest_load16(const volatile uint16_t *p) { return *p; }
static inline uint8_t tern_guest_load8(const volatile uint8_t *p) { return *p; }
static inline void tern_guest_store16(volatile uint16_t *p, uint16_t v) { *p = v; }
static inline void tern_guest_store8(volatile uint8_t *p, uint8_t v) { *p = v; }
static inline uint64_t tern_guest_exchange64(volatile uint64_t *p, uint64_t v) {
    __asm__ volatile("xchgq %0, %1" : "+r"(v), "+m"(*p) : : "memory");   /* XCHG with memory is always locked */
    return v;
}
static inline void tern_guest_clear_bits64(volatile uint64_t *p, uint64_t bits) {
    __asm__ volatile("lock andq %1, %0" : "+m"(*p) : "r"(~bits) : "memory");
}
/* Returns the value found: equal to `expected` if `desired` was stored. */
static inline uint16_t tern_guest_compare_exchange16(volatile uint16_t *p, uint16_t expected, uint16_t desired) {
    __asm__ volatile("lock cmpxchgw %2, %1" : "+a"(expected), "+m"(*p) : "r"(desired) : "memory");
    return expected;
}

/* Fields of the shared pages that Swift sees as tuples (C arrays), by index. */
static inline volatile uint64_t *tern_guest_event_pending_word(struct tern_event_page *page, uint32_t word) {
    return &page->pending[word];
}
static inline volatile uint64_t *tern_guest_event_mask_word(struct tern_event_page *page, uint32_t word) {
    return &page->mask[word];
}
static inline volatile uint64_t *tern_guest_event_selector(struct tern_event_page *page) {
    return &page->vcpu[0].pending_sel;
}
static inline volatile uint8_t *tern_guest_event_upcall_pending(struct tern_event_page *page) {
    return &page->vcpu[0].upcall_pending;
}
static inline const volatile uint32_t *tern_guest_device_page_version(const struct tern_device_page *page) {
    return &page->version;
}
static inline const volatile uint32_t *tern_guest_device_page_count(const struct tern_device_page *page) {
    return &page->count;
}
static inline const struct tern_device_entry *tern_guest_device_entry(const struct tern_device_page *page, uint32_t index) {
    return &page->entries[index];
}
static inline volatile uint16_t *tern_guest_grant_flags(struct tern_grant_entry *entry) { return &entry->flags; }

/* console.c: flush what print() buffered (done at every '\n'), through
 * the console device's ring when there is one, else TERN_HC_CONSOLE_WRITE. */
void tern_guest_console_flush(void);
/* console.c: the console device's port (0: no console device; events on
 * it mean input may have arrived), and up to `max` bytes typed into the
 * console so far (0 if none). */
uint32_t tern_guest_console_port(void);
/* console.c: one byte of console output (print() ends up here). */
int putchar(int c);
size_t tern_guest_console_read(uint8_t *buffer, size_t max);
/* start.asm: the upcall entry the SDK installs in its IDT. */
extern char tern_guest_upcall_entry[];
static inline uint64_t tern_guest_upcall_address(void) { return (uint64_t)(uintptr_t)tern_guest_upcall_entry; }

#endif
