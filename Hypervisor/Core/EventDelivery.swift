import TernABI

/// Signalling a domain: a port pending in its event page, then the upcall
/// (V_IRQ through its vector, if it set one) and a wake-up if it was
/// blocked (tern/event.h).
public enum EventDelivery {
    /// Raises `port` of `domain`; no effect on a domain without an event
    /// page or a port already pending (one pending bit per port, as Xen).
    public static func notify(_ domain: Domain, port: UInt32) {
        guard let page = domain.events.page, page.raise(port) else { return }
        kick(domain)
    }

    /// Tells vCPU 0 an upcall is due: inject it, or wake it from BLOCK/HLT.
    static func kick(_ domain: Domain) {
        guard !domain.state.isStopped, let vcpu = domain.vcpus.first else { return }
        vcpu.upcallPending = true
        if vcpu.state == .blocked {
            vcpu.state = .runnable
            domain.refreshState()
        }
    }

    /// Raises the port bound to `virq`, if any.
    public static func raise(virq: Int32, in domain: Domain) {
        let port = domain.events.virqPorts[Int(virq)]
        if port != 0 { notify(domain, port: port) }
    }

    /// A vCPU's one-shot timer expired: TERN_VIRQ_TIMER if the domain bound
    /// it, else the plain upcall of ABI 0.1. Since ABI 0.6 the plain upcall
    /// also sets upcall_pending in the event page (with no port pending):
    /// it stays visible to BLOCK, HLT and a guest polling its page until
    /// the guest clears it. Before, a vCPU without a vector lost it at its
    /// next entry (nothing to inject) and BLOCK never returned (issue 13).
    public static func timerExpired(_ vcpu: VCPU, of domain: Domain) {
        vcpu.timerDeadline = 0
        if domain.events.virqPorts[Int(TERN_VIRQ_TIMER)] != 0 {
            raise(virq: TERN_VIRQ_TIMER, in: domain)
        } else {
            // SAFETY: a byte of the domain's event page, which Tern forgets
            // (page nil) before the page's memory goes (DomainTeardown).
            domain.events.page?.upcallPendingFlag.pointee = 1
            vcpu.upcallPending = true
        }
    }
}
