// SPDX-License-Identifier: GPL-2.0
/*
 * tern.ko: Dom0's driver for the Tern hypervisor.
 *
 * Detects Tern (CPUID leaf 0x40000000), checks the ABI major version and
 * makes Tern's state readable under /proc/tern (root only):
 *
 *   version   "Tern ABI <major>.<minor>"
 *   domains   one line per domain, like `xl list`   (TERN_HC_DOMAIN_LIST)
 *   dmesg     Tern's log ring as text, like `xl dmesg` (TERN_HC_LOG_READ)
 *
 * and gives the toolstack /dev/tern (root only; tern/ioctl.h, docs/dom0.md):
 * privileged hypercalls, and domain creation from an ELF image in user
 * memory, a created domain being destroyed again if the file is closed
 * (its creator exited or was killed) before the domain was committed.
 *
 * Hypercalls are VMMCALL (Hypervisor/ABI/include/tern/abi.h, docs/abi.md).
 * Pointers passed to Tern are guest-physical: Dom0 is identity mapped, so
 * a buffer's address is __pa() of it, and every buffer Tern reads or writes
 * is kmalloc'd (physically contiguous; never on the stack, which is
 * vmalloc'd with CONFIG_VMAP_STACK, and never vmalloc'd).
 */
#define pr_fmt(fmt) "tern: " fmt

#include <linux/ctype.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/math64.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/uaccess.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <asm/cpufeature.h>
#include <asm/io.h>
#include <asm/page.h>
#include <asm/processor.h>

#include <tern/abi.h>
#include <tern/ioctl.h>

static struct proc_dir_entry *tern_proc_dir;
static u32 tern_abi_version; /* what TERN_HC_VERSION returned at load */

/* --- Hypercalls ---------------------------------------------------------- */

/* tern_hypercall() (VMMCALL) is the ABI's own, in tern/abi.h. */

/* A negative hypercall result as a Linux errno (Tern uses the same numbers). */
static int tern_errno(long ret)
{
	if (ret >= 0)
		return 0;
	return ret < -MAX_ERRNO ? -EIO : (int)ret;
}

/* Tern's CPUID signature: "Tern" in EBX, ECX and EDX of leaf 0x40000000. */
static bool tern_detect(void)
{
	unsigned int eax, ebx, ecx, edx;

	/* Without the "hypervisor present" bit, leaf 0x40000000 means nothing. */
	if (!boot_cpu_has(X86_FEATURE_HYPERVISOR))
		return false;
	cpuid(TERN_CPUID_LEAF_BASE, &eax, &ebx, &ecx, &edx);
	return ebx == TERN_CPUID_SIGNATURE && ecx == TERN_CPUID_SIGNATURE &&
	       edx == TERN_CPUID_SIGNATURE;
}

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

/* --- /dev/tern ------------------------------------------------------------ */

static_assert(TERN_IOCTL_HYPERCALL == _IOWR('T', 1, struct tern_ioctl_hypercall));
static_assert(TERN_IOCTL_CREATE == _IOWR('T', 2, struct tern_ioctl_create));
static_assert(TERN_IOCTL_COMMIT == _IOW('T', 3, uint32_t));

/* What one open /dev/tern holds: domains created and not yet committed. */
struct tern_file {
	struct mutex lock;
	struct list_head provisional;
};

struct tern_provisional {
	struct list_head link;
	u32 domid;
};

/* The hypercalls the toolstack may make through TERN_IOCTL_HYPERCALL. */
static bool tern_call_allowed(u64 nr)
{
	switch (nr) {
	case TERN_HC_VERSION:
	case TERN_HC_DOMAIN_INFO:
	case TERN_HC_DOMAIN_LIST:
	case TERN_HC_LOG_READ:
	case TERN_HC_DOMAIN_CONTROL:
	case TERN_HC_DOMAIN_PREPARE:
	case TERN_HC_SYSTEM_INFO:
	case TERN_HC_DEVICE_ADD:
	case TERN_HC_DEVICE_REMOVE:
		return true;
	default:
		return false;
	}
}

