// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/tern (root only): Tern's state for people and scripts.
 *
 *   version   "Tern ABI <major>.<minor>"
 *   domains   one line per domain, like `xl list`   (TERN_HC_DOMAIN_LIST)
 *   dmesg     Tern's log ring as text, like `xl dmesg` (TERN_HC_LOG_READ)
 */
#define pr_fmt(fmt) "tern: " fmt

#include <linux/ctype.h>
#include <linux/math64.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <asm/io.h>

#include "tern.h"

static struct proc_dir_entry *tern_proc_dir;

/* --- /proc/tern/version -------------------------------------------------- */

static int tern_version_show(struct seq_file *m, void *v)
{
	seq_printf(m, "Tern ABI %u.%u\n", tern_abi_version >> 16,
		   tern_abi_version & 0xffff);
	return 0;
}


/* --- /proc/tern/domains -------------------------------------------------- */

static const char *const tern_state_names[] = {
	[TERN_DOMAIN_CREATED] = "created",   [TERN_DOMAIN_PAUSED] = "paused",
	[TERN_DOMAIN_RUNNING] = "running",   [TERN_DOMAIN_BLOCKED] = "blocked",
	[TERN_DOMAIN_SHUTDOWN] = "shutdown", [TERN_DOMAIN_CRASHED] = "crashed",
	[TERN_DOMAIN_DYING] = "dying",       [TERN_DOMAIN_DEAD] = "dead",
};

static void tern_domain_show_one(struct seq_file *m,
				 const struct tern_domain_info *d)
{
	char name[sizeof(d->name) + 1];
	const char *state = "unknown";
	u64 tenths = div_u64(d->cpu_time_ns + 50000000, 100000000); /* rounded */
	u32 rem;
	u64 secs = div_u64_rem(tenths, 10, &rem);
	size_t i;

	/* NUL-padded, not necessarily NUL-terminated; keep the table readable. */
	for (i = 0; i < sizeof(d->name) && d->name[i]; i++)
		name[i] = isprint(d->name[i]) ? d->name[i] : '?';
	name[i] = '\0';
	if (d->state < ARRAY_SIZE(tern_state_names))
		state = tern_state_names[d->state];

	seq_printf(m, "%5u  %-32s  %-8s  %8llu  %5u  %9llu.%u  %s\n", d->domid,
		   name, state, d->memory_bytes >> 20, d->vcpus, secs, rem,
		   (d->flags & TERN_DOMAIN_FLAG_PRIVILEGED) ? "privileged" : "-");
}

/* Lists every domain, TERN_DOMAIN_LIST_MAX per hypercall, in id order. */
static int tern_domains_show(struct seq_file *m, void *v)
{
	struct tern_domain_info *list;
	u64 first = 0;
	long n, i;
	int err = 0;

	list = kmalloc_array(TERN_DOMAIN_LIST_MAX, sizeof(*list), GFP_KERNEL);
	if (!list)
		return -ENOMEM;

	seq_printf(m, "%5s  %-32s  %-8s  %8s  %5s  %11s  %s\n", "ID", "NAME",
		   "STATE", "MEM(MiB)", "VCPUS", "TIME(s)", "FLAGS");
	for (;;) {
		n = tern_hypercall(TERN_HC_DOMAIN_LIST, first, __pa(list),
				   TERN_DOMAIN_LIST_MAX, 0, 0);
		if (n < 0) {
			pr_warn_ratelimited("TERN_HC_DOMAIN_LIST failed: %ld\n", n);
			err = tern_errno(n);
			break;
		}
		if (n > TERN_DOMAIN_LIST_MAX) {
			pr_warn_ratelimited("TERN_HC_DOMAIN_LIST returned %ld entries\n", n);
			err = -EIO;
			break;
		}
		for (i = 0; i < n; i++)
			tern_domain_show_one(m, &list[i]);
		if (n < TERN_DOMAIN_LIST_MAX)
			break;
		/* A full batch: go on after its last id (ids only increase). */
		if ((u64)list[n - 1].domid + 1 <= first) {
			pr_warn_ratelimited("TERN_HC_DOMAIN_LIST ids not increasing\n");
			err = -EIO;
			break;
		}
		first = (u64)list[n - 1].domid + 1;
	}
	kfree(list);
	return err;
}


