; tern_vmrun(vmcb_pa: rdi, regs: rsi, host_pa: rdx)
;
; One trip into a guest and back (AMD APM vol. 2, 15.5 "VMRUN" and 15.17
; "Global Interrupt Flag"):
;   CLGI, STI   host interrupts held off by GIF=0, but host RFLAGS.IF=1 is
;               what VMRUN saves: with V_INTR_MASKING set, that lets a
;               physical interrupt stop the guest (#VMEXIT INTR) whatever
;               the guest's own IF says, so a spinning guest is preempted.
;   VMLOAD      guest FS/GS/TR/LDTR/KernelGSBase/STAR... from its VMCB
;   VMRUN       runs the guest; hardware restores host RAX, RSP, RIP, CR*,
;               EFER, segments (not FS/GS/TR...) on #VMEXIT
;   VMSAVE      guest's FS/GS/TR/... back into its VMCB
;   VMLOAD      host's FS/GS/TR/... from host_pa (TR holds the IST stacks)
;   CLI, STGI   back to Tern's rule: interrupts off except where asked
; Guest RBX..R15 come from and go back to *regs; RAX/RSP are in the VMCB.

%include "layout.inc"

global tern_vmrun

; offsets in tern_guest_regs (include/cpu.h)
%define G_RBX 0
%define G_RCX 8
%define G_RDX 16
%define G_RSI 24
%define G_RDI 32
%define G_RBP 40
%define G_R8  48
%define G_R9  56
%define G_R10 64
%define G_R11 72
%define G_R12 80
%define G_R13 88
%define G_R14 96
%define G_R15 104

section .text
bits 64
tern_vmrun:
    push rbp
    mov rbp, rsp
    push rbx
    push r12
    push r13
    push r14
    push r15
    push rsi                      ; [rsp+8]: regs
    push rdx                      ; [rsp]:   host_pa

    mov rax, rdi                  ; VMCB physical address for VMLOAD/VMRUN/VMSAVE
    mov rbx, [rsi + G_RBX]
    mov rcx, [rsi + G_RCX]
    mov rdx, [rsi + G_RDX]
    mov rdi, [rsi + G_RDI]
    mov rbp, [rsi + G_RBP]
    mov r8,  [rsi + G_R8]
    mov r9,  [rsi + G_R9]
    mov r10, [rsi + G_R10]
    mov r11, [rsi + G_R11]
    mov r12, [rsi + G_R12]
    mov r13, [rsi + G_R13]
    mov r14, [rsi + G_R14]
    mov r15, [rsi + G_R15]
    mov rsi, [rsi + G_RSI]

    clgi
    sti
    vmload
    vmrun
    vmsave                        ; RAX = VMCB address again after #VMEXIT

    push rsi                      ; free a register for the regs pointer
    mov rsi, [rsp + 16]           ; regs (below: pushed rsi, host_pa)
    mov [rsi + G_RBX], rbx
    mov [rsi + G_RCX], rcx
    mov [rsi + G_RDX], rdx
    mov [rsi + G_RDI], rdi
    mov [rsi + G_RBP], rbp
    mov [rsi + G_R8],  r8
    mov [rsi + G_R9],  r9
    mov [rsi + G_R10], r10
    mov [rsi + G_R11], r11
    mov [rsi + G_R12], r12
    mov [rsi + G_R13], r13
    mov [rsi + G_R14], r14
    mov [rsi + G_R15], r15
    pop rbx                       ; the guest's RSI
    mov [rsi + G_RSI], rbx

    pop rax                       ; host_pa
    vmload
    cli
    stgi

    add rsp, 8                    ; regs
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret
