// SPDX-License-Identifier: GPL-2.0
/*
 * tern_netfront.ko: the Linux guest's network frontend (issue 18;
 * docs/netback.md), for an interface a backend in Dom0 serves over Tern's
 * netif (tern/netif.h, docs/abi.md "Network interfaces"): Xen's netif
 * rings, byte for byte, and a control page in place of XenStore. It
 * registers for TERN_DEVICE_NET on tern_guest's bus; each interface
 * becomes an Ethernet net_device (eth0 ...) with NAPI and scatter-gather.
 *
 * Life of an interface (driven by its event channel; probe never waits):
 *   WAITING    the link work waits for the backend's `version`, copies its
 *              fields once and checks them, grants both rings and the page
 *              pools, posts every rx page, writes the frontend's fields and
 *              sets frontend_state = READY, last;
 *   READY      until backend_state is CONNECTED (or CLOSED with an error:
 *              logged by name, the interface is given up);
 *   CONNECTED  the net_device is registered; carrier follows the backend
 *              (a backend restarted by Dom0 leaves CONNECTED and comes back:
 *              the rings carry on where they were);
 *   BROKEN     a response broke the ABI, or the backend closed with an
 *              error: carrier off, nothing more is sent or taken;
 *   GONE       given up, or being removed.
 *
 * Data never leaves the driver's own pages, as in tern_blkfront: a pool of
 * tx pages and one of rx pages, each page granted once for the interface's
 * life (the backend keeps them mapped: TERN_NETIF_FEATURE_PERSISTENT; a
 * backend without it maps them per packet, which works too). A frame to
 * send is copied into tx pages (its fragments gathered: NETIF_F_SG) and
 * the skb freed at once; a frame received is copied out of its rx page
 * into a new skb and the page posted again. The backend thus never sees a
 * page of the kernel's, and a response that comes late, twice or never
 * can only name a pool page: ids are pool indices, checked.
 *
 * One event channel serves both rings (Xen's default): the handler only
 * schedules NAPI, whose poll takes tx responses (pool pages back) and rx
 * responses (frames up the stack), then re-arms both rings' rsp_event.
 * Hold-off: the backend is notified only when it asked (req_event), tx
 * responses are asked for only when half the pool is out or the queue
 * stopped (as xen-netfront).
 */
#define pr_fmt(fmt) "tern-netfront: " fmt

#include <linux/delay.h>
#include <linux/etherdevice.h>
#include <linux/if_vlan.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <net/tcp.h>

#include <tern/netif.h>

#include "tern_guest.h"

/* One pool page per ring slot: the tx ring can never hold more requests
 * than there are free pages, so a free page means a free slot. */
#define NETFRONT_TX_PAGES    TERN_NETIF_RING_ENTRIES
#define NETFRONT_RX_PAGES    TERN_NETIF_RING_ENTRIES
#define NETFRONT_RING_MASK   (TERN_NETIF_RING_ENTRIES - 1)
/* Fewer rx pages than this (short of memory or grant refs): not
 * connecting. A 64 KiB GSO frame takes 17 slots: 16 pages and its extra. */
#define NETFRONT_RX_PAGES_MIN 18
/* Waits for the backend to unmap pages before they are ours again. */
#define NETFRONT_UNMAP_TRIES  50
#define NETFRONT_UNMAP_WAIT_MS 100
/* The largest frame this driver sends: a 64 KiB IP packet and its header
 * would take 17 pages; the MTU (at most this) keeps frames far smaller. */
#define NETFRONT_MTU_MAX     (TERN_NETIF_MAX_TX_SIZE - ETH_HLEN)
#define NETFRONT_FEATURES    (TERN_NETIF_FEATURE_SG | TERN_NETIF_FEATURE_RX_NOTIFY | TERN_NETIF_FEATURE_PERSISTENT | \
			      TERN_NETIF_FEATURE_CSUM | TERN_NETIF_FEATURE_GSO)
/* A frame's data slots at most: a 64 KiB GSO packet's pages. */
#define NETFRONT_DATA_SLOTS_MAX DIV_ROUND_UP(TERN_NETIF_MAX_TX_SIZE, PAGE_SIZE)
/* Extra slots chained after a frame's first at most (one per type). */
#define NETFRONT_EXTRAS_MAX  (TERN_NETIF_EXTRA_TYPE_MAX - 1)
/* The id written under a tx extra slot's bytes: no pool page; its
 * (TERN_NETIF_RSP_NULL) response frees nothing. */
#define NETFRONT_EXTRA_ID    0xFFFF

static bool gro = true;
module_param(gro, bool, 0644);
MODULE_PARM_DESC(gro, "merge received TCP segments (GRO)");

enum netfront_state {
	NETFRONT_WAITING,
	NETFRONT_READY,
	NETFRONT_CONNECTED,
	NETFRONT_BROKEN,
	NETFRONT_GONE,
};

/* One received frame's slots, copied out of the ring once (netif.h): its
 * data responses, and the GSO extra if it has one. */
struct netfront_rx_frame {
	struct tern_netif_rx_response data[NETFRONT_DATA_SLOTS_MAX + 1];
	unsigned int slots;       /* ring slots it took, extras included */
	unsigned int data_slots;
	struct tern_netif_extra_info gso;  /* type NONE: none */
};

struct netfront {
	struct tern_device *tdev;
	struct tern_netif_control *control;  /* shared with the backend */
	struct tern_netif_control backend;   /* the backend's fields, copied once */
	struct net_device *netdev;
	struct napi_struct napi;
	char name[IFNAMSIZ];                 /* "vif<devid>" until registered, then the device's */

	/* state, the tx ring and pool (xmit, poll, the link work). */
	spinlock_t lock;
	enum netfront_state state;
	bool backend_away;                   /* backend_state left CONNECTED */
	bool registered;
	u32 features;                        /* TERN_NETIF_FEATURE_* used */
	unsigned int max_slots;              /* data slots a frame we send may span */

	struct tern_ring_header *tx_ring, *rx_ring;  /* a page each */
	union tern_netif_tx_slot *tx_slots;
	union tern_netif_rx_slot *rx_slots;
	u32 tx_ring_ref, rx_ring_ref;
	u32 tx_prod, tx_cons;                /* requests written, responses taken */
	u32 rx_prod, rx_cons;

