// SPDX-License-Identifier: GPL-2.0
/*
 * tern_blkfront.ko: the Linux guest's block frontend (issue 17;
 * docs/linux-blkfront.md), for a disk a backend in Dom0 serves over
 * Tern's blkif (tern/blkif.h, docs/abi.md "Block devices"): Xen's blkif
 * ring, byte for byte, and a control page in place of XenStore. It
 * registers for TERN_DEVICE_BLOCK on tern_guest's bus; devid N becomes
 * /dev/xvd<a + N>, a blk-mq disk with one hardware queue.
 *
 * Life of a device (all driven by its event channel; probe never waits):
 *   WAITING    probe bound the port; the link work waits for the backend's
 *              `version`, then copies its fields once, checks them, grants
 *              the ring and the data pages, writes the frontend's fields
 *              and sets frontend_state = READY, last;
 *   READY      until backend_state is CONNECTED (or CLOSED with an error:
 *              logged by name, the device is given up);
 *   CONNECTED  the disk is added and serves I/O;
 *   BROKEN     a response or the ring's indices broke the ABI, or the
 *              backend closed with an error: what was in flight and
 *              everything after fails with BLK_STS_IOERR;
 *   GONE       given up, or being removed.
 *
 * Data never leaves the driver's own pages: each request id owns
 * bf->segments pages (11, or with the backend's indirect segments up to
 * max_indirect_segments, and then an indirect page), the request's data
 * is copied into them
 * (writes) or out of them (reads), packed from the first one. With the
 * backend's TERN_BLKIF_FEATURE_PERSISTENT they are granted once, when
 * the ring is set up (xen-blkfront's feature-persistent); without it they
 * are granted for each request and the grants ended after its response.
 * The backend thus never sees a page of the page cache, and a request
 * failed early (backend gone, bad response, removal) can never have its
 * memory written afterwards: the pages stay the driver's until their
 * grants end.
 */
#define pr_fmt(fmt) "tern-blkfront: " fmt

#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/bvec.h>
#include <linux/delay.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include <tern/blkif.h>

#include "tern_guest.h"

static unsigned int max_ring_order;
module_param(max_ring_order, uint, 0444);
MODULE_PARM_DESC(max_ring_order,
		 "largest ring order to use, 0-2 (default 0: 32 requests; each request id holds its pages and, "
		 "with persistent grants, as many grant refs: see max_indirect_segments)");

static unsigned int max_indirect_segments = 32;
module_param(max_indirect_segments, uint, 0444);
MODULE_PARM_DESC(max_indirect_segments,
		 "largest request in pages, when the backend takes indirect segments (default 32: 128 KiB, as "
		 "xen-blkfront's; 12-64; 0 or up to 11: no indirect requests). Each of the 32 request ids holds that "
		 "many pages and, with persistent grants, as many grant refs, plus one for its indirect page");

#define BLKFRONT_NAME         "xvd"
#define BLKFRONT_PARTS        16   /* minors per disk: the disk and 15 partitions */
#define BLKFRONT_MAX_DISKS    (26 + 26 * 26)  /* xvda .. xvdzz */
/* Waits for the backend to unmap pages before they are ours again. */
#define BLKFRONT_UNMAP_TRIES  50
#define BLKFRONT_UNMAP_WAIT_MS 100
/* Non-persistent grants the backend still maps after its response. */
#define BLKFRONT_RECLAIM_DELAY (HZ / 10)
/* A request id: the shadow's index, and in the upper half a count of its
 * uses, so that a stale or repeated response cannot name a later request. */
#define BLKFRONT_ID_INDEX(id) ((u32)(id))
#define BLKFRONT_ID(index, use) ((u64)(use) << 32 | (index))
/* The most pages one request may have: an indirect one's (one indirect
 * page holds them: TERN_BLKIF_SEGMENTS_PER_INDIRECT_PAGE). */
#define BLKFRONT_SEGMENTS_MAX 64

enum blkfront_state {
	BLKFRONT_WAITING,
	BLKFRONT_READY,
	BLKFRONT_CONNECTED,
	BLKFRONT_BROKEN,
	BLKFRONT_GONE,
};

/* One request id: its data pages and, while the backend has it, the request. */
struct blkfront_shadow {
	struct request *rq;       /* in flight: the request (NULL once completed or failed) */
	u64 id;                   /* the id sent with it */
	u32 uses;
	u8 operation;             /* TERN_BLKIF_OP_* sent */
	bool in_flight;           /* published, no response taken yet */
	bool reclaim;             /* answered, but the backend still maps a grant (not persistent) */
	int next_free;            /* free list, -1 ends it */
	struct page *pages[BLKFRONT_SEGMENTS_MAX];  /* the first bf->segments allocated */
	u32 refs[BLKFRONT_SEGMENTS_MAX];  /* TERN_GRANT_REF_INVALID: not granted */
	/* With indirect requests: the page of their segments, granted for
	 * the id's life (writable with persistent grants, as its data pages;
	 * read-only otherwise). */
	struct page *indirect_page;
	u32 indirect_ref;
};

/* Per blk-mq request. */
struct blkfront_cmd {
	blk_status_t status;
};

struct blkfront {
	struct tern_device *tdev;
	struct tern_blkif_control *control;  /* shared with the backend */
	struct tern_blkif_control backend;   /* the backend's fields, copied once */
	char name[DISK_NAME_LEN];

	spinlock_t lock;                     /* state, the ring, the shadows */
	enum blkfront_state state;

	/* Set by the link work before READY, fixed afterwards. */
	bool persistent, flush, discard, secure_discard, readonly, indirect;
	unsigned int ring_order, entries;
	unsigned int segments;               /* pages a request may have */
	struct page *ring_pages;
	struct tern_ring_header *ring;
	union tern_blkif_slot *slots;
	u32 ring_refs[TERN_BLKIF_MAX_RING_PAGES];
	struct blkfront_shadow *shadow;
	unsigned int nr_ids;

	u32 req_prod_pvt;                    /* requests written */
	u32 rsp_cons;                        /* responses taken */
	int free_head;

	bool backend_away;                   /* link work: backend_state left CONNECTED */
	struct work_struct link_work;
	struct delayed_work reclaim_work;

	struct blk_mq_tag_set tag_set;
	bool tag_set_ready;
	struct gendisk *disk;
	bool disk_added;
};

static int blkfront_major;