static long tern_ioctl_hypercall(void __user *argp)
{
	struct tern_ioctl_hypercall call;
	void *buffer = NULL;

	if (copy_from_user(&call, argp, sizeof(call)))
		return -EFAULT;
	if (!tern_call_allowed(call.nr))
		return -EPERM;
	if (call.buffer) {
		if (call.buffer_size == 0 || call.buffer_size > PAGE_SIZE || call.buffer_arg > 4)
			return -EINVAL;
		/* kmalloc'd: physically contiguous, so __pa() is what Tern reads. */
		buffer = kmalloc(PAGE_SIZE, GFP_KERNEL);
		if (!buffer)
			return -ENOMEM;
		if (copy_from_user(buffer, u64_to_user_ptr(call.buffer), call.buffer_size)) {
			kfree(buffer);
			return -EFAULT;
		}
		call.args[call.buffer_arg] = __pa(buffer);
		/* LOG_READ's request names a second buffer by address: the
		 * bytes go right after the request in the same page. */
		if (call.nr == TERN_HC_LOG_READ) {
			struct tern_log_read *log = buffer;

			if (call.buffer_size < sizeof(*log) || call.buffer_arg != 0) {
				kfree(buffer);
				return -EINVAL;
			}
			log->buffer_gpa = __pa(buffer) + sizeof(*log);
			log->size = min_t(u32, log->size, call.buffer_size - sizeof(*log));
		}
	}
	call.result = tern_hypercall(call.nr, call.args[0], call.args[1], call.args[2],
				     call.args[3], call.args[4]);
	if (buffer) {
		long failed = copy_to_user(u64_to_user_ptr(call.buffer), buffer, call.buffer_size);

		kfree(buffer);
		if (failed)
			return -EFAULT;
	}
	return copy_to_user(argp, &call, sizeof(call)) ? -EFAULT : 0;
}

static int tern_remember(struct tern_file *tf, u32 domid)
{
	struct tern_provisional *p = kmalloc(sizeof(*p), GFP_KERNEL);

	if (!p)
		return -ENOMEM;
	p->domid = domid;
	mutex_lock(&tf->lock);
	list_add(&p->link, &tf->provisional);
	mutex_unlock(&tf->lock);
	return 0;
}

static long tern_ioctl_create(struct tern_file *tf, void __user *argp)
{
	struct tern_ioctl_create *req;
	struct tern_domain_create *request = NULL;
	u64 *frames = NULL;
	struct page **pages = NULL;
	unsigned long count = 0, i;
	long err = 0;

	req = kmalloc(sizeof(*req), GFP_KERNEL);
	if (!req)
		return -ENOMEM;
	if (copy_from_user(req, argp, sizeof(*req))) {
		err = -EFAULT;
		goto out;
	}
	if (req->image_bytes == 0 || req->image_bytes > (u64)TERN_IMAGE_FRAMES_MAX * PAGE_SIZE) {
		err = -EINVAL;
		goto out;
	}
	count = DIV_ROUND_UP(req->image_bytes, PAGE_SIZE);
	/* Each page its own frame: Tern takes the image as a frame list. */
	pages = kcalloc(count, sizeof(*pages), GFP_KERNEL);
	frames = kmalloc_array(count, sizeof(*frames), GFP_KERNEL);
	request = kmalloc(sizeof(*request), GFP_KERNEL);
	if (!pages || !frames || !request) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < count; i++) {
		u64 done = (u64)i * PAGE_SIZE;
		size_t n = min_t(u64, PAGE_SIZE, req->image_bytes - done);

		pages[i] = alloc_page(GFP_KERNEL);
		if (!pages[i]) {
			err = -ENOMEM;
			goto out;
		}
		if (copy_from_user(page_address(pages[i]), u64_to_user_ptr(req->image + done), n)) {
			err = -EFAULT;
			goto out;
		}
		frames[i] = page_to_phys(pages[i]);
	}
	*request = req->request;
	request->image_frames_gpa = __pa(frames);
	request->image_bytes = req->image_bytes;
	request->image_frame_count = count;
	req->result = tern_hypercall(TERN_HC_DOMAIN_CREATE, __pa(request), 0, 0, 0, 0);
	req->request = *request;
	if (req->result >= 0) {
		err = tern_remember(tf, (u32)req->result);
		if (err) {
			tern_hypercall(TERN_HC_DOMAIN_CONTROL, req->result, TERN_DOMCTL_DESTROY, 0, 0, 0);
			goto out;
		}
	}
	if (copy_to_user(argp, req, sizeof(*req)))
		err = -EFAULT; /* the domain stays provisional: closing the file destroys it */