	struct page *tx_pages[NETFRONT_TX_PAGES];
	u32 tx_refs[NETFRONT_TX_PAGES];
	bool tx_out[NETFRONT_TX_PAGES];      /* sent, not answered */
	u16 tx_free[NETFRONT_TX_PAGES];
	unsigned int tx_nfree, tx_count;

	/* The rx ring and pool: NAPI's alone once connected. */
	struct page *rx_pages[NETFRONT_RX_PAGES];
	u32 rx_refs[NETFRONT_RX_PAGES];
	u16 rx_ids[TERN_NETIF_RING_ENTRIES]; /* the page posted in each ring slot */
	unsigned int rx_count;
	struct netfront_rx_frame rx_frame;   /* the frame being taken (NAPI's) */

	struct work_struct link_work;
};

static const char *netfront_error_name(u32 error)
{
	switch (error) {
	case TERN_NETIF_ERROR_NONE: return "NONE";
	case TERN_NETIF_ERROR_VERSION: return "VERSION";
	case TERN_NETIF_ERROR_RING_REF: return "RING_REF";
	case TERN_NETIF_ERROR_FEATURES: return "FEATURES";
	case TERN_NETIF_ERROR_RING_BROKEN: return "RING_BROKEN";
	case TERN_NETIF_ERROR_MALFORMED: return "MALFORMED";
	default: return "unknown";
	}
}

static u32 load(u32 *p) { return smp_load_acquire(p); }
static void store(u32 *p, u32 v) { smp_store_release(p, v); }

/* --- Rings (Xen's ring.h macros, for one page) ------------------------------------- */

/* Publishes requests up to `prod`: true if the backend asked to be told. */
static bool netfront_push(struct tern_ring_header *ring, u32 old, u32 prod)
{
	virt_wmb();  /* the requests before the index */
	WRITE_ONCE(ring->req_prod, prod);
	virt_mb();   /* the index before the backend's req_event */
	return (u32)(prod - READ_ONCE(ring->req_event)) < (u32)(prod - old);
}

/* The backend's response index, checked against what is outstanding:
 * false if it claims more responses than requests (the ring is broken). */
static bool netfront_responses(struct tern_ring_header *ring, u32 cons, u32 prod, u32 *rsp_prod)
{
	*rsp_prod = READ_ONCE(ring->rsp_prod);
	virt_rmb();  /* the index before the responses it covers */
	return (u32)(*rsp_prod - cons) <= (u32)(prod - cons);
}

/* Asks for an event when responses past `event - 1` come; true if some
 * came meanwhile. */
static bool netfront_arm(struct tern_ring_header *ring, u32 cons, u32 event)
{
	WRITE_ONCE(ring->rsp_event, event);
	virt_mb();   /* rsp_event before reading rsp_prod again */
	return READ_ONCE(ring->rsp_prod) != cons;
}

/* A response broke the ABI: this interface stops (lock held). */
static void netfront_break(struct netfront *nf, const char *why, u32 value)
{
	if (nf->state != NETFRONT_CONNECTED)
		return;
	WRITE_ONCE(nf->state, NETFRONT_BROKEN);
	netif_carrier_off(nf->netdev);
	netif_stop_queue(nf->netdev);
	pr_err("%s: %s (%u): interface disabled\n", nf->name, why, value);
}

/* --- Transmit -------------------------------------------------------------------- */

/* Takes the tx responses: their pages are free again (lock held). */
static void netfront_tx_reap(struct netfront *nf)
{
	struct tern_netif_tx_response rsp;
	u32 rp;

	if (nf->state != NETFRONT_CONNECTED)
		return;
	if (!netfront_responses(nf->tx_ring, nf->tx_cons, nf->tx_prod, &rp)) {
		netfront_break(nf, "tx response index past the requests", rp);
		return;
	}
	for (; nf->tx_cons != rp; nf->tx_cons++) {
		rsp = READ_ONCE(nf->tx_slots[nf->tx_cons & NETFRONT_RING_MASK].response);
		/* An extra slot's answer (NULL, NETFRONT_EXTRA_ID): no page. */
		if (rsp.status == TERN_NETIF_RSP_NULL && (rsp.id >= nf->tx_count || !nf->tx_out[rsp.id]))
			continue;
		if (rsp.id >= nf->tx_count || !nf->tx_out[rsp.id]) {
			netfront_break(nf, "tx response for an id not sent", rsp.id);
			return;
		}
		nf->tx_out[rsp.id] = false;
		nf->tx_free[nf->tx_nfree++] = rsp.id;
		if (rsp.status == TERN_NETIF_RSP_DROPPED)
			nf->netdev->stats.tx_dropped++;
		else if (rsp.status == TERN_NETIF_RSP_ERROR)
			nf->netdev->stats.tx_errors++;
	}
}

/* Re-arms the tx ring's event: at once when the queue waits for pages,
 * else when half of what is out has been answered. True if responses
 * came meanwhile (lock held). */
static bool netfront_tx_arm(struct netfront *nf)
{
	u32 out = nf->tx_prod - nf->tx_cons;

	if (netif_queue_stopped(nf->netdev))
		return netfront_arm(nf->tx_ring, nf->tx_cons, nf->tx_cons + 1);
	return netfront_arm(nf->tx_ring, nf->tx_cons, nf->tx_cons + out / 2 + 1);
}

/* Ring slots free for requests (each outstanding request holds one). */
static unsigned int netfront_tx_ring_free(struct netfront *nf)
{
	return TERN_NETIF_RING_ENTRIES - (nf->tx_prod - nf->tx_cons);
}

/* Room for the largest frame: its data slots' pages, and ring slots for
 * them and a GSO extra (lock held). */
static bool netfront_tx_room(struct netfront *nf, unsigned int data_slots)
{
	return nf->tx_nfree >= data_slots && netfront_tx_ring_free(nf) >= data_slots + 1;
}

/* The first request's flags and, for a GSO packet, its extra slot: false
 * if the frame is one the backend cannot take as it is. */
