; Interrupt and exception entry stubs, and the few routines that cannot be
; written as inline asm in Hypervisor/x86_64/include/cpu.h.
;
; Every vector runs on an IST stack (set by the IDT in Swift): a red zone
; left by a precompiled runtime function can never be overwritten, and a
; fault on a broken stack still gets a good stack.
; The CPU pushes an error code only for some exceptions (AMD APM vol. 2,
; 8.2 and 8.4.1); the stubs push a zero for the others so that one frame
; layout serves all (InterruptFrame in Hypervisor/x86_64/Machine).

%include "layout.inc"

extern tern_interrupt
global tern_isr_stubs
global tern_load_gdt
global tern_selftest_fault
global tern_selftest_fault_rip

section .text
bits 64

%macro ISR_NOERR 1
isr_%1:
    push 0
    push %1
    jmp isr_common
%endmacro
; A device interrupt can arrive on an error-code vector too (Dom0 programs
; MSIs and the IOAPIC), and then the CPU pushes no error code. In long mode
; the CPU aligns RSP to 16 before pushing its 5-qword frame (APM vol. 2,
; 8.9.3), so RSP is 8 mod 16 without an error code, 0 with one.
%macro ISR_ERR 1
isr_%1:
    test rsp, 8
    jz %%has_error_code
    push 0                       ; an interrupt on this vector, not the exception
%%has_error_code:
    push %1
    jmp isr_common
%endmacro

; Vectors that push an error code: #DF 8, #TS 10, #NP 11, #SS 12, #GP 13,
; #PF 14, #AC 17, #CP 21, #VC 29, #SX 30.
%assign v 0
%rep 256
  %if v = 8 || (v >= 10 && v <= 14) || v = 17 || v = 21 || v = 29 || v = 30
    ISR_ERR v
  %else
    ISR_NOERR v
  %endif
  %assign v v + 1
%endrep

isr_common:
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    mov rdi, rsp                 ; InterruptFrame *
    call tern_interrupt          ; 16-byte aligned here (21 qwords + CPU align)
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16                  ; vector and error code
    iretq

; void tern_load_gdt(const void *gdtr, uint16_t code_sel, uint16_t data_sel)
; Loads the GDT and reloads every segment register; CS needs a far return.
tern_load_gdt:
    lgdt [rdi]
    mov ax, dx
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    movzx rsi, si
    push rsi
    lea rax, [rel .reloaded]
    push rax
    retfq
.reloaded:
    ret

; void tern_selftest_fault(uint64_t address)
; Reads from `address` at a known RIP (tern_selftest_fault_rip) so the boot
; test can check that the panic report names exactly this instruction.
tern_selftest_fault:
    push rbp
    mov rbp, rsp
tern_selftest_fault_rip:
    mov rax, [rdi]
    pop rbp
    ret

section .rodata
align 8
tern_isr_stubs:
%assign v 0
%rep 256
    dq isr_ %+ v
  %assign v v + 1
%endrep