out:
	if (pages) {
		for (i = 0; i < count; i++)
			if (pages[i])
				__free_page(pages[i]);
	}
	kfree(pages);
	kfree(frames);
	kfree(request);
	kfree(req);
	return err;
}

static long tern_ioctl_commit(struct tern_file *tf, void __user *argp)
{
	struct tern_provisional *p, *next;
	u32 domid;
	long err = -ENOENT;

	if (copy_from_user(&domid, argp, sizeof(domid)))
		return -EFAULT;
	mutex_lock(&tf->lock);
	list_for_each_entry_safe(p, next, &tf->provisional, link) {
		if (p->domid == domid) {
			list_del(&p->link);
			kfree(p);
			err = 0;
			break;
		}
	}
	mutex_unlock(&tf->lock);
	return err;
}

static long tern_dev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case TERN_IOCTL_HYPERCALL:
		return tern_ioctl_hypercall(argp);
	case TERN_IOCTL_CREATE:
		return tern_ioctl_create(file->private_data, argp);
	case TERN_IOCTL_COMMIT:
		return tern_ioctl_commit(file->private_data, argp);
	default:
		return -ENOTTY;
	}
}

static int tern_dev_open(struct inode *inode, struct file *file)
{
	struct tern_file *tf;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	tf = kmalloc(sizeof(*tf), GFP_KERNEL);
	if (!tf)
		return -ENOMEM;
	mutex_init(&tf->lock);
	INIT_LIST_HEAD(&tf->provisional);
	file->private_data = tf;
	return 0;
}

/* The file is closed (the process exited, maybe killed): whatever it
 * created and did not commit goes. */
static int tern_dev_release(struct inode *inode, struct file *file)
{
	struct tern_file *tf = file->private_data;
	struct tern_provisional *p, *next;
	long ret;

	list_for_each_entry_safe(p, next, &tf->provisional, link) {
		ret = tern_hypercall(TERN_HC_DOMAIN_CONTROL, p->domid, TERN_DOMCTL_DESTROY, 0, 0, 0);
		pr_info("destroyed provisional domain %u (its creator closed /dev/tern before committing): %ld\n",
			p->domid, ret);
		list_del(&p->link);
		kfree(p);
	}
	kfree(tf);
	return 0;
}

static const struct file_operations tern_dev_fops = {
	.owner = THIS_MODULE,
	.open = tern_dev_open,
	.release = tern_dev_release,
	.unlocked_ioctl = tern_dev_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice tern_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "tern",
	.fops = &tern_dev_fops,
	.mode = 0600,
};

/* --- Load and unload ----------------------------------------------------- */

static int __init tern_init(void)
{
	long version;
	int err;

	if (!tern_detect()) {
		pr_info("not running on the Tern hypervisor\n");
		return -ENODEV;
	}
	version = tern_hypercall(TERN_HC_VERSION, 0, 0, 0, 0, 0);
	if (version < 0) {
		pr_err("TERN_HC_VERSION failed: %ld\n", version);
		return -ENODEV;
	}
	if ((version >> 16) != TERN_ABI_MAJOR) {
		pr_err("Tern ABI %ld.%ld, this driver speaks %d.x\n",
		       version >> 16, version & 0xffff, TERN_ABI_MAJOR);
		return -EPROTO;
	}
	tern_abi_version = (u32)version;

	tern_proc_dir = proc_mkdir("tern", NULL);
	if (!tern_proc_dir)
		return -ENOMEM;
	if (!proc_create_single("version", 0400, tern_proc_dir, tern_version_show) ||
	    !proc_create_single("domains", 0400, tern_proc_dir, tern_domains_show) ||
	    !proc_create("dmesg", 0400, tern_proc_dir, &tern_dmesg_ops)) {
		proc_remove(tern_proc_dir);
		return -ENOMEM;
	}
	err = misc_register(&tern_dev);
	if (err) {
		proc_remove(tern_proc_dir);
		return err;
	}
	pr_info("Tern ABI %u.%u, /proc/tern and /dev/tern ready\n", tern_abi_version >> 16,
		tern_abi_version & 0xffff);
	return 0;
}

static void __exit tern_exit(void)
{
	misc_deregister(&tern_dev);
	proc_remove(tern_proc_dir); /* the directory and everything in it */
}

module_init(tern_init);
module_exit(tern_exit);

MODULE_DESCRIPTION("Dom0 driver for the Tern hypervisor: /proc/tern and /dev/tern");
MODULE_LICENSE("GPL");