static bool netfront_tx_offloads(struct netfront *nf, struct sk_buff *skb, u16 *flags,
				 struct tern_netif_extra_info *gso)
{
	struct skb_shared_info *info = skb_shinfo(skb);

	*flags = 0;
	if (skb->ip_summed == CHECKSUM_PARTIAL)
		*flags = TERN_NETTXF_CSUM_BLANK | TERN_NETTXF_DATA_VALIDATED;
	else if (skb->ip_summed == CHECKSUM_UNNECESSARY)
		*flags = TERN_NETTXF_DATA_VALIDATED;
	if (!skb_is_gso(skb))
		return true;
	if (!(nf->features & TERN_NETIF_FEATURE_GSO) || skb->ip_summed != CHECKSUM_PARTIAL)
		return false;
	memset(gso, 0, sizeof(*gso));
	gso->type = TERN_NETIF_EXTRA_TYPE_GSO;
	gso->u[0] = info->gso_size;
	if (info->gso_type & SKB_GSO_TCPV4)
		gso->u[1] = TERN_NETIF_GSO_TYPE_TCPV4;
	else if (info->gso_type & SKB_GSO_TCPV6)
		gso->u[1] = TERN_NETIF_GSO_TYPE_TCPV6;
	else
		return false;
	*flags |= TERN_NETTXF_EXTRA_INFO;
	return true;
}

static netdev_tx_t netfront_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct netfront *nf = netdev_priv(dev);
	struct tern_netif_tx_request req;
	struct tern_netif_extra_info gso;
	union tern_netif_tx_slot *slot;
	unsigned int len = skb->len, slots = DIV_ROUND_UP(len, PAGE_SIZE), i, off, chunk;
	unsigned long flags;
	bool notify;
	u16 first_flags;
	u32 old;
	u16 id;

	if (len < ETH_HLEN || len > TERN_NETIF_MAX_TX_SIZE || slots > nf->max_slots ||
	    !netfront_tx_offloads(nf, skb, &first_flags, &gso)) {
		dev->stats.tx_dropped++;
		dev_kfree_skb_any(skb);
		return NETDEV_TX_OK;
	}
	spin_lock_irqsave(&nf->lock, flags);
	if (nf->state != NETFRONT_CONNECTED) {
		spin_unlock_irqrestore(&nf->lock, flags);
		dev->stats.tx_dropped++;
		dev_kfree_skb_any(skb);
		return NETDEV_TX_OK;
	}
	if (!netfront_tx_room(nf, slots))
		netfront_tx_reap(nf);
	if (!netfront_tx_room(nf, slots) || nf->state != NETFRONT_CONNECTED) {
		/* Poll wakes the queue when pages come back. */
		netif_stop_queue(dev);
		netfront_tx_arm(nf);
		spin_unlock_irqrestore(&nf->lock, flags);
		return NETDEV_TX_BUSY;
	}
	old = nf->tx_prod;
	for (i = 0, off = 0; i < slots; i++, off += chunk) {
		chunk = min_t(unsigned int, PAGE_SIZE, len - off);
		id = nf->tx_free[--nf->tx_nfree];
		/* The frame's bytes, linear part and fragments, into our page. */
		skb_copy_bits(skb, off, page_address(nf->tx_pages[id]), chunk);
		req.gref = nf->tx_refs[id];
		req.offset = 0;
		req.flags = (i == 0 ? first_flags : 0) | (i + 1 < slots ? TERN_NETTXF_MORE_DATA : 0);
		req.id = id;
		req.size = i == 0 ? len : chunk;  /* the first: the frame's size */
		nf->tx_out[id] = true;
		nf->tx_slots[nf->tx_prod++ & NETFRONT_RING_MASK].request = req;
		if (i == 0 && (first_flags & TERN_NETTXF_EXTRA_INFO)) {
			/* The GSO extra right after the first request (netif.h). */
			slot = &nf->tx_slots[nf->tx_prod++ & NETFRONT_RING_MASK];
			slot->request.id = NETFRONT_EXTRA_ID;
			slot->extra = gso;
		}
	}
	notify = netfront_push(nf->tx_ring, old, nf->tx_prod);
	if (!netfront_tx_room(nf, nf->max_slots)) {
		netfront_tx_reap(nf);
		if (!netfront_tx_room(nf, nf->max_slots)) {
			netif_stop_queue(dev);
			if (netfront_tx_arm(nf))
				napi_schedule(&nf->napi);
		}
	}
	spin_unlock_irqrestore(&nf->lock, flags);
	if (notify)
		tern_evtchn_notify(nf->tdev->port);
	dev->stats.tx_packets++;
	dev->stats.tx_bytes += len;
	dev_consume_skb_any(skb);
	return NETDEV_TX_OK;
}

/* --- Receive ------------------------------------------------------------------- */

/* Puts rx page `id` in the ring (NAPI or the link work before connecting). */
static void netfront_rx_post(struct netfront *nf, u16 id)
{
	struct tern_netif_rx_request req = { .id = id, .reserved = 0, .gref = nf->rx_refs[id] };

	nf->rx_ids[nf->rx_prod & NETFRONT_RING_MASK] = id;
	nf->rx_slots[nf->rx_prod++ & NETFRONT_RING_MASK].request = req;
}


enum netfront_rx_take { NETFRONT_RX_FRAME, NETFRONT_RX_PARTIAL, NETFRONT_RX_BROKEN };

/* Copies the frame starting at slot `cons` (responses up to `rp`): a whole
 * frame, one not wholly published yet, or one that breaks the ABI. */
static enum netfront_rx_take netfront_rx_take(struct netfront *nf, u32 cons, u32 rp, struct netfront_rx_frame *f)
{
	struct tern_netif_extra_info extra;
	unsigned int extras = 0;
	u32 i = cons;

