; Multiboot headers for both loaders, first in the image (linker.ld).
;  - multiboot2 (GRUB `multiboot2`): loads the ELF64 by its program headers.
;  - multiboot1 with the a.out kludge (QEMU -kernel): QEMU's loader refuses
;    64-bit ELF images, so the header spells out where to copy the file.
; Specs: Multiboot 0.6.96 section 3.1, Multiboot2 1.6 section 3.1.

%include "layout.inc"

extern tern_start32
extern __image_start, __data_end, __bss_end

MB1_MAGIC            equ 0x1BADB002
MB1_PAGE_ALIGN       equ 1 << 0    ; modules on page boundaries
MB1_MEMORY_INFO      equ 1 << 1    ; we want mem_* and the memory map
MB1_AOUT_KLUDGE      equ 1 << 16   ; use the address fields below
MB1_FLAGS            equ MB1_PAGE_ALIGN | MB1_MEMORY_INFO | MB1_AOUT_KLUDGE

MB2_MAGIC            equ 0xE85250D6
MB2_ARCH_I386        equ 0
MB2_TAG_END          equ 0
MB2_TAG_MODULE_ALIGN equ 6

section .multiboot
align 8
mb2_header:
    dd MB2_MAGIC
    dd MB2_ARCH_I386
    dd mb2_header_end - mb2_header
    dd -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
align 8
    dw MB2_TAG_MODULE_ALIGN, 0
    dd 8
align 8
    dw MB2_TAG_END, 0
    dd 8
mb2_header_end:

align 4
mb1_header:
    dd MB1_MAGIC
    dd MB1_FLAGS
    dd -(MB1_MAGIC + MB1_FLAGS)
    dd mb1_header         ; header_addr
    dd __image_start      ; load_addr
    dd __data_end         ; load_end_addr
    dd __bss_end          ; bss_end_addr (zeroed by the loader)
    dd tern_start32       ; entry_addr