static const char *blkfront_error_name(u32 error)
{
	switch (error) {
	case TERN_BLKIF_ERROR_NONE: return "NONE";
	case TERN_BLKIF_ERROR_VERSION: return "VERSION";
	case TERN_BLKIF_ERROR_RING_ORDER: return "RING_ORDER";
	case TERN_BLKIF_ERROR_RING_REF: return "RING_REF";
	case TERN_BLKIF_ERROR_FEATURES: return "FEATURES";
	case TERN_BLKIF_ERROR_RING_BROKEN: return "RING_BROKEN";
	default: return "unknown";
	}
}

static const char *blkfront_op_name(u8 op)
{
	switch (op) {
	case TERN_BLKIF_OP_READ: return "READ";
	case TERN_BLKIF_OP_WRITE: return "WRITE";
	case TERN_BLKIF_OP_FLUSH_DISKCACHE: return "FLUSH_DISKCACHE";
	case TERN_BLKIF_OP_DISCARD: return "DISCARD";
	case TERN_BLKIF_OP_INDIRECT: return "INDIRECT";
	default: return "unknown";
	}
}

static u32 load(u32 *p) { return smp_load_acquire(p); }
static void store(u32 *p, u32 v) { smp_store_release(p, v); }

/* --- Ids and their pages (bf->lock held) --------------------------------------- */

static struct blkfront_shadow *blkfront_get_id(struct blkfront *bf)
{
	struct blkfront_shadow *sh;

	if (bf->free_head < 0)
		return NULL;
	sh = &bf->shadow[bf->free_head];
	bf->free_head = sh->next_free;
	sh->next_free = -1;
	sh->uses++;
	sh->id = BLKFRONT_ID(sh - bf->shadow, sh->uses);
	return sh;
}

static void blkfront_put_id(struct blkfront *bf, struct blkfront_shadow *sh)
{
	sh->rq = NULL;
	sh->in_flight = false;
	sh->next_free = bf->free_head;
	bf->free_head = sh - bf->shadow;
}

/* Ends the per-request grants of `sh` (not persistent); false while the
 * backend still maps one (its ref and page stay; tern_guest.h). */
static bool blkfront_end_request_grants(struct blkfront_shadow *sh)
{
	bool ended = true;
	unsigned int i;

	for (i = 0; i < BLKFRONT_SEGMENTS_MAX; i++) {
		if (sh->refs[i] == TERN_GRANT_REF_INVALID)
			continue;
		if (tern_grant_end(sh->refs[i]) == -EBUSY)
			ended = false;
		else
			sh->refs[i] = TERN_GRANT_REF_INVALID;
	}
	return ended;
}

/* Copies the request's data into its pages (writes) or out of them
 * (reads), packed from the start of the first page. */
static void blkfront_copy(struct blkfront_shadow *sh, struct request *rq, bool to_pages)
{
	struct req_iterator iter;
	struct bio_vec bv;
	size_t off = 0, done, chunk;
	char *mem, *page;

	rq_for_each_segment(bv, rq, iter) {
		mem = bvec_kmap_local(&bv);
		for (done = 0; done < bv.bv_len; done += chunk, off += chunk) {
			chunk = min_t(size_t, bv.bv_len - done, PAGE_SIZE - off % PAGE_SIZE);
			page = (char *)page_address(sh->pages[off / PAGE_SIZE]) + off % PAGE_SIZE;
			if (to_pages)
				memcpy(page, mem + done, chunk);
			else
				memcpy(mem + done, page, chunk);
		}
		kunmap_local(mem);
	}
}

/* --- Failing and breaking (bf->lock held) ---------------------------------------- */

/* Every request in flight fails; its id is not reused (its pages may still
 * be written by the backend: they are ended and freed at removal). */
static void blkfront_fail_in_flight(struct blkfront *bf, struct request **done)
{
	struct blkfront_shadow *sh;
	unsigned int i;

	if (!bf->shadow)
		return;
	for (i = 0; i < bf->nr_ids; i++) {
		sh = &bf->shadow[i];
		if (!sh->in_flight)
			continue;
		sh->in_flight = false;
		if (sh->rq) {
			((struct blkfront_cmd *)blk_mq_rq_to_pdu(sh->rq))->status = BLK_STS_IOERR;
			rq_list_add(done, sh->rq);
			sh->rq = NULL;
		}
	}
}

/* The ring can no longer be trusted: stop reading it, fail what is in
 * flight and all later I/O, and tell the backend (frontend_state CLOSED).
 * The caller has logged why ("...; disk disabled"). */
static void blkfront_break(struct blkfront *bf, struct request **done)
{
	if (bf->state != BLKFRONT_CONNECTED)
		return;
	WRITE_ONCE(bf->state, BLKFRONT_BROKEN);
	blkfront_fail_in_flight(bf, done);
	store(&bf->control->link.frontend_state, TERN_LINK_CLOSED);
	tern_evtchn_notify(bf->tdev->port);
}

static void blkfront_complete_list(struct request *done)
{
	struct request *rq;

	while (done) {
		rq = done;
		done = rq->rq_next;
		if (likely(!blk_should_fake_timeout(rq->q)))
			blk_mq_complete_request(rq);
	}
}

/* --- Responses (the event handler, interrupts off) --------------------------------- */

/* The request `rsp` answers, if it checks: its id names a request in
 * flight, its operation is that request's, its reserved bytes are zero.
 * Otherwise one line saying what is wrong, and NULL. */
static struct blkfront_shadow *blkfront_check_response(struct blkfront *bf, const struct tern_blkif_response *rsp)
{
	struct blkfront_shadow *sh;
	u32 index = BLKFRONT_ID_INDEX(rsp->id);

	if (index >= bf->nr_ids) {
		pr_err("%s: bad response: id %#llx names no request; disk disabled\n", bf->name, rsp->id);
		return NULL;
	}
	sh = &bf->shadow[array_index_nospec(index, bf->nr_ids)];
	if (!sh->in_flight || sh->id != rsp->id) {
		pr_err("%s: bad response: id %#llx is not in flight (answered twice, or never asked); disk disabled\n",
		       bf->name, rsp->id);
		return NULL;
	}
	if (rsp->operation != sh->operation) {
		pr_err("%s: bad response: id %#llx was a %s request, the response says operation %u; disk disabled\n",
		       bf->name, rsp->id, blkfront_op_name(sh->operation), rsp->operation);
		return NULL;
	}
	if (rsp->reserved0 || rsp->reserved1) {
		pr_err("%s: bad response: id %#llx has nonzero reserved bytes (%#x, %#x); disk disabled\n", bf->name,
		       rsp->id, rsp->reserved0, rsp->reserved1);
		return NULL;
	}
	return sh;
}