	f->data_slots = 0;
	f->gso.type = TERN_NETIF_EXTRA_TYPE_NONE;
	if (i == rp)
		return NETFRONT_RX_PARTIAL;
	f->data[f->data_slots++] = READ_ONCE(nf->rx_slots[i++ & NETFRONT_RING_MASK].response);
	if (f->data[0].flags & TERN_NETRXF_EXTRA_INFO) {
		do {
			if (i == rp)
				return NETFRONT_RX_PARTIAL;
			if (++extras > NETFRONT_EXTRAS_MAX)
				return NETFRONT_RX_BROKEN;
			extra = READ_ONCE(nf->rx_slots[i++ & NETFRONT_RING_MASK].extra);
			if (extra.type == TERN_NETIF_EXTRA_TYPE_GSO)
				f->gso = extra;
		} while (extra.flags & TERN_NETIF_EXTRA_FLAG_MORE);
	}
	while (f->data[f->data_slots - 1].flags & TERN_NETRXF_MORE_DATA) {
		if (i == rp)
			return NETFRONT_RX_PARTIAL;
		if (f->data_slots == ARRAY_SIZE(f->data))
			return NETFRONT_RX_BROKEN;
		f->data[f->data_slots++] = READ_ONCE(nf->rx_slots[i++ & NETFRONT_RING_MASK].response);
	}
	f->slots = i - cons;
	return NETFRONT_RX_FRAME;
}

/* Sets a GSO frame's segmentation and the checksum state the backend
 * gave: false if the frame is to be dropped. */
static bool netfront_rx_offloads(struct netfront *nf, struct sk_buff *skb, const struct netfront_rx_frame *f)
{
	u16 flags = f->data[0].flags;

	if (f->gso.type == TERN_NETIF_EXTRA_TYPE_GSO) {
		if (!(nf->features & TERN_NETIF_FEATURE_GSO) || !f->gso.u[0] ||
		    !(flags & (TERN_NETRXF_CSUM_BLANK | TERN_NETRXF_DATA_VALIDATED)))
			return false;
		if (f->gso.u[1] == TERN_NETIF_GSO_TYPE_TCPV4)
			skb_shinfo(skb)->gso_type = SKB_GSO_TCPV4;
		else if (f->gso.u[1] == TERN_NETIF_GSO_TYPE_TCPV6)
			skb_shinfo(skb)->gso_type = SKB_GSO_TCPV6;
		else
			return false;
		skb_shinfo(skb)->gso_type |= SKB_GSO_DODGY;  /* the stack checks the headers */
		skb_shinfo(skb)->gso_size = f->gso.u[0];
		skb_shinfo(skb)->gso_segs = 0;
	}
	if (flags & TERN_NETRXF_CSUM_BLANK) {
		/* Partial (sent by Dom0 or another guest): the pseudo header's sum
		 * is in the field; the stack finds where (as xen-netfront). */
		skb->ip_summed = CHECKSUM_PARTIAL;
		skb_reset_network_header(skb);
		return skb_checksum_setup(skb, false) == 0;
	}
	if (flags & TERN_NETRXF_DATA_VALIDATED)
		skb->ip_summed = CHECKSUM_UNNECESSARY;
	return true;
}

/* The frame copied out of its pages into a new skb (the first page's bytes
 * linear, the others' as page fragments), or NULL (counted). */
static struct sk_buff *netfront_rx_skb(struct netfront *nf, u32 cons, const struct netfront_rx_frame *f)
{
	struct net_device *dev = nf->netdev;
	const struct tern_netif_rx_response *rsp;
	struct sk_buff *skb = NULL;
	struct page *frag;
	unsigned int k, len = 0, extras = f->slots - f->data_slots;
	u32 pos;
	u16 id;

	for (k = 0; k < f->data_slots; k++) {
		rsp = &f->data[k];
		if (rsp->status <= 0 || rsp->offset + rsp->status > PAGE_SIZE) {
			dev->stats.rx_errors++;  /* the backend failed a part, or named bytes past the page */
			goto drop;
		}
		len += rsp->status;
	}
	if (len < ETH_HLEN || (f->data_slots > 1 && !(nf->features & TERN_NETIF_FEATURE_SG))) {
		dev->stats.rx_length_errors++;
		goto drop;
	}
	/* The data slots: the first, then (after any extras) the rest. */
	for (k = 0; k < f->data_slots; k++) {
		rsp = &f->data[k];
		pos = cons + k + (k ? extras : 0);
		id = nf->rx_ids[pos & NETFRONT_RING_MASK];
		if (k == 0) {
			skb = napi_alloc_skb(&nf->napi, rsp->status);
			if (!skb)
				goto no_memory;
			skb_put_data(skb, page_address(nf->rx_pages[id]) + rsp->offset, rsp->status);
			continue;
		}
		frag = alloc_page(GFP_ATOMIC);
		if (!frag)
			goto no_memory;
		memcpy(page_address(frag), page_address(nf->rx_pages[id]) + rsp->offset, rsp->status);
		skb_add_rx_frag(skb, k - 1, frag, 0, rsp->status, PAGE_SIZE);
	}
	skb->protocol = eth_type_trans(skb, dev);
	if (!netfront_rx_offloads(nf, skb, f)) {
		dev->stats.rx_errors++;
		goto drop;
	}
	return skb;
no_memory:
	dev->stats.rx_dropped++;
drop:
	if (skb)
		dev_kfree_skb_any(skb);
	return NULL;
}

/* Takes up to `budget` rx frames, posting their pages again; the frames
 * taken. */
static int netfront_rx(struct netfront *nf, int budget)
{
	struct netfront_rx_frame *f = &nf->rx_frame;
	struct net_device *dev = nf->netdev;
	enum netfront_rx_take took;
	struct sk_buff *skb;
	u32 rp, old = nf->rx_prod, k;
	unsigned long flags;
	int frames = 0;

	if (!netfront_responses(nf->rx_ring, nf->rx_cons, nf->rx_prod, &rp)) {
		spin_lock_irqsave(&nf->lock, flags);
		netfront_break(nf, "rx response index past the requests", rp);
		spin_unlock_irqrestore(&nf->lock, flags);
		return 0;
	}
	while (frames < budget) {
		took = netfront_rx_take(nf, nf->rx_cons, rp, f);
		if (took == NETFRONT_RX_PARTIAL)
			break;
		if (took == NETFRONT_RX_BROKEN) {
			spin_lock_irqsave(&nf->lock, flags);
			netfront_break(nf, "rx frame over more slots than a 64 KiB frame takes", f->data_slots);
			spin_unlock_irqrestore(&nf->lock, flags);
			return frames;
		}
		skb = netfront_rx_skb(nf, nf->rx_cons, f);
		/* Every slot's page goes back to the backend, extras' too. */
		for (k = 0; k < f->slots; k++)
			netfront_rx_post(nf, nf->rx_ids[(nf->rx_cons + k) & NETFRONT_RING_MASK]);
		nf->rx_cons += f->slots;
		frames++;
		if (!skb)
			continue;
		dev->stats.rx_packets++;
		dev->stats.rx_bytes += skb->len + ETH_HLEN;
		if (READ_ONCE(gro))
			napi_gro_receive(&nf->napi, skb);
		else
			netif_receive_skb(skb);
	}
	if (nf->rx_prod != old && netfront_push(nf->rx_ring, old, nf->rx_prod))
		tern_evtchn_notify(nf->tdev->port);
	return frames;
}

