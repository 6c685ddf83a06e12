/*
 * The ELF note of a Tern PV guest (docs/abi.md, "The Tern ELF note"): what
 * tells the toolstack that an x86-64 ELF executable was built for Tern
 * (a Linux static program is an ET_EXEC for x86-64 too) before it asks
 * Tern to build a domain from it.
 *
 * In a PT_NOTE segment, in the ELF note format (System V gABI, "Note
 * Section"): namesz, descsz, type (u32 each), then the name and the desc,
 * each padded to 4 bytes. Name "Tern" (namesz 5, with its NUL), type
 * TERN_ELFNOTE_ABI_VERSION, desc a u32: the TERN_ABI_VERSION the guest was
 * built for. The guest SDK emits it (Guests/Runtime/note.c) and
 * guest.ld keeps it; Tern itself loads only PT_LOAD and ignores it.
 */
#ifndef TERN_ELFNOTE_H
#define TERN_ELFNOTE_H

#include "abi.h"

#define TERN_ELFNOTE_NAME         "Tern"
#define TERN_ELFNOTE_ABI_VERSION  1   /* desc: uint32_t TERN_ABI_VERSION */

/* The note as it lies in the file: 24 bytes, 4-byte aligned. */
struct tern_elfnote_abi_version {
    uint32_t namesz;          /* sizeof(TERN_ELFNOTE_NAME) = 5 */
    uint32_t descsz;          /* sizeof(uint32_t) = 4 */
    uint32_t type;            /* TERN_ELFNOTE_ABI_VERSION */
    char     name[8];         /* "Tern", NUL-padded to a multiple of 4 */
    uint32_t abi_version;     /* TERN_ABI_VERSION */
};
TERN_STATIC_ASSERT(sizeof(struct tern_elfnote_abi_version) == 24, "tern_elfnote_abi_version layout");

#endif
