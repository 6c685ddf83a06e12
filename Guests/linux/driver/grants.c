// SPDX-License-Identifier: GPL-2.0
/*
 * Grants of a Linux guest (tern/grant.h, docs/abi.md "Grant tables"),
 * after drivers/xen/grant-table.c's version 1: the table is the page the
 * attach gave Tern; refs below TERN_GRANT_REF_FIRST_FREE are Tern's (one
 * per device control page), the rest are handed out here. A grant is
 * written frame and domid first, then flags; it ends by clearing its
 * access bits, and its ref is free again only once Tern no longer holds a
 * mapping of it (TERN_GRANT_IN_USE).
 */
#define pr_fmt(fmt) "tern_guest: " fmt

#include <linux/bitmap.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/spinlock.h>

#include "internal.h"

static DEFINE_SPINLOCK(tern_refs_lock);
static DECLARE_BITMAP(tern_refs_used, TERN_GRANT_ENTRIES_MAX);

int tern_grants_init(void)
{
	bitmap_zero(tern_refs_used, TERN_GRANT_ENTRIES_MAX);
	/* Tern's own refs, never handed out. */
	bitmap_set(tern_refs_used, 0, TERN_GRANT_REF_FIRST_FREE);
	return 0;
}

int tern_grant_page(u16 domid, struct page *page, bool readonly)
{
	struct tern_grant_entry *entry;
	unsigned long flags;
	unsigned long ref;
	unsigned long frame = page_to_pfn(page);

	if (frame > U32_MAX)
		return -EINVAL;
	spin_lock_irqsave(&tern_refs_lock, flags);
	ref = find_first_zero_bit(tern_refs_used, tern_attached.grant_entries);
	if (ref >= tern_attached.grant_entries) {
		spin_unlock_irqrestore(&tern_refs_lock, flags);
		return -ENOSPC;
	}
	__set_bit(ref, tern_refs_used);
	spin_unlock_irqrestore(&tern_refs_lock, flags);

	entry = &tern_attached.grants[ref];
	WRITE_ONCE(entry->frame, (u32)frame);
	WRITE_ONCE(entry->domid, domid);
	/* Tern reads the entry afresh at each use: flags last. */
	smp_wmb();
	WRITE_ONCE(entry->flags, TERN_GRANT_ACCESS | (readonly ? TERN_GRANT_READONLY : 0));
	return ref;
}
EXPORT_SYMBOL_GPL(tern_grant_page);

int tern_grant_end(u32 ref)
{
	struct tern_grant_entry *entry;
	unsigned long flags;
	u16 old, now;

	if (ref < TERN_GRANT_REF_FIRST_FREE || ref >= tern_attached.grant_entries || !test_bit(ref, tern_refs_used))
		return -EINVAL;
	entry = &tern_attached.grants[ref];
	/* Revoke: no new mapping; keep TERN_GRANT_IN_USE, which is Tern's.
	 * (Tern runs only while this vCPU does not, but a cmpxchg costs
	 * nothing and stays right with more vCPUs.) */
	old = READ_ONCE(entry->flags);
	do {
		now = old;
		old = cmpxchg(&entry->flags, now, now & TERN_GRANT_IN_USE);
	} while (old != now);
	if (now & TERN_GRANT_IN_USE)
		return -EBUSY;
	WRITE_ONCE(entry->frame, 0);
	WRITE_ONCE(entry->domid, 0);
	spin_lock_irqsave(&tern_refs_lock, flags);
	__clear_bit(ref, tern_refs_used);
	spin_unlock_irqrestore(&tern_refs_lock, flags);
	return 0;
}
EXPORT_SYMBOL_GPL(tern_grant_end);