static blk_status_t blkfront_status(struct blkfront *bf, const struct tern_blkif_response *rsp)
{
	switch (rsp->status) {
	case TERN_BLKIF_RSP_OKAY:
		return BLK_STS_OK;
	case TERN_BLKIF_RSP_EOPNOTSUPP:
		return BLK_STS_NOTSUPP;
	case TERN_BLKIF_RSP_ERROR:
		return BLK_STS_IOERR;
	default:
		pr_warn_ratelimited("%s: response %#llx has unknown status %d: taken as an error\n", bf->name, rsp->id,
				    rsp->status);
		return BLK_STS_IOERR;
	}
}

/* Takes every response there is (io/ring.h's consumer loop), checks each,
 * finishes its request; then asks to be notified of the next one and looks
 * once more, so that none is missed. */
static void blkfront_take_responses(struct blkfront *bf)
{
	struct tern_blkif_response rsp;
	struct blkfront_shadow *sh;
	struct request *done = NULL;
	unsigned long flags;
	blk_status_t status;
	u32 prod, cons;
	bool reclaim = false;

	spin_lock_irqsave(&bf->lock, flags);
	if (bf->state != BLKFRONT_CONNECTED)
		goto out;
again:
	prod = READ_ONCE(bf->ring->rsp_prod);
	virt_rmb();  /* the index before the responses (ring.h: tern_ring_rmb) */
	/* No more responses than requests outstanding (io/ring.h's
	 * RING_RESPONSE_PROD_OVERFLOW); nothing past them is read. */
	if (prod - bf->rsp_cons > bf->req_prod_pvt - bf->rsp_cons) {
		pr_err("%s: bad ring: rsp_prod %u claims %u responses, %u requests are outstanding; disk disabled\n",
		       bf->name, prod, prod - bf->rsp_cons, bf->req_prod_pvt - bf->rsp_cons);
		blkfront_break(bf, &done);
		goto out;
	}
	for (cons = bf->rsp_cons; cons != prod; cons++) {
		/* One read of the slot (volatile), then only the copy. */
		rsp = *(const volatile struct tern_blkif_response *)&bf->slots[cons & (bf->entries - 1)].response;
		sh = blkfront_check_response(bf, &rsp);
		if (!sh) {
			bf->rsp_cons = cons + 1;
			blkfront_break(bf, &done);
			goto out;
		}
		status = blkfront_status(bf, &rsp);
		if (status == BLK_STS_OK && sh->operation == TERN_BLKIF_OP_READ)
			blkfront_copy(sh, sh->rq, false);
		((struct blkfront_cmd *)blk_mq_rq_to_pdu(sh->rq))->status = status;
		rq_list_add(&done, sh->rq);
		if (!bf->persistent && !blkfront_end_request_grants(sh)) {
			/* The id waits until its pages are ours again. */
			sh->rq = NULL;
			sh->in_flight = false;
			sh->reclaim = true;
			reclaim = true;
		} else {
			blkfront_put_id(bf, sh);
		}
	}
	bf->rsp_cons = cons;
	/* io/ring.h RING_FINAL_CHECK_FOR_RESPONSES: ask for the next one, then
	 * look again (the store of rsp_event before the load of rsp_prod). */
	WRITE_ONCE(bf->ring->rsp_event, cons + 1);
	virt_mb();  /* ring.h: tern_ring_mb, MFENCE */
	if (READ_ONCE(bf->ring->rsp_prod) != cons)
		goto again;
out:
	spin_unlock_irqrestore(&bf->lock, flags);
	if (reclaim)
		schedule_delayed_work(&bf->reclaim_work, BLKFRONT_RECLAIM_DELAY);
	blkfront_complete_list(done);
}

static void blkfront_event(u32 port, void *data)
{
	struct blkfront *bf = data;
	enum blkfront_state state = READ_ONCE(bf->state);
	bool connected;

	if (state == BLKFRONT_CONNECTED) {
		blkfront_take_responses(bf);
		/* The link work reports a backend that leaves or comes back. */
		connected = load(&bf->control->link.backend_state) == TERN_LINK_CONNECTED;
		if (connected == READ_ONCE(bf->backend_away))
			queue_work(system_long_wq, &bf->link_work);
	} else if (state == BLKFRONT_WAITING || state == BLKFRONT_READY) {
		queue_work(system_long_wq, &bf->link_work);
	}
}

/* Per-request grants the backend still mapped at its response: ended
 * once it lets go (their ids come back then). */
static void blkfront_reclaim(struct work_struct *work)
{
	struct blkfront *bf = container_of(to_delayed_work(work), struct blkfront, reclaim_work);
	struct blkfront_shadow *sh;
	unsigned long flags;
	bool again = false;
	unsigned int i;

	spin_lock_irqsave(&bf->lock, flags);
	for (i = 0; bf->state == BLKFRONT_CONNECTED && i < bf->nr_ids; i++) {
		sh = &bf->shadow[i];
		if (!sh->reclaim)
			continue;
		if (blkfront_end_request_grants(sh)) {
			sh->reclaim = false;
			blkfront_put_id(bf, sh);
		} else {
			again = true;
		}
	}
	spin_unlock_irqrestore(&bf->lock, flags);
	if (again)
		schedule_delayed_work(&bf->reclaim_work, BLKFRONT_RECLAIM_DELAY);
}

/* --- Requests (blk-mq) ---------------------------------------------------------- */

/* The blkif operation for `rq`, or an error status for one the disk does
 * not take. */
static blk_status_t blkfront_operation(struct blkfront *bf, struct request *rq, u8 *op, u8 *flag)
{
	*flag = 0;
	switch (req_op(rq)) {
	case REQ_OP_READ:
		*op = TERN_BLKIF_OP_READ;
		return BLK_STS_OK;
	case REQ_OP_WRITE:
		*op = TERN_BLKIF_OP_WRITE;
		return BLK_STS_OK;
	case REQ_OP_FLUSH:
		*op = TERN_BLKIF_OP_FLUSH_DISKCACHE;
		return bf->flush ? BLK_STS_OK : BLK_STS_NOTSUPP;
	case REQ_OP_DISCARD:
		*op = TERN_BLKIF_OP_DISCARD;
		return bf->discard ? BLK_STS_OK : BLK_STS_NOTSUPP;
	case REQ_OP_SECURE_ERASE:
		*op = TERN_BLKIF_OP_DISCARD;
		*flag = TERN_BLKIF_DISCARD_SECURE;
		return bf->secure_discard ? BLK_STS_OK : BLK_STS_NOTSUPP;
	default:
		return BLK_STS_IOERR;
	}
}

