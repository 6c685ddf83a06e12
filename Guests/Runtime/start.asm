; Entry of a Tern PV guest (docs/abi.md, "Start of day"): 64-bit long mode,
; identity-mapped, CPL 0, IF=0, RSP on a boot stack from Tern, RDI = the
; start-info page. Keeps the start-info address in tern_guest_start_info
; (the SDK finds the shared pages and the console device through it), lets
; the SDK start (tern_guest_runtime_start: it listens for shutdown requests),
; calls tern_guest_main(start_info) and shuts the domain down with its return
; value as the reason.

%define TERN_HC_SHUTDOWN 4

extern tern_guest_main
extern tern_guest_runtime_start
extern tern_guest_console_flush
extern tern_guest_upcall
extern tern_guest_start_info
global _start
global tern_guest_upcall_entry

section .text.start
bits 64
_start:
    xor ebp, ebp                 ; ends backtraces
    and rsp, -16
    mov [rel tern_guest_start_info], rdi
    push rdi
    sub rsp, 8                   ; keeps RSP 16-byte aligned at the call
    call tern_guest_runtime_start ; the SDK's own start (ShutdownRequest)
    add rsp, 8
    pop rdi
    call tern_guest_main
    push rax
    call tern_guest_console_flush
    pop rdi
    mov eax, TERN_HC_SHUTDOWN
    vmmcall
.hang:
    hlt
    jmp .hang

; Upcall vector handler: saves the caller-saved registers, calls the Swift
; handler, returns with IRETQ. No error code (it is an interrupt).
section .text
tern_guest_upcall_entry:
    push rax
    push rcx
    push rdx
    push rsi
    push rdi
    push r8
    push r9
    push r10
    push r11
    mov rbp, rsp
    and rsp, -16
    call tern_guest_upcall
    mov rsp, rbp
    pop r11
    pop r10
    pop r9
    pop r8
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rax
    iretq