static int netfront_poll(struct napi_struct *napi, int budget)
{
	struct netfront *nf = container_of(napi, struct netfront, napi);
	unsigned long flags;
	bool more;
	int frames;

	spin_lock_irqsave(&nf->lock, flags);
	netfront_tx_reap(nf);
	if (netif_queue_stopped(nf->netdev) && nf->state == NETFRONT_CONNECTED && !nf->backend_away &&
	    netfront_tx_room(nf, nf->max_slots))
		netif_wake_queue(nf->netdev);
	spin_unlock_irqrestore(&nf->lock, flags);

	if (READ_ONCE(nf->state) != NETFRONT_CONNECTED)
		frames = 0;
	else
		frames = netfront_rx(nf, budget);
	if (frames >= budget)
		return budget;
	if (napi_complete_done(napi, frames)) {
		spin_lock_irqsave(&nf->lock, flags);
		more = nf->state == NETFRONT_CONNECTED &&
		       (netfront_tx_arm(nf) | netfront_arm(nf->rx_ring, nf->rx_cons, nf->rx_cons + 1));
		spin_unlock_irqrestore(&nf->lock, flags);
		if (more)
			napi_schedule(napi);
	}
	return frames;
}

static void netfront_event(u32 port, void *data)
{
	struct netfront *nf = data;
	enum netfront_state state = READ_ONCE(nf->state);
	bool connected;

	if (state == NETFRONT_CONNECTED) {
		napi_schedule(&nf->napi);
		/* The link work follows a backend that leaves or comes back. */
		connected = load(&nf->control->link.backend_state) == TERN_LINK_CONNECTED;
		if (connected == READ_ONCE(nf->backend_away))
			queue_work(system_long_wq, &nf->link_work);
	} else if (state == NETFRONT_WAITING || state == NETFRONT_READY) {
		queue_work(system_long_wq, &nf->link_work);
	}
}

/* --- The net_device -------------------------------------------------------------- */

static int netfront_open(struct net_device *dev)
{
	struct netfront *nf = netdev_priv(dev);

	napi_enable(&nf->napi);
	netif_start_queue(dev);
	napi_schedule(&nf->napi);  /* what came while it was down */
	return 0;
}

static int netfront_stop(struct net_device *dev)
{
	struct netfront *nf = netdev_priv(dev);

	netif_tx_disable(dev);
	napi_disable(&nf->napi);
	return 0;
}

static const struct net_device_ops netfront_ops = {
	.ndo_open = netfront_open,
	.ndo_stop = netfront_stop,
	.ndo_start_xmit = netfront_xmit,
	.ndo_validate_addr = eth_validate_addr,
};

/* --- The handshake (the link work) --------------------------------------------------- */

/* The backend's fields, copied once, checked: 0, or -EINVAL with one line
 * saying what is wrong. */
static int netfront_check_backend(struct netfront *nf)
{
	const struct tern_netif_control *b = &nf->backend;
	unsigned int i;

	if (b->version == 0) {
		pr_err("%s: backend's version went back to 0\n", nf->name);
		return -EINVAL;
	}
	if (!is_valid_ether_addr(b->mac)) {
		pr_err("%s: backend's mac %pM is not a unicast address\n", nf->name, b->mac);
		return -EINVAL;
	}
	if (b->mtu < ETH_MIN_MTU || b->mtu > NETFRONT_MTU_MAX) {
		pr_err("%s: backend's mtu %u is not within %u..%u\n", nf->name, b->mtu, ETH_MIN_MTU, NETFRONT_MTU_MAX);
		return -EINVAL;
	}
	if (b->max_tx_slots < TERN_NETIF_NR_SLOTS_MIN) {
		pr_err("%s: backend's max_tx_slots %u is below %u\n", nf->name, b->max_tx_slots, TERN_NETIF_NR_SLOTS_MIN);
		return -EINVAL;
	}
	/* Version 1 gives these bytes no meaning; a later one may. */
	if (b->version == TERN_NETIF_CONTROL_VERSION) {
		if (b->backend_features & ~TERN_NETIF_FEATURES) {
			pr_err("%s: backend offers unknown features %#x\n", nf->name, b->backend_features & ~TERN_NETIF_FEATURES);
			return -EINVAL;
		}
		for (i = 0; i < ARRAY_SIZE(b->backend_reserved); i++)
			if (b->backend_reserved[i]) {
				pr_err("%s: backend's reserved word %u is %#x, not zero\n", nf->name, i, b->backend_reserved[i]);
				return -EINVAL;
			}
	}
	return 0;
}

/* A ring page, zeroed, both event indices 1 (as Xen's FRONT_RING_INIT),
 * granted read-write to the backend. */
static int netfront_alloc_ring(struct netfront *nf, struct tern_ring_header **ring, u32 *ref)
{
	struct page *page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	int granted;

	if (!page)
		return -ENOMEM;
	*ring = page_address(page);
	(*ring)->req_event = 1;
	(*ring)->rsp_event = 1;
	granted = tern_grant_page(nf->tdev->backend, page, false);
	if (granted < 0)
		return granted;
	*ref = granted;
	return 0;
}