/* Fills `slot` (every byte: it starts zeroed) for `rq` as id `sh`;
 * grants its pages if they are not granted for good. */
static blk_status_t blkfront_fill(struct blkfront *bf, struct blkfront_shadow *sh, struct request *rq, u8 op,
				  u8 flag, union tern_blkif_slot *slot)
{
	unsigned int bytes = blk_rq_bytes(rq), i, n;
	struct tern_blkif_segment *segs;
	int ref;

	sh->operation = op;
	if (op == TERN_BLKIF_OP_DISCARD) {
		slot->discard.operation = op;
		slot->discard.flag = flag;
		slot->discard.id = sh->id;
		slot->discard.sector_number = blk_rq_pos(rq);
		slot->discard.nr_sectors = blk_rq_sectors(rq);
		return BLK_STS_OK;
	}
	slot->request.operation = op;
	slot->request.id = sh->id;
	if (op == TERN_BLKIF_OP_FLUSH_DISKCACHE)
		return BLK_STS_OK;   /* the block layer's flushes carry no data */
	slot->request.sector_number = blk_rq_pos(rq);
	if (bytes == 0 || bytes > bf->segments * PAGE_SIZE || bytes % bf->backend.sector_size) {
		pr_err_ratelimited("%s: a request of %u bytes does not fit the ring: failed\n", bf->name, bytes);
		return BLK_STS_IOERR;
	}
	n = DIV_ROUND_UP(bytes, PAGE_SIZE);
	/* More pages than a request holds: an INDIRECT request, its segments
	 * in the id's indirect page (written whole: reserved bytes zero). */
	segs = slot->request.seg;
	if (n > TERN_BLKIF_MAX_SEGMENTS) {
		segs = page_address(sh->indirect_page);
		memset(segs, 0, n * sizeof(*segs));
		slot->indirect.operation = TERN_BLKIF_OP_INDIRECT;
		slot->indirect.indirect_op = op;
		slot->indirect.nr_segments = n;
		slot->indirect.id = sh->id;
		slot->indirect.sector_number = blk_rq_pos(rq);
		slot->indirect.indirect_grefs[0] = sh->indirect_ref;
	}
	for (i = 0; i < n; i++) {
		if (!bf->persistent) {
			/* The backend only reads a write's pages. */
			ref = tern_grant_page(bf->tdev->backend, sh->pages[i], op == TERN_BLKIF_OP_WRITE);
			if (ref < 0) {
				blkfront_end_request_grants(sh);  /* not published: they end */
				return BLK_STS_RESOURCE;           /* grant table full: later */
			}
			sh->refs[i] = ref;
		}
		segs[i].gref = sh->refs[i];
		segs[i].first_sect = 0;
		segs[i].last_sect = min_t(unsigned int, bytes - i * PAGE_SIZE, PAGE_SIZE) / TERN_BLKIF_SECTOR_SIZE - 1;
	}
	if (n <= TERN_BLKIF_MAX_SEGMENTS)
		slot->request.nr_segments = n;
	if (op == TERN_BLKIF_OP_WRITE)
		blkfront_copy(sh, rq, true);
	return BLK_STS_OK;
}

static blk_status_t blkfront_queue_rq(struct blk_mq_hw_ctx *hctx, const struct blk_mq_queue_data *qd)
{
	struct blkfront *bf = hctx->queue->queuedata;
	struct request *rq = qd->rq;
	union tern_blkif_slot slot;
	struct blkfront_shadow *sh;
	unsigned long flags;
	blk_status_t status;
	bool notify;
	u32 old;
	u8 op, flag;

	blk_mq_start_request(rq);
	status = blkfront_operation(bf, rq, &op, &flag);
	if (status != BLK_STS_OK)
		return status;
	memset(&slot, 0, sizeof(slot));

	spin_lock_irqsave(&bf->lock, flags);
	if (bf->state != BLKFRONT_CONNECTED) {
		spin_unlock_irqrestore(&bf->lock, flags);
		return BLK_STS_IOERR;
	}
	/* There are as many tags as ids; an id waiting for its grants to end
	 * (not persistent) makes the block layer try again a little later. */
	sh = blkfront_get_id(bf);
	if (!sh || bf->req_prod_pvt - bf->rsp_cons >= bf->entries) {
		if (sh)
			blkfront_put_id(bf, sh);
		spin_unlock_irqrestore(&bf->lock, flags);
		return BLK_STS_RESOURCE;
	}
	status = blkfront_fill(bf, sh, rq, op, flag, &slot);
	if (status != BLK_STS_OK) {
		blkfront_put_id(bf, sh);
		spin_unlock_irqrestore(&bf->lock, flags);
		return status;
	}
	sh->rq = rq;
	sh->in_flight = true;
	memcpy(&bf->slots[bf->req_prod_pvt & (bf->entries - 1)], &slot, sizeof(slot));
	old = bf->req_prod_pvt++;
	/* io/ring.h RING_PUSH_REQUESTS_AND_CHECK_NOTIFY. */
	virt_wmb();  /* the request before the index (ring.h: tern_ring_wmb) */
	WRITE_ONCE(bf->ring->req_prod, bf->req_prod_pvt);
	virt_mb();   /* the index before the backend's event (ring.h: tern_ring_mb) */
	notify = bf->req_prod_pvt - READ_ONCE(bf->ring->req_event) < bf->req_prod_pvt - old;
	spin_unlock_irqrestore(&bf->lock, flags);
	if (notify)
		tern_evtchn_notify(bf->tdev->port);  /* -ENOTCONN while the backend is away: it reattaches */
	return BLK_STS_OK;
}

static void blkfront_complete_rq(struct request *rq)
{
	blk_mq_end_request(rq, ((struct blkfront_cmd *)blk_mq_rq_to_pdu(rq))->status);
}

/* Requests never time out: a backend may be away for a while (it restarts
 * and attaches where rsp_prod stands); each wait is only reported. */
static enum blk_eh_timer_return blkfront_timeout(struct request *rq)
{
	struct blkfront *bf = rq->q->queuedata;

	pr_warn_ratelimited("%s: a request has waited %u s for the backend; still waiting\n", bf->name,
			    rq->q->rq_timeout / HZ);
	return BLK_EH_RESET_TIMER;
}

