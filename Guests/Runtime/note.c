/*
 * The note that makes an ELF a Tern guest (tern/elfnote.h): `tern create`
 * refuses an executable without it. A section named .note.* is an
 * SHT_NOTE section; guest.ld keeps this one (other notes are discarded)
 * and the linker gives it a PT_NOTE segment.
 */
#include <stdint.h>
#include <tern/elfnote.h>

__attribute__((section(".note.tern"), used, aligned(4)))
static const struct tern_elfnote_abi_version tern_guest_note = {
    .namesz = sizeof(TERN_ELFNOTE_NAME),
    .descsz = sizeof(uint32_t),
    .type = TERN_ELFNOTE_ABI_VERSION,
    .name = TERN_ELFNOTE_NAME,
    .abi_version = TERN_ABI_VERSION,
};
