/*
 * Privileged x86-64 instructions and the assembly entry points, for Swift.
 *
 * Everything here is `static inline` so it inlines into the Swift caller;
 * the few routines that need a real function (far return, interrupt stubs)
 * live in Boot/isr.asm and are declared at the bottom.
 */
#ifndef TERN_CPU_H
#define TERN_CPU_H

#include <stddef.h>
#include <stdint.h>

static inline void tern_outb(uint16_t port, uint8_t value) {
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}
static inline uint8_t tern_inb(uint16_t port) {
    uint8_t value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}
static inline uint64_t tern_rdmsr(uint32_t msr) {
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}
static inline void tern_wrmsr(uint32_t msr, uint64_t value) {
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32)) : "memory");
}
typedef struct { uint32_t eax, ebx, ecx, edx; } tern_cpuid_result;
static inline tern_cpuid_result tern_cpuid(uint32_t leaf, uint32_t subleaf) {
    tern_cpuid_result r;
    __asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
    return r;
}
static inline uint64_t tern_rdtsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}
static inline uint64_t tern_read_cr0(void) { uint64_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline uint64_t tern_read_cr2(void) { uint64_t v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline uint64_t tern_read_cr3(void) { uint64_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline uint64_t tern_read_cr4(void) { uint64_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void tern_write_cr3(uint64_t v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline void tern_write_cr4(uint64_t v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }
/*
 * A guest's x87/SSE/AVX state (AMD APM vol. 2, 11.5 "XSAVE/XRSTOR" and
 * vol. 4 FXSAVE): Tern itself never uses these registers (built without
 * SSE), so they hold the state of the vCPU that ran last, and
 * Machine/GuestFPU.swift swaps them when another vCPU runs. The area is
 * 64-byte aligned (a frame); the mask is EDX:EAX.
 */
static inline uint64_t tern_xgetbv(uint32_t xcr) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(xcr));
    return ((uint64_t)hi << 32) | lo;
}
static inline void tern_xsetbv(uint32_t xcr, uint64_t value) {
    __asm__ volatile("xsetbv" : : "c"(xcr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32)) : "memory");
}
static inline void tern_xsave(void *area, uint64_t mask) {
    __asm__ volatile("xsave64 (%0)" : : "r"(area), "a"((uint32_t)mask), "d"((uint32_t)(mask >> 32)) : "memory");
}
static inline void tern_xrstor(const void *area, uint64_t mask) {
    __asm__ volatile("xrstor64 (%0)" : : "r"(area), "a"((uint32_t)mask), "d"((uint32_t)(mask >> 32)) : "memory");
}
static inline void tern_fxsave(void *area) { __asm__ volatile("fxsave64 (%0)" : : "r"(area) : "memory"); }
static inline void tern_fxrstor(const void *area) { __asm__ volatile("fxrstor64 (%0)" : : "r"(area) : "memory"); }
static inline void tern_write_cr0(uint64_t v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline uint64_t tern_read_rbp(void) { uint64_t v; __asm__ volatile("mov %%rbp, %0" : "=r"(v)); return v; }
static inline void tern_cli(void) { __asm__ volatile("cli" : : : "memory"); }
static inline void tern_sti(void) { __asm__ volatile("sti" : : : "memory"); }
static inline void tern_hlt(void) { __asm__ volatile("hlt" : : : "memory"); }
/* STI's one-instruction interrupt shadow makes "sti; hlt" race-free. */
static inline void tern_sti_hlt(void) { __asm__ volatile("sti; hlt" : : : "memory"); }
static inline void tern_pause(void) { __asm__ volatile("pause"); }
static inline void tern_lidt(const void *idtr) { __asm__ volatile("lidt (%0)" : : "r"(idtr) : "memory"); }
static inline void tern_ltr(uint16_t selector) { __asm__ volatile("ltr %0" : : "r"(selector) : "memory"); }

/* 32-bit MMIO; volatile so neither compiler merges or drops accesses. */
static inline uint32_t tern_mmio_read32(uint64_t address) {
    return *(volatile uint32_t *)(uintptr_t)address;
}
static inline void tern_mmio_write32(uint64_t address, uint32_t value) {
    *(volatile uint32_t *)(uintptr_t)address = value;
}

/*
 * What Boot/isr.asm leaves on the stack for tern_interrupt: the general
 * registers it pushed (r15 last, so first here), the vector and error code
 * (zero when the CPU pushes none), then the CPU's frame (APM vol. 2, 8.9.3).
 */
typedef struct {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;
} tern_interrupt_frame;

/*
 * Guest general registers that VMRUN/#VMEXIT do not save (RAX and RSP are
 * in the VMCB). Same order as GuestRegisters in Model/VCPUContext.swift;
 * Boot/vmrun.asm uses the offsets.
 */
typedef struct {
    uint64_t rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15;
} tern_guest_regs;

/* Boot/vmrun.asm: enter the guest whose VMCB is at vmcb_pa until the next
 * #VMEXIT; host FS/GS/TR/LDTR/syscall MSRs are restored from host_pa
 * (a page saved with tern_vmsave at boot). Interrupts: see vmrun.asm. */
void tern_vmrun(uint64_t vmcb_pa, tern_guest_regs *regs, uint64_t host_pa);
static inline void tern_vmsave(uint64_t pa) { __asm__ volatile("vmsave %%rax" : : "a"(pa) : "memory"); }
/* Let a host interrupt that became pending while a guest ran be taken now
 * ("sti; cli" would not: STI's shadow covers the next instruction). */
static inline void tern_take_pending_interrupts(void) { __asm__ volatile("sti; nop; cli" : : : "memory"); }

/* Boot/isr.asm */
extern const uint64_t tern_isr_stubs[256];
void tern_load_gdt(const void *gdtr, uint16_t code_selector, uint16_t data_selector);
void tern_selftest_fault(uint64_t address);

/* Hypervisor/Runtime/runtime.c: the heap's static area. */
void *tern_heap_area(void);
size_t tern_heap_area_size(void);
uint64_t *tern_heap_start_map(void);   /* Heap.startMapWords(forSize: tern_heap_area_size()) words */
/* Hypervisor/Runtime/runtime.c: TERN_LOG_RING_SIZE bytes for the console history. */
void *tern_console_ring_area(void);

/* linker.ld section boundaries, as addresses. */
extern char __image_start[], __image_end[], __text_start[], __text_end[];
extern char __rodata_start[], __rodata_end[], __data_start[], __data_end[];
extern char __bss_start[], __bss_end[], __stacks_start[], __stacks_end[];
typedef struct {
    uint64_t image_start, image_end, text_start, text_end, rodata_start, rodata_end;
    uint64_t data_start, data_end, bss_start, bss_end, stacks_start, stacks_end;
} tern_image_symbols;
static inline tern_image_symbols tern_image_layout(void) {
    tern_image_symbols s = {
        (uint64_t)(uintptr_t)__image_start, (uint64_t)(uintptr_t)__image_end,
        (uint64_t)(uintptr_t)__text_start, (uint64_t)(uintptr_t)__text_end,
        (uint64_t)(uintptr_t)__rodata_start, (uint64_t)(uintptr_t)__rodata_end,
        (uint64_t)(uintptr_t)__data_start, (uint64_t)(uintptr_t)__data_end,
        (uint64_t)(uintptr_t)__bss_start, (uint64_t)(uintptr_t)__bss_end,
        (uint64_t)(uintptr_t)__stacks_start, (uint64_t)(uintptr_t)__stacks_end,
    };
    return s;
}
static inline uint64_t tern_isr_stub(unsigned vector) { return tern_isr_stubs[vector & 0xFF]; }

#endif