static const struct blk_mq_ops blkfront_mq_ops = {
	.queue_rq = blkfront_queue_rq,
	.complete = blkfront_complete_rq,
	.timeout = blkfront_timeout,
};

static const struct block_device_operations blkfront_fops = {
	.owner = THIS_MODULE,
};

/* --- The handshake (the link work) --------------------------------------------------- */

/* The backend's fields, copied once, checked: 0, or -EINVAL with one line
 * saying what is wrong. */
static int blkfront_check_backend(struct blkfront *bf)
{
	const struct tern_blkif_control *b = &bf->backend;
	u32 known = TERN_BLKIF_FEATURE_FLUSH | TERN_BLKIF_FEATURE_DISCARD | TERN_BLKIF_FEATURE_DISCARD_SECURE |
		    TERN_BLKIF_FEATURE_PERSISTENT;
	unsigned int i;

	if (b->version == 0) {
		pr_err("%s: backend's version went back to 0\n", bf->name);
		return -EINVAL;
	}
	if (b->sector_size != 512 && b->sector_size != 4096) {
		pr_err("%s: backend's sector_size %u is neither 512 nor 4096\n", bf->name, b->sector_size);
		return -EINVAL;
	}
	if (b->sectors % (b->sector_size / TERN_BLKIF_SECTOR_SIZE)) {
		pr_err("%s: backend's size, %llu sectors of 512 bytes, is not a whole number of %u-byte sectors\n",
		       bf->name, b->sectors, b->sector_size);
		return -EINVAL;
	}
	if (b->physical_sector_size &&
	    (!is_power_of_2(b->physical_sector_size) || b->physical_sector_size < b->sector_size)) {
		pr_err("%s: backend's physical_sector_size %u is not a power-of-two multiple of sector_size %u\n",
		       bf->name, b->physical_sector_size, b->sector_size);
		return -EINVAL;
	}
	if (b->max_ring_order > TERN_BLKIF_MAX_RING_ORDER) {
		pr_err("%s: backend's max_ring_order %u is above %u\n", bf->name, b->max_ring_order,
		       TERN_BLKIF_MAX_RING_ORDER);
		return -EINVAL;
	}
	if (b->max_indirect_segments > TERN_BLKIF_INDIRECT_SEGMENTS_LIMIT) {
		pr_err("%s: backend's max_indirect_segments %u is above %u\n", bf->name, b->max_indirect_segments,
		       TERN_BLKIF_INDIRECT_SEGMENTS_LIMIT);
		return -EINVAL;
	}
	/* Version 1 gives these bytes no meaning; a later one may. */
	if (b->version == TERN_BLKIF_CONTROL_VERSION) {
		if (b->backend_features & ~known) {
			pr_err("%s: backend offers unknown features %#x\n", bf->name, b->backend_features & ~known);
			return -EINVAL;
		}
		for (i = 0; i < ARRAY_SIZE(b->backend_reserved); i++)
			if (b->backend_reserved[i]) {
				pr_err("%s: backend's reserved word %u is %#x, not zero\n", bf->name, i,
				       b->backend_reserved[i]);
				return -EINVAL;
			}
	}
	return 0;
}

/* What this frontend uses of what the backend offers. */
static void blkfront_choose(struct blkfront *bf)
{
	const struct tern_blkif_control *b = &bf->backend;
	u32 granularity = b->discard_granularity ? b->discard_granularity : b->sector_size;

	bf->readonly = b->backend_info & TERN_BLKIF_INFO_READONLY;
	bf->persistent = b->backend_features & TERN_BLKIF_FEATURE_PERSISTENT;
	/* Linux sends flushes to read-only disks too; the backend refuses them. */
	bf->flush = (b->backend_features & TERN_BLKIF_FEATURE_FLUSH) && !bf->readonly;
	bf->discard = (b->backend_features & TERN_BLKIF_FEATURE_DISCARD) && !bf->readonly;
	if (bf->discard && (granularity % b->sector_size || b->discard_alignment % b->sector_size ||
			    b->discard_alignment >= granularity)) {
		pr_warn("%s: backend's discard granularity %u / alignment %u do not fit %u-byte sectors: no discard\n",
			bf->name, b->discard_granularity, b->discard_alignment, b->sector_size);
		bf->discard = false;
	}
	bf->secure_discard = bf->discard && (b->backend_features & TERN_BLKIF_FEATURE_DISCARD_SECURE);
	bf->ring_order = min3(max_ring_order, b->max_ring_order, (u32)TERN_BLKIF_MAX_RING_ORDER);
	bf->segments = min3(max_indirect_segments, b->max_indirect_segments, (u32)BLKFRONT_SEGMENTS_MAX);
	bf->indirect = bf->segments > TERN_BLKIF_MAX_SEGMENTS;
	if (!bf->indirect)
		bf->segments = TERN_BLKIF_MAX_SEGMENTS;
	bf->entries = TERN_BLKIF_RING_ENTRIES << bf->ring_order;
}

/* The ring (2^ring_order zeroed pages, both event indices 1, as FrontRing
 * sets one up) granted read-write to the backend. */
static int blkfront_alloc_ring(struct blkfront *bf)
{
	unsigned int i, pages = 1u << bf->ring_order;
	int ref;

	BUILD_BUG_ON(PAGE_SIZE != TERN_BLKIF_PAGE_SIZE);
	for (i = 0; i < TERN_BLKIF_MAX_RING_PAGES; i++)
		bf->ring_refs[i] = TERN_GRANT_REF_INVALID;
	bf->ring_pages = alloc_pages(GFP_KERNEL | __GFP_ZERO, bf->ring_order);
	if (!bf->ring_pages)
		return -ENOMEM;
	bf->ring = page_address(bf->ring_pages);
	bf->slots = (union tern_blkif_slot *)(bf->ring + 1);
	bf->ring->req_event = 1;
	bf->ring->rsp_event = 1;
	for (i = 0; i < pages; i++) {
		ref = tern_grant_page(bf->tdev->backend, nth_page(bf->ring_pages, i), false);
		if (ref < 0)
			return ref;
		bf->ring_refs[i] = ref;
	}
	return 0;
}

/* One id per ring slot, each with its pages (granted now if persistent).
 * Short of memory or grant refs, fewer ids (a shallower queue); none: error. */
