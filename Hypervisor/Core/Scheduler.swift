/// Tern's scheduler: credit-based, weighted, preemptive at timer ticks
/// (in the spirit of Xen's credit scheduler, docs/architecture.md):
///  - every runnable vCPU holds credit; the vCPU on the CPU pays
///    `creditPerTick` for each tick it runs;
///  - the next vCPU is the runnable one with the most credit; among equals,
///    the one picked longest ago (round robin);
///  - when no runnable vCPU has credit left, every runnable vCPU earns its
///    weight's share of one period's credit (a debt carries over); since a
///    refill only happens once nobody has credit, nobody holds more than
///    one share, and a vCPU that blocks keeps at most that much for later;
///  - blocked vCPUs hold their credit and take no part until woken;
///  - a vCPU the toolstack just started or resumed is boosted (as Xen's
///    BOOST): it runs next, once, ahead of any credit, and keeps the CPU
///    until it blocks or the next tick. A new guest then boots at once
///    instead of waiting for Dom0, which started it, to go idle.
/// A spinning vCPU therefore gets its weight's share and no more, and the
/// others keep running. The scheduler only decides; the arch layer runs
/// the vCPU it returns. It never allocates after vCPUs are added.
/// Picking looks only at the run queue: the vCPUs that became runnable
/// (VCPU.state tells the scheduler) and have not been seen blocked since,
/// so its cost follows the runnable vCPUs, not every guest's.
public final class Scheduler {
    public static let defaultWeight = 256
    public static let creditPerTick = 100
    /// A refill hands out this many ticks' worth of credit per runnable vCPU.
    public static let ticksPerPeriod = 3

    public private(set) var vcpus: [VCPU] = []
    /// Runnable (or recently runnable) vCPUs, each once (VCPU.queued).
    private var queue: [VCPU] = []
    public private(set) var ticks: UInt64 = 0
    public private(set) var current: VCPU?

    public init() {}

    public func add(_ vcpu: VCPU, weight: Int) {
        vcpus.append(vcpu)
        queue.reserveCapacity(vcpus.count)
        vcpu.weight = max(1, weight)
        vcpu.scheduler = self
        if vcpu.state == .runnable { becameRunnable(vcpu) }
    }

    func becameRunnable(_ vcpu: VCPU) {
        guard !vcpu.queued else { return }
        vcpu.queued = true
        queue.append(vcpu)
    }

    /// Drops from the queue the vCPUs no longer runnable (blocked, stopped,
    /// or the one running: it comes back when it stops running).
    private func pruneQueue() {
        var kept = 0
        for i in queue.indices {
            let vcpu = queue[i]
            if vcpu.state == .runnable {
                queue[kept] = vcpu
                kept += 1
            } else {
                vcpu.queued = false
            }
        }
        queue.removeLast(queue.count - kept)
    }

    /// Forgets every vCPU of a domain (it stopped).
    public func remove(domainID: UInt16) {
        var i = 0
        while i < vcpus.count {
            if vcpus[i].domainID == domainID {
                if current === vcpus[i] { current = nil }
                vcpus[i].scheduler = nil
                if vcpus[i].queued, let q = queue.firstIndex(where: { $0 === vcpus[i] }) { queue.remove(at: q) }
                vcpus[i].queued = false
                vcpus.remove(at: i)
            } else {
                i += 1
            }
        }
    }

    /// A timer tick: charges the vCPU that ran through it.
    public func tick() {
        ticks &+= 1
        if let running = current, running.state == .running {
            running.credit -= Scheduler.creditPerTick
        }
    }

    /// The vCPU to run next (now `.running`), or nil to idle. The previous
    /// one, if still running, goes back to runnable first. One pass over
    /// the vCPUs (a second only after a refill): it runs at every block
    /// and wake-up, so its cost grows with the number of guests.
    public func pickNext() -> VCPU? {
        if let previous = current, previous.state == .running { previous.state = .runnable }
        current = nil
        pruneQueue()
        var boosted: VCPU?, best: VCPU?
        var anyCredit = false
        for vcpu in queue {
            if vcpu.boosted && (boosted == nil || vcpu.lastPicked < boosted!.lastPicked) { boosted = vcpu }
            if vcpu.credit > 0 { anyCredit = true }
            if Scheduler.prefers(vcpu, to: best) { best = vcpu }
        }
        guard best != nil else { return nil }
        if let boosted {
            boosted.boosted = false
            return run(boosted)
        }
        if !anyCredit {
            refill()
            // Refills add the same share to each (by weight): pick again.
            best = nil
            for vcpu in queue where Scheduler.prefers(vcpu, to: best) { best = vcpu }
        }
        return run(best!)
    }

    /// More credit wins; among equals, the one picked longest ago.
    private static func prefers(_ vcpu: VCPU, to best: VCPU?) -> Bool {
        guard let best else { return true }
        return vcpu.credit > best.credit || (vcpu.credit == best.credit && vcpu.lastPicked < best.lastPicked)
    }

    private func run(_ chosen: VCPU) -> VCPU {
        chosen.state = .running
        chosen.lastPicked = nextPickStamp()
        current = chosen
        return chosen
    }

    /// Whether the running vCPU should give way at this tick: someone
    /// runnable has more credit, or it ran out.
    public func shouldPreempt() -> Bool {
        guard let running = current, running.state == .running else { return true }
        if queue.contains(where: { $0.state == .runnable && $0.boosted }) { return true }
        if running.credit <= 0 { return queue.contains { $0 !== running && $0.state == .runnable } }
        return queue.contains { $0.state == .runnable && $0.credit > running.credit }
    }

    private var pickCounter: UInt64 = 0
    private func nextPickStamp() -> UInt64 {
        pickCounter &+= 1
        return pickCounter
    }

    private func refill() {
        var totalWeight = 0
        for vcpu in queue where vcpu.state == .runnable { totalWeight += vcpu.weight }
        guard totalWeight > 0 else { return }
        let budget = Scheduler.creditPerTick * Scheduler.ticksPerPeriod * max(1, countRunnable())
        for vcpu in queue where vcpu.state == .runnable {
            vcpu.credit += max(1, budget * vcpu.weight / totalWeight)
        }
    }

    private func countRunnable() -> Int {
        var n = 0
        for vcpu in queue where vcpu.state == .runnable { n += 1 }
        return n
    }
}