/* Up to `want` pages, each granted to the backend. The pages there are.
 * tx pages are read-only to a backend that maps per packet, which only
 * reads them; a persistent backend keeps every page mapped writable
 * (docs/abi.md: it maps each ref once, for reads and writes alike), and a
 * read-only tx page would be mapped and unmapped for each frame. */
static unsigned int netfront_alloc_pool(struct netfront *nf, struct page **pages, u32 *refs, unsigned int want,
					bool readonly, int *err)
{
	unsigned int n;
	int ref;

	for (n = 0; n < want; n++) {
		pages[n] = alloc_page(GFP_KERNEL);
		if (!pages[n]) {
			*err = -ENOMEM;
			break;
		}
		ref = tern_grant_page(nf->tdev->backend, pages[n], readonly);
		if (ref < 0) {
			*err = ref;
			__free_page(pages[n]);
			pages[n] = NULL;
			break;
		}
		refs[n] = ref;
	}
	return n;
}

/* Step 3 of the handshake: the backend's version is set. */
static int netfront_publish(struct netfront *nf)
{
	struct tern_netif_control *c = nf->control;
	int err = 0;
	u16 id;

	virt_rmb();  /* version before the fields it vouches for */
	tern_netif_copy_control(&nf->backend, c);
	err = netfront_check_backend(nf);
	if (err)
		return err;
	nf->features = nf->backend.backend_features & NETFRONT_FEATURES;
	/* Segmentation needs SG and checksum offload (netif.h). */
	if ((nf->features & (TERN_NETIF_FEATURE_SG | TERN_NETIF_FEATURE_CSUM)) !=
	    (TERN_NETIF_FEATURE_SG | TERN_NETIF_FEATURE_CSUM))
		nf->features &= ~TERN_NETIF_FEATURE_GSO;
	/* Without SG a frame must fit one page; with GSO it may be 64 KiB. */
	if (!(nf->features & TERN_NETIF_FEATURE_SG))
		nf->max_slots = 1;
	else if (nf->features & TERN_NETIF_FEATURE_GSO)
		nf->max_slots = min_t(unsigned int, nf->backend.max_tx_slots, NETFRONT_DATA_SLOTS_MAX);
	else
		nf->max_slots = min_t(unsigned int, nf->backend.max_tx_slots,
				      DIV_ROUND_UP(nf->backend.mtu + VLAN_ETH_HLEN, PAGE_SIZE));
	if (!(nf->features & TERN_NETIF_FEATURE_SG) && nf->backend.mtu + VLAN_ETH_HLEN > PAGE_SIZE) {
		pr_err("%s: backend's mtu %u needs scatter-gather, which it does not offer\n", nf->name, nf->backend.mtu);
		return -EINVAL;
	}

	err = netfront_alloc_ring(nf, &nf->tx_ring, &nf->tx_ring_ref);
	if (!err)
		err = netfront_alloc_ring(nf, &nf->rx_ring, &nf->rx_ring_ref);
	if (err) {
		pr_err("%s: cannot set up its rings: %d\n", nf->name, err);
		return err;
	}
	nf->tx_slots = (union tern_netif_tx_slot *)(nf->tx_ring + 1);
	nf->rx_slots = (union tern_netif_rx_slot *)(nf->rx_ring + 1);
	nf->tx_count = netfront_alloc_pool(nf, nf->tx_pages, nf->tx_refs, NETFRONT_TX_PAGES,
					   !(nf->features & TERN_NETIF_FEATURE_PERSISTENT), &err);
	nf->rx_count = netfront_alloc_pool(nf, nf->rx_pages, nf->rx_refs, NETFRONT_RX_PAGES, false, &err);
	if (nf->tx_count < nf->max_slots || nf->rx_count < NETFRONT_RX_PAGES_MIN) {
		pr_err("%s: pages and grant refs for %u tx and %u rx pages only (need %u and %u): %d\n", nf->name,
		       nf->tx_count, nf->rx_count, nf->max_slots, NETFRONT_RX_PAGES_MIN, err);
		return err ? err : -ENOMEM;
	}
	if (nf->tx_count < NETFRONT_TX_PAGES || nf->rx_count < NETFRONT_RX_PAGES)
		pr_warn("%s: %u tx and %u rx pages only (of %u each): %d\n", nf->name, nf->tx_count, nf->rx_count,
			NETFRONT_TX_PAGES, err);
	for (id = nf->tx_count; id-- > 0;)
		nf->tx_free[nf->tx_nfree++] = id;
	/* Every rx page posted before READY: the backend sees them at once. */
	for (id = 0; id < nf->rx_count; id++)
		netfront_rx_post(nf, id);
	netfront_push(nf->rx_ring, 0, nf->rx_prod);

	memset((char *)c + offsetof(struct tern_netif_control, frontend_version), 0,
	       sizeof(*c) - offsetof(struct tern_netif_control, frontend_version));
	WRITE_ONCE(c->frontend_version, TERN_NETIF_CONTROL_VERSION);
	WRITE_ONCE(c->frontend_features, nf->features);
	WRITE_ONCE(c->rx_ring_ref, nf->rx_ring_ref);
	WRITE_ONCE(c->link.ring_ref, nf->tx_ring_ref);
	/* The fields before READY (store-release: smp_wmb then the store). */
	store(&c->link.frontend_state, TERN_LINK_READY);
	tern_evtchn_notify(nf->tdev->port);
	pr_info("%s: rings (tx ref %u, rx ref %u) and %u + %u pages granted to d%u, features %#x%s, READY on port %u\n",
		nf->name, nf->tx_ring_ref, nf->rx_ring_ref, nf->tx_count, nf->rx_count, nf->tdev->backend, nf->features,
		nf->features & TERN_NETIF_FEATURE_PERSISTENT ? " (persistent grants)" : "", nf->tdev->port);
	return 0;
}