static int blkfront_alloc_ids(struct blkfront *bf)
{
	struct blkfront_shadow *sh;
	unsigned int i, id;
	int ref = 0;

	bf->shadow = kcalloc(bf->entries, sizeof(*bf->shadow), GFP_KERNEL);
	if (!bf->shadow)
		return -ENOMEM;
	bf->free_head = -1;
	for (id = 0; id < bf->entries; id++) {
		sh = &bf->shadow[id];
		for (i = 0; i < BLKFRONT_SEGMENTS_MAX; i++)
			sh->refs[i] = TERN_GRANT_REF_INVALID;
		sh->indirect_ref = TERN_GRANT_REF_INVALID;
		if (bf->indirect) {
			sh->indirect_page = alloc_page(GFP_KERNEL);
			ref = sh->indirect_page ? tern_grant_page(bf->tdev->backend, sh->indirect_page, !bf->persistent)
						: -ENOMEM;
			if (ref < 0)
				break;
			sh->indirect_ref = ref;
		}
		for (i = 0; i < bf->segments; i++) {
			sh->pages[i] = alloc_page(GFP_KERNEL);
			if (!sh->pages[i]) {
				ref = -ENOMEM;
				break;
			}
			if (!bf->persistent)
				continue;
			ref = tern_grant_page(bf->tdev->backend, sh->pages[i], false);
			if (ref < 0)
				break;
			sh->refs[i] = ref;
		}
		if (ref < 0)
			break;
	}
	/* Ids 0..id-1 are whole; id's partial pages and grants go at removal
	 * (nr_ids counts the shadows to clean up, free_head the usable ones). */
	bf->nr_ids = min(id + 1, bf->entries);
	if (id == 0) {
		pr_err("%s: no pages or grant refs for a single request: %d\n", bf->name, ref);
		return ref;
	}
	if (id < bf->entries)
		pr_warn("%s: %s for %u requests in flight only (of %u): %d\n", bf->name,
			bf->persistent ? "pages and persistent grants" : "pages", id, bf->entries, ref);
	for (i = id; i-- > 0;)
		blkfront_put_id(bf, &bf->shadow[i]);
	bf->tag_set.queue_depth = id;
	return 0;
}

/* Step 3 of the handshake: the backend's version is set. */
static int blkfront_publish(struct blkfront *bf)
{
	struct tern_blkif_control *c = bf->control;
	unsigned int i, pages;
	int err;

	virt_rmb();  /* version before the fields it vouches for */
	tern_blkif_copy_control(&bf->backend, c);
	err = blkfront_check_backend(bf);
	if (err)
		return err;
	blkfront_choose(bf);
	err = blkfront_alloc_ring(bf);
	if (err) {
		pr_err("%s: cannot set up a ring of %u pages: %d\n", bf->name, 1u << bf->ring_order, err);
		return err;
	}
	err = blkfront_alloc_ids(bf);
	if (err)
		return err;

	pages = 1u << bf->ring_order;
	memset((char *)c + offsetof(struct tern_blkif_control, frontend_version), 0,
	       sizeof(*c) - offsetof(struct tern_blkif_control, frontend_version));
	WRITE_ONCE(c->frontend_version, TERN_BLKIF_CONTROL_VERSION);
	WRITE_ONCE(c->frontend_features, bf->persistent ? TERN_BLKIF_FEATURE_PERSISTENT : 0);
	WRITE_ONCE(c->ring_order, bf->ring_order);
	WRITE_ONCE(c->link.ring_ref, bf->ring_refs[0]);
	for (i = 1; i < pages; i++)
		WRITE_ONCE(c->extra_ring_refs[i - 1], bf->ring_refs[i]);
	/* The fields before READY (store-release: smp_wmb then the store). */
	store(&c->link.frontend_state, TERN_LINK_READY);
	tern_evtchn_notify(bf->tdev->port);
	pr_info("%s: ring of %u page%s (ref %u) granted to d%u, %s, requests of up to %u pages%s, READY on port %u\n",
		bf->name, pages, pages > 1 ? "s" : "", bf->ring_refs[0], bf->tdev->backend,
		bf->persistent ? "persistent grants" : "grants per request", bf->segments,
		bf->indirect ? " (indirect)" : "", bf->tdev->port);
	return 0;
}

/* Step 4 done: the disk, with what the backend said. */
static int blkfront_add_disk(struct blkfront *bf)
{
	const struct tern_blkif_control *b = &bf->backend;
	struct request_queue *q;
	struct gendisk *disk;
	u32 sector_size = b->sector_size;
	u64 discard_max;
	int err;

	bf->tag_set.ops = &blkfront_mq_ops;
	bf->tag_set.nr_hw_queues = 1;
	/* queue_depth: set by blkfront_alloc_ids, the ids there are. */
	bf->tag_set.numa_node = NUMA_NO_NODE;
	bf->tag_set.cmd_size = sizeof(struct blkfront_cmd);
	bf->tag_set.flags = BLK_MQ_F_SHOULD_MERGE;
	bf->tag_set.driver_data = bf;
	err = blk_mq_alloc_tag_set(&bf->tag_set);
	if (err)
		return err;
	bf->tag_set_ready = true;
	disk = blk_mq_alloc_disk(&bf->tag_set, bf);
	if (IS_ERR(disk))
		return PTR_ERR(disk);
	bf->disk = disk;
	q = disk->queue;

	disk->major = blkfront_major;
	disk->first_minor = bf->tdev->devid * BLKFRONT_PARTS;
	disk->minors = BLKFRONT_PARTS;
	disk->fops = &blkfront_fops;
	disk->private_data = bf;
	strscpy(disk->disk_name, bf->name, sizeof(disk->disk_name));
	if (b->backend_info & TERN_BLKIF_INFO_REMOVABLE)
		disk->flags |= GENHD_FL_REMOVABLE;
	set_capacity(disk, b->sectors);
	set_disk_ro(disk, bf->readonly);

	blk_queue_flag_set(QUEUE_FLAG_VIRT, q);
	blk_queue_logical_block_size(q, sector_size);
	blk_queue_physical_block_size(q, b->physical_sector_size ? b->physical_sector_size : sector_size);
	/* A request is one blkif request: at most bf->segments pages of data
	 * (packed into the id's pages), each segment within a page. */
	blk_queue_max_hw_sectors(q, bf->segments * TERN_BLKIF_SECTORS_PER_PAGE);
	blk_queue_max_segments(q, bf->segments);
	blk_queue_max_segment_size(q, PAGE_SIZE);
	blk_queue_segment_boundary(q, PAGE_SIZE - 1);
	if (bf->flush)
		blk_queue_write_cache(q, true, false);
	if (bf->discard) {
		discard_max = round_down(min_t(u64, b->sectors, UINT_MAX >> SECTOR_SHIFT),
					 sector_size / TERN_BLKIF_SECTOR_SIZE);
		q->limits.discard_granularity = b->discard_granularity ? b->discard_granularity : sector_size;
		q->limits.discard_alignment = b->discard_alignment;
		blk_queue_max_discard_sectors(q, discard_max);
		if (bf->secure_discard)
			blk_queue_max_secure_erase_sectors(q, discard_max);
	}

	pr_info("%s: %llu sectors of %u bytes (%llu MiB)%s, %u requests of up to %u KiB in flight%s%s%s\n",
		bf->name, b->sectors / (sector_size / TERN_BLKIF_SECTOR_SIZE), sector_size,
		b->sectors >> (20 - SECTOR_SHIFT), bf->readonly ? ", read-only" : "", bf->tag_set.queue_depth,
		bf->segments * (u32)PAGE_SIZE / 1024, bf->flush ? ", flush" : "",
		bf->discard ? ", discard" : "", bf->secure_discard ? ", secure discard" : "");
	/* Reads the partition table: I/O, answered through the event handler. */
	err = device_add_disk(&bf->tdev->dev, disk, NULL);
	if (err)
		return err;
	bf->disk_added = true;
	return 0;
}