/* --- /proc/tern/dmesg ---------------------------------------------------- */

/* A snapshot of Tern's log ring, taken at open and freed at release. */
struct tern_log_snapshot {
	size_t len;
	char data[TERN_LOG_RING_SIZE];
};

/*
 * Reads the ring from its oldest byte (position 0: Tern starts at the
 * oldest byte it still holds, and `lost` says how much had wrapped away,
 * which is normal) until the reader catches up with Tern's end, through a
 * 4 KiB bounce buffer. At most TERN_LOG_RING_SIZE bytes: if Tern writes
 * faster than this reads, the snapshot stops when it is full.
 */
static int tern_log_fill(struct tern_log_snapshot *snap)
{
	struct tern_log_read *req;
	char *bounce;
	u64 position = 0;
	long n;
	int err = 0;

	req = kzalloc(sizeof(*req), GFP_KERNEL);
	bounce = kmalloc(TERN_LOG_READ_MAX, GFP_KERNEL);
	if (!req || !bounce) {
		err = -ENOMEM;
		goto out;
	}
	snap->len = 0;
	while (snap->len < sizeof(snap->data)) {
		req->buffer_gpa = __pa(bounce);
		req->size = min_t(size_t, TERN_LOG_READ_MAX,
				  sizeof(snap->data) - snap->len);
		req->reserved = 0;
		req->position = position;
		n = tern_hypercall(TERN_HC_LOG_READ, __pa(req), 0, 0, 0, 0);
		if (n < 0) {
			pr_warn_ratelimited("TERN_HC_LOG_READ failed: %ld\n", n);
			err = tern_errno(n);
			break;
		}
		if (n > req->size) {
			pr_warn_ratelimited("TERN_HC_LOG_READ returned %ld bytes\n", n);
			err = -EIO;
			break;
		}
		if (n == 0)
			break;
		/* (A later call's `lost` > 0 means Tern lapped this reader;
		 * the text then jumps ahead. Rare, and only a display glitch.) */
		memcpy(snap->data + snap->len, bounce, n);
		snap->len += n;
		position = req->position;
		if (position >= req->end)
			break;
	}
out:
	kfree(bounce);
	kfree(req);
	return err;
}

static int tern_dmesg_open(struct inode *inode, struct file *file)
{
	struct tern_log_snapshot *snap;
	int err;

	snap = vmalloc(sizeof(*snap));
	if (!snap)
		return -ENOMEM;
	err = tern_log_fill(snap);
	if (err) {
		vfree(snap);
		return err;
	}
	file->private_data = snap;
	return 0;
}

static ssize_t tern_dmesg_read(struct file *file, char __user *buf,
			       size_t count, loff_t *ppos)
{
	struct tern_log_snapshot *snap = file->private_data;

	return simple_read_from_buffer(buf, count, ppos, snap->data, snap->len);
}

static int tern_dmesg_release(struct inode *inode, struct file *file)
{
	vfree(file->private_data);
	return 0;
}

static const struct proc_ops tern_dmesg_ops = {
	.proc_open = tern_dmesg_open,
	.proc_read = tern_dmesg_read,
	.proc_lseek = default_llseek,
	.proc_release = tern_dmesg_release,
};

int tern_proc_init(void)
{
	tern_proc_dir = proc_mkdir("tern", NULL);
	if (!tern_proc_dir)
		return -ENOMEM;
	if (!proc_create_single("version", 0400, tern_proc_dir, tern_version_show) ||
	    !proc_create_single("domains", 0400, tern_proc_dir, tern_domains_show) ||
	    !proc_create("dmesg", 0400, tern_proc_dir, &tern_dmesg_ops)) {
		proc_remove(tern_proc_dir);
		return -ENOMEM;
	}
	return 0;
}

void tern_proc_exit(void)
{
	proc_remove(tern_proc_dir); /* the directory and everything in it */
}