/* Step 4 done: the net_device, with what the backend said. */
static int netfront_register(struct netfront *nf)
{
	struct net_device *dev = nf->netdev;
	int err;

	eth_hw_addr_set(dev, nf->backend.mac);
	dev->mtu = nf->backend.mtu;
	dev->min_mtu = ETH_MIN_MTU;
	dev->max_mtu = nf->backend.mtu;
	if (nf->features & TERN_NETIF_FEATURE_SG)
		dev->hw_features |= NETIF_F_SG;
	if (nf->features & TERN_NETIF_FEATURE_CSUM)
		dev->hw_features |= NETIF_F_IP_CSUM | NETIF_F_IPV6_CSUM;
	if (nf->features & TERN_NETIF_FEATURE_GSO) {
		dev->hw_features |= NETIF_F_TSO | NETIF_F_TSO6;
		/* A frame and its headers fit the first request's u16 size (as
		 * xen-netfront's limit). */
		netif_set_tso_max_size(dev, TERN_NETIF_MAX_TX_SIZE - MAX_TCP_HEADER);
	}
	dev->features |= dev->hw_features;
	if (!READ_ONCE(nf->control->carrier))
		netif_carrier_off(dev);
	err = register_netdev(dev);
	if (err)
		return err;
	nf->registered = true;
	strscpy(nf->name, dev->name, sizeof(nf->name));
	pr_info("%s: interface %u of d%u, mac %pM, mtu %u, carrier %s%s\n", nf->name, nf->tdev->devid,
		nf->tdev->backend, dev->dev_addr, dev->mtu, netif_carrier_ok(dev) ? "on" : "off",
		nf->features & TERN_NETIF_FEATURE_GSO ? ", checksum and segmentation offload"
		: nf->features & TERN_NETIF_FEATURE_CSUM ? ", checksum offload" : "");
	return 0;
}

/* Handshake failed or the backend refused: nothing more is done until
 * removal (which frees what was set up). */
static void netfront_give_up(struct netfront *nf)
{
	unsigned long flags;

	spin_lock_irqsave(&nf->lock, flags);
	if (nf->state == NETFRONT_WAITING || nf->state == NETFRONT_READY)
		nf->state = NETFRONT_GONE;
	spin_unlock_irqrestore(&nf->lock, flags);
	store(&nf->control->link.frontend_state, TERN_LINK_CLOSED);
	tern_evtchn_notify(nf->tdev->port);
}

/* Moves the state on from `from` to `to`, unless removal got there first. */
static bool netfront_advance(struct netfront *nf, enum netfront_state from, enum netfront_state to)
{
	unsigned long flags;
	bool moved;

	spin_lock_irqsave(&nf->lock, flags);
	moved = nf->state == from;
	if (moved)
		WRITE_ONCE(nf->state, to);
	spin_unlock_irqrestore(&nf->lock, flags);
	return moved;
}

/* Backend closed with an error: refused the handshake (give up, saying
 * why), or closed a connected interface (disabled). True if so. */
static bool netfront_backend_closed(struct netfront *nf)
{
	unsigned long flags;
	u32 error;

	if (load(&nf->control->link.backend_state) != TERN_LINK_CLOSED)
		return false;
	error = READ_ONCE(nf->control->backend_error);
	if (error == TERN_NETIF_ERROR_NONE)
		return false;
	pr_err("%s: backend closed the interface: backend_error %u (%s); interface %s\n", nf->name, error,
	       netfront_error_name(error), READ_ONCE(nf->state) == NETFRONT_CONNECTED ? "disabled" : "not connected");
	spin_lock_irqsave(&nf->lock, flags);
	if (nf->state == NETFRONT_CONNECTED) {
		nf->state = NETFRONT_BROKEN;
		netif_carrier_off(nf->netdev);
		netif_stop_queue(nf->netdev);
	}
	spin_unlock_irqrestore(&nf->lock, flags);
	netfront_give_up(nf);
	return true;
}

/* An interface whose backend is gone for good: its event channel's other
 * end closed (a restarted backend keeps the same port). True if so. */
static bool netfront_stale(struct netfront *nf)
{
	if (tern_evtchn_state(nf->tdev->port) != TERN_EVTCHN_PEER_CLOSED)
		return false;
	pr_err("%s: the backend closed the interface's event channel: not connecting\n", nf->name);
	netfront_give_up(nf);
	return true;
}

/* The backend left CONNECTED (restarted by Dom0) or came back: carrier. */
static void netfront_follow_backend(struct netfront *nf)
{
	unsigned long flags;
	bool connected = load(&nf->control->link.backend_state) == TERN_LINK_CONNECTED;

	spin_lock_irqsave(&nf->lock, flags);
	if (nf->state != NETFRONT_CONNECTED || connected == !nf->backend_away) {
		spin_unlock_irqrestore(&nf->lock, flags);
		return;
	}
	WRITE_ONCE(nf->backend_away, !connected);
	spin_unlock_irqrestore(&nf->lock, flags);
	if (connected && READ_ONCE(nf->control->carrier)) {
		pr_info("%s: backend connected again: carrier on\n", nf->name);
		netif_carrier_on(nf->netdev);
		netif_wake_queue(nf->netdev);
		napi_schedule(&nf->napi);
	} else if (!connected) {
		pr_warn("%s: backend left CONNECTED (state %u): carrier off until it is back\n", nf->name,
			load(&nf->control->link.backend_state));
		netif_carrier_off(nf->netdev);
	}
}

static void netfront_link(struct work_struct *work)
{
	struct netfront *nf = container_of(work, struct netfront, link_work);
	int err;

	switch (READ_ONCE(nf->state)) {
	case NETFRONT_WAITING:
		if (netfront_backend_closed(nf) || netfront_stale(nf))
			return;
		if (!READ_ONCE(nf->control->version))
			return;
		err = netfront_publish(nf);
		if (err) {
			pr_err("%s: not connecting (%d)\n", nf->name, err);
			netfront_give_up(nf);
			return;
		}
		if (!netfront_advance(nf, NETFRONT_WAITING, NETFRONT_READY))
			return;
		fallthrough;
	case NETFRONT_READY:
		if (netfront_backend_closed(nf))
			return;
		if (load(&nf->control->link.backend_state) != TERN_LINK_CONNECTED)
			return;
		if (!netfront_advance(nf, NETFRONT_READY, NETFRONT_CONNECTED))
			return;
		err = netfront_register(nf);
		if (err) {
			pr_err("%s: cannot register the interface: %d\n", nf->name, err);
			netfront_advance(nf, NETFRONT_CONNECTED, NETFRONT_GONE);
			netfront_give_up(nf);
		}
		return;
	case NETFRONT_CONNECTED:
		if (!netfront_backend_closed(nf))
			netfront_follow_backend(nf);
		return;
	default:
		return;
	}
}