/* Handshake failed or the backend refused: nothing more is done until
 * removal (which frees what was set up). */
static void blkfront_give_up(struct blkfront *bf)
{
	unsigned long flags;

	spin_lock_irqsave(&bf->lock, flags);
	if (bf->state == BLKFRONT_WAITING || bf->state == BLKFRONT_READY)
		bf->state = BLKFRONT_GONE;
	spin_unlock_irqrestore(&bf->lock, flags);
	store(&bf->control->link.frontend_state, TERN_LINK_CLOSED);
	tern_evtchn_notify(bf->tdev->port);
}

/* Moves the state on from `from` to `to`, unless removal got there first. */
static bool blkfront_advance(struct blkfront *bf, enum blkfront_state from, enum blkfront_state to)
{
	unsigned long flags;
	bool moved;

	spin_lock_irqsave(&bf->lock, flags);
	moved = bf->state == from;
	if (moved)
		WRITE_ONCE(bf->state, to);
	spin_unlock_irqrestore(&bf->lock, flags);
	return moved;
}

/* Backend closed with an error: refused the handshake (give up, saying
 * why), or closed a connected ring (break). True if so. */
static bool blkfront_backend_closed(struct blkfront *bf)
{
	struct request *done = NULL;
	unsigned long flags;
	u32 error;

	if (load(&bf->control->link.backend_state) != TERN_LINK_CLOSED)
		return false;
	error = READ_ONCE(bf->control->backend_error);
	if (error == TERN_BLKIF_ERROR_NONE)
		return false;
	pr_err("%s: backend closed the device: backend_error %u (%s); disk %s\n", bf->name, error,
	       blkfront_error_name(error), READ_ONCE(bf->state) == BLKFRONT_CONNECTED ? "disabled" : "not connected");
	spin_lock_irqsave(&bf->lock, flags);
	blkfront_break(bf, &done);
	spin_unlock_irqrestore(&bf->lock, flags);
	blkfront_complete_list(done);
	blkfront_give_up(bf);
	return true;
}

/* A device whose backend is gone for good: its event channel's other end
 * closed (Dom0's backend for this disk ended; a restarted one keeps the
 * same port). An earlier frontend's CLOSED is no obstacle: the backend
 * lets go of that connection and waits for a new handshake (docs/abi.md,
 * "Block devices", reconnecting). True if so (and given up). */
static bool blkfront_stale(struct blkfront *bf)
{
	if (tern_evtchn_state(bf->tdev->port) != TERN_EVTCHN_PEER_CLOSED)
		return false;
	pr_err("%s: the backend closed the device's event channel: not connecting (the device must be removed and added again)\n",
	       bf->name);
	blkfront_give_up(bf);
	return true;
}

static void blkfront_link(struct work_struct *work)
{
	struct blkfront *bf = container_of(work, struct blkfront, link_work);
	bool connected;
	int err;

	switch (READ_ONCE(bf->state)) {
	case BLKFRONT_WAITING:
		if (blkfront_backend_closed(bf) || blkfront_stale(bf))
			return;
		if (!READ_ONCE(bf->control->version))
			return;
		err = blkfront_publish(bf);
		if (err) {
			pr_err("%s: not connecting (%d)\n", bf->name, err);
			blkfront_give_up(bf);
			return;
		}
		if (!blkfront_advance(bf, BLKFRONT_WAITING, BLKFRONT_READY))
			return;
		fallthrough;
	case BLKFRONT_READY:
		if (blkfront_backend_closed(bf))
			return;
		if (load(&bf->control->link.backend_state) != TERN_LINK_CONNECTED)
			return;
		if (!blkfront_advance(bf, BLKFRONT_READY, BLKFRONT_CONNECTED))
			return;
		err = blkfront_add_disk(bf);
		if (err) {
			pr_err("%s: cannot add the disk: %d\n", bf->name, err);
			blkfront_advance(bf, BLKFRONT_CONNECTED, BLKFRONT_GONE);
			blkfront_give_up(bf);
		}
		return;
	case BLKFRONT_CONNECTED:
		if (blkfront_backend_closed(bf))
			return;
		connected = load(&bf->control->link.backend_state) == TERN_LINK_CONNECTED;
		if (connected == !READ_ONCE(bf->backend_away))
			return;
		WRITE_ONCE(bf->backend_away, !connected);
		if (connected)
			pr_info("%s: backend connected again\n", bf->name);
		else
			pr_warn("%s: backend left CONNECTED (state %u): requests wait for it\n", bf->name,
				load(&bf->control->link.backend_state));
		return;
	default:
		return;
	}
}

/* --- Removal ------------------------------------------------------------------- */

/* Ends every grant (the ring's, the pages'), retrying while the backend
 * still maps one; frees what is ours again, leaves the rest (one line). */
