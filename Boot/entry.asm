; Tern's first instructions: 32-bit protected mode (as both multiboot
; loaders leave it) to 64-bit long mode, then into Swift.
;
; In:  EAX = loader magic, EBX = physical address of the boot information.
; Out: tern_main(magic, info, entry_tsc) on the boot stack, identity-mapped
;      low 4 GiB, NX and CR0.WP on. Swift replaces these tables soon after.
; AMD APM vol. 2, 14.6 "Enabling and Activating Long Mode".

%include "layout.inc"

extern tern_main
global tern_start32
global tern_boot_stack_top
global tern_early_pml4

section .boot.text
bits 32
tern_start32:
    cli
    cld
    mov edi, eax                    ; keep magic and info for tern_main
    mov esi, ebx
    rdtsc                           ; first timestamp for the phase table
    mov [entry_tsc], eax
    mov [entry_tsc + 4], edx
    mov esp, tern_boot_stack_top

    ; Long mode and NX are both required (W^X needs NX).
    mov eax, 0x80000000
    cpuid
    cmp eax, 0x80000001
    jb .no_long_mode
    mov eax, 0x80000001
    cpuid
    test edx, CPUID_EXT_LM
    jz .no_long_mode
    test edx, CPUID_EXT_NX
    jz .no_nx

    ; Zero the early tables (1 PML4 + 1 PDPT + 4 PDs), then identity-map
    ; 0..4 GiB with 2 MiB pages: enough for the image, the boot
    ; information and the modules the loaders place below 4 GiB.
    push edi
    mov edi, early_tables
    mov ecx, (6 * PAGE_SIZE) / 4
    xor eax, eax
    rep stosd
    pop edi

    mov eax, early_pdpt
    or eax, PTE_PRESENT | PTE_WRITE
    mov [early_pml4], eax
    xor ecx, ecx
.pdpt_loop:                          ; PDPT[i] -> PD i, i = 0..3
    mov eax, ecx
    shl eax, 12
    add eax, early_pds
    or eax, PTE_PRESENT | PTE_WRITE
    mov [early_pdpt + ecx * 8], eax
    inc ecx
    cmp ecx, 4
    jb .pdpt_loop
    xor ecx, ecx
.pd_loop:                            ; 2048 PDEs of 2 MiB each = 4 GiB
    mov eax, ecx
    shl eax, 21
    or eax, PTE_PRESENT | PTE_WRITE | PTE_LARGE
    mov [early_pds + ecx * 8], eax
    mov eax, ecx
    shr eax, 11                      ; bits 32+ of the 2 MiB frame address
    mov [early_pds + ecx * 8 + 4], eax
    inc ecx
    cmp ecx, 2048
    jb .pd_loop

    mov eax, cr4
    or eax, CR4_PAE
    mov cr4, eax
    mov eax, early_pml4
    mov cr3, eax
    mov ecx, MSR_EFER
    rdmsr
    or eax, EFER_LME | EFER_NXE
    wrmsr
    mov eax, cr0
    or eax, CR0_PG | CR0_PE | CR0_WP  ; WP: ring 0 honours read-only pages
    mov cr0, eax

    lgdt [early_gdt_ptr]
    jmp SEL_CODE64:long_mode_entry

.no_long_mode:
    mov esi, msg_no_long_mode
    jmp early_fail
.no_nx:
    mov esi, msg_no_nx
    ; fall through

; Print the NUL-terminated string at ESI on COM1 and halt. The UART is
; usable without programming under QEMU and most firmware hand-offs.
early_fail:
    mov dx, COM1
.next:
    lodsb
    test al, al
    jz .halt
    out dx, al
    jmp .next
.halt:
    cli
    hlt
    jmp .halt

bits 64
long_mode_entry:
    mov ax, SEL_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    mov rsp, tern_boot_stack_top
    xor ebp, ebp                     ; ends the frame-pointer backtrace
    mov edi, edi                     ; magic (zero-extended)
    mov esi, esi                     ; info  (zero-extended)
    mov rdx, [entry_tsc]
    call tern_main
.hang:                               ; tern_main never returns
    cli
    hlt
    jmp .hang

section .rodata
msg_no_long_mode: db "(tern) FATAL: this CPU has no 64-bit long mode; Tern needs x86-64", 13, 10, 0
msg_no_nx:        db "(tern) FATAL: this CPU has no NX bit; Tern needs it for W^X", 13, 10, 0

align 8
early_gdt:
    dq 0                             ; null
    dq 0x00AF9A000000FFFF            ; 0x08: 64-bit ring 0 code (L=1)
    dq 0x00CF92000000FFFF            ; 0x10: ring 0 data
early_gdt_end:
early_gdt_ptr:
    dw early_gdt_end - early_gdt - 1
    dq early_gdt

section .data
align 8
entry_tsc: dq 0

section .bss
align 4096
early_tables:
tern_early_pml4:
early_pml4: resb PAGE_SIZE
early_pdpt: resb PAGE_SIZE
early_pds:  resb 4 * PAGE_SIZE

; Stack slots: see layout.inc. Slot 0 is the boot stack.
section .stacks nobits align=4096
tern_stacks:
    resb STACK_SLOT_SIZE * STACK_SLOTS
tern_boot_stack_top equ tern_stacks + STACK_SLOT_SIZE