/* --- Removal ------------------------------------------------------------------- */

/* Ends a grant, or counts it busy. */
static void netfront_end(u32 *ref, unsigned int *busy)
{
	if (*ref == TERN_GRANT_REF_INVALID)
		return;
	if (tern_grant_end(*ref) == -EBUSY)
		(*busy)++;
	else
		*ref = TERN_GRANT_REF_INVALID;
}

/* Frees a page whose grant ended; one the backend still maps is left to it. */
static void netfront_free(void *addr, struct page *page, u32 ref, unsigned int *leaked)
{
	if (ref != TERN_GRANT_REF_INVALID)
		(*leaked)++;
	else if (page)
		__free_page(page);
	else if (addr)
		free_page((unsigned long)addr);
}

/* Ends every grant (the rings', the pools'), retrying while the backend
 * still maps one; frees what is ours again, leaves the rest (one line). */
static void netfront_free_pages(struct netfront *nf)
{
	unsigned int i, busy, leaked = 0;
	int tries;

	for (tries = 0;; tries++) {
		busy = 0;
		netfront_end(&nf->tx_ring_ref, &busy);
		netfront_end(&nf->rx_ring_ref, &busy);
		for (i = 0; i < nf->tx_count; i++)
			netfront_end(&nf->tx_refs[i], &busy);
		for (i = 0; i < nf->rx_count; i++)
			netfront_end(&nf->rx_refs[i], &busy);
		if (!busy || tries == NETFRONT_UNMAP_TRIES)
			break;
		msleep(NETFRONT_UNMAP_WAIT_MS);
	}
	netfront_free(nf->tx_ring, NULL, nf->tx_ring_ref, &leaked);
	netfront_free(nf->rx_ring, NULL, nf->rx_ring_ref, &leaked);
	for (i = 0; i < nf->tx_count; i++)
		netfront_free(NULL, nf->tx_pages[i], nf->tx_refs[i], &leaked);
	for (i = 0; i < nf->rx_count; i++)
		netfront_free(NULL, nf->rx_pages[i], nf->rx_refs[i], &leaked);
	if (leaked)
		pr_warn("%s: the backend still maps %u of our pages after %u ms: left to it\n", nf->name, leaked,
			NETFRONT_UNMAP_TRIES * NETFRONT_UNMAP_WAIT_MS);
}

static void netfront_remove(struct tern_device *tdev)
{
	struct netfront *nf = tdev->driver_data;
	unsigned long flags;

	/* No handler from here on; the link work finishes what it does. */
	tern_evtchn_unbind(tdev->port);
	spin_lock_irqsave(&nf->lock, flags);
	WRITE_ONCE(nf->state, NETFRONT_GONE);
	spin_unlock_irqrestore(&nf->lock, flags);
	cancel_work_sync(&nf->link_work);
	if (nf->registered)
		unregister_netdev(nf->netdev);  /* stops it: NAPI off, no xmit */
	/* The backend lets go of the rings and the pages when it sees CLOSED. */
	if (load(&nf->control->link.frontend_state) == TERN_LINK_READY) {
		store(&nf->control->link.frontend_state, TERN_LINK_CLOSED);
		tern_evtchn_notify(tdev->port);
	}
	netfront_free_pages(nf);
	pr_info("%s: removed (%lu packets sent, %lu received)\n", nf->name, nf->netdev->stats.tx_packets,
		nf->netdev->stats.rx_packets);
	netif_napi_del(&nf->napi);
	free_netdev(nf->netdev);
}

/* --- Probe -------------------------------------------------------------------- */

static int netfront_probe(struct tern_device *tdev)
{
	struct net_device *dev;
	struct netfront *nf;
	int err;

	dev = alloc_etherdev(sizeof(*nf));
	if (!dev)
		return -ENOMEM;
	nf = netdev_priv(dev);
	nf->netdev = dev;
	nf->tdev = tdev;
	nf->control = tdev->control;
	nf->tx_ring_ref = TERN_GRANT_REF_INVALID;
	nf->rx_ring_ref = TERN_GRANT_REF_INVALID;
	snprintf(nf->name, sizeof(nf->name), "vif%u", tdev->devid);
	spin_lock_init(&nf->lock);
	nf->state = NETFRONT_WAITING;
	INIT_WORK(&nf->link_work, netfront_link);
	dev->netdev_ops = &netfront_ops;
	SET_NETDEV_DEV(dev, &tdev->dev);
	netif_napi_add(dev, &nf->napi, netfront_poll);
	tdev->driver_data = nf;
	/* A notification sent before this is pending and delivered now. */
	err = tern_evtchn_bind(tdev->port, netfront_event, nf);
	if (err) {
		pr_err("%s: cannot bind port %u: %d\n", nf->name, tdev->port, err);
		tdev->driver_data = NULL;
		netif_napi_del(&nf->napi);
		free_netdev(dev);
		return err;
	}
	pr_info("%s: network interface %u of d%u on port %u: waiting for the backend\n", nf->name, tdev->devid,
		tdev->backend, tdev->port);
	queue_work(system_long_wq, &nf->link_work);
	return 0;
}

static struct tern_driver netfront_driver = {
	.type = TERN_DEVICE_NET,
	.probe = netfront_probe,
	.remove = netfront_remove,
	.driver = { .name = "tern-netfront" },
};

static int __init netfront_init(void)
{
	int err = tern_driver_register(&netfront_driver);

	if (err) {
		pr_err("cannot register on bus tern: %d\n", err);
		return err;
	}
	pr_info("registered for network interfaces on bus tern\n");
	return 0;
}

static void __exit netfront_exit(void)
{
	tern_driver_unregister(&netfront_driver);
}

module_init(netfront_init);
module_exit(netfront_exit);

MODULE_DESCRIPTION("Tern network frontend: eth* over Tern's netif");
MODULE_LICENSE("GPL");