static void blkfront_free_ring(struct blkfront *bf)
{
	unsigned int i, j, pages = 1u << bf->ring_order, busy, grants = 0, leaked = 0;
	struct blkfront_shadow *sh;
	int tries;

	for (tries = 0;; tries++) {
		busy = 0;
		for (i = 0; bf->ring_pages && i < pages; i++) {
			if (bf->ring_refs[i] == TERN_GRANT_REF_INVALID)
				continue;
			if (tern_grant_end(bf->ring_refs[i]) == -EBUSY)
				busy++;
			else
				bf->ring_refs[i] = TERN_GRANT_REF_INVALID;
		}
		for (i = 0; bf->shadow && i < bf->nr_ids; i++) {
			sh = &bf->shadow[i];
			if (!blkfront_end_request_grants(sh))
				busy++;
			if (sh->indirect_ref != TERN_GRANT_REF_INVALID) {
				if (tern_grant_end(sh->indirect_ref) == -EBUSY)
					busy++;
				else
					sh->indirect_ref = TERN_GRANT_REF_INVALID;
			}
		}
		if (!busy || tries == BLKFRONT_UNMAP_TRIES)
			break;
		msleep(BLKFRONT_UNMAP_WAIT_MS);
	}
	if (bf->ring_pages) {
		for (i = 0; i < pages && bf->ring_refs[i] == TERN_GRANT_REF_INVALID; i++)
			;
		if (i == pages)
			__free_pages(bf->ring_pages, bf->ring_order);
		else
			leaked += pages;
		for (i = 0; i < pages; i++)
			grants += bf->ring_refs[i] != TERN_GRANT_REF_INVALID;
	}
	for (i = 0; bf->shadow && i < bf->nr_ids; i++) {
		sh = &bf->shadow[i];
		if (sh->indirect_page) {
			if (sh->indirect_ref == TERN_GRANT_REF_INVALID) {
				__free_page(sh->indirect_page);
			} else {
				leaked++;
				grants++;
			}
		}
		for (j = 0; j < BLKFRONT_SEGMENTS_MAX; j++) {
			if (!sh->pages[j])
				continue;
			if (sh->refs[j] == TERN_GRANT_REF_INVALID) {
				__free_page(sh->pages[j]);
			} else {
				leaked++;
				grants++;
			}
		}
	}
	if (leaked)
		pr_warn("%s: the backend still maps %u of our grants after %u ms: pages left to it: %u\n", bf->name,
			grants, BLKFRONT_UNMAP_TRIES * BLKFRONT_UNMAP_WAIT_MS, leaked);
	kfree(bf->shadow);
	bf->shadow = NULL;
	bf->ring_pages = NULL;
}

static void blkfront_remove(struct tern_device *tdev)
{
	struct blkfront *bf = tdev->driver_data;
	struct request *done = NULL;
	unsigned long flags;

	/* No handler from here on, no request reaches the ring, none stays
	 * in flight (a partition scan in add_disk ends). */
	tern_evtchn_unbind(tdev->port);
	spin_lock_irqsave(&bf->lock, flags);
	WRITE_ONCE(bf->state, BLKFRONT_GONE);
	blkfront_fail_in_flight(bf, &done);
	spin_unlock_irqrestore(&bf->lock, flags);
	blkfront_complete_list(done);
	cancel_work_sync(&bf->link_work);
	cancel_delayed_work_sync(&bf->reclaim_work);

	if (bf->disk_added)
		del_gendisk(bf->disk);
	if (bf->disk)
		put_disk(bf->disk);
	if (bf->tag_set_ready)
		blk_mq_free_tag_set(&bf->tag_set);
	/* The backend lets go of the ring and the pages when it sees CLOSED. */
	if (load(&bf->control->link.frontend_state) == TERN_LINK_READY) {
		store(&bf->control->link.frontend_state, TERN_LINK_CLOSED);
		tern_evtchn_notify(tdev->port);
	}
	blkfront_free_ring(bf);
	pr_info("%s: removed\n", bf->name);
	kfree(bf);
}

/* --- Probe -------------------------------------------------------------------- */

static int blkfront_probe(struct tern_device *tdev)
{
	struct blkfront *bf;
	unsigned int n = tdev->devid;
	int err;

	if (n >= BLKFRONT_MAX_DISKS) {
		pr_err("block device %u: devid above xvdzz (%u): not served\n", n, BLKFRONT_MAX_DISKS - 1);
		return -EINVAL;
	}
	bf = kzalloc(sizeof(*bf), GFP_KERNEL);
	if (!bf)
		return -ENOMEM;
	bf->tdev = tdev;
	bf->control = tdev->control;
	if (n < 26)
		snprintf(bf->name, sizeof(bf->name), BLKFRONT_NAME "%c", 'a' + n);
	else
		snprintf(bf->name, sizeof(bf->name), BLKFRONT_NAME "%c%c", 'a' + n / 26 - 1, 'a' + n % 26);
	spin_lock_init(&bf->lock);
	bf->state = BLKFRONT_WAITING;
	bf->free_head = -1;
	INIT_WORK(&bf->link_work, blkfront_link);
	INIT_DELAYED_WORK(&bf->reclaim_work, blkfront_reclaim);
	tdev->driver_data = bf;
	/* A notification sent before this is pending and delivered now. */
	err = tern_evtchn_bind(tdev->port, blkfront_event, bf);
	if (err) {
		pr_err("%s: cannot bind port %u: %d\n", bf->name, tdev->port, err);
		tdev->driver_data = NULL;
		kfree(bf);
		return err;
	}
	pr_info("%s: block device %u of d%u on port %u: waiting for the backend\n", bf->name, tdev->devid,
		tdev->backend, tdev->port);
	queue_work(system_long_wq, &bf->link_work);
	return 0;
}

static struct tern_driver blkfront_driver = {
	.type = TERN_DEVICE_BLOCK,
	.probe = blkfront_probe,
	.remove = blkfront_remove,
	.driver = { .name = "tern-blkfront" },
};

static int __init blkfront_init(void)
{
	int err;

	blkfront_major = register_blkdev(0, BLKFRONT_NAME);
	if (blkfront_major < 0) {
		pr_err("cannot register block major for " BLKFRONT_NAME ": %d\n", blkfront_major);
		return blkfront_major;
	}
	err = tern_driver_register(&blkfront_driver);
	if (err) {
		pr_err("cannot register on bus tern: %d\n", err);
		unregister_blkdev(blkfront_major, BLKFRONT_NAME);
		return err;
	}
	pr_info("registered for block devices on bus tern (major %d, %s)\n", blkfront_major, BLKFRONT_NAME);
	return 0;
}

static void __exit blkfront_exit(void)
{
	tern_driver_unregister(&blkfront_driver);
	unregister_blkdev(blkfront_major, BLKFRONT_NAME);
}

module_init(blkfront_init);
module_exit(blkfront_exit);

MODULE_DESCRIPTION("Tern block frontend: /dev/xvd* over Tern's blkif");
MODULE_LICENSE("GPL");
