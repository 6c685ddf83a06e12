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
public final class Scheduler {
    public static let defaultWeight = 256
    public static let creditPerTick = 100
    /// A refill hands out this many ticks' worth of credit per runnable vCPU.
    public static let ticksPerPeriod = 3

    public private(set) var vcpus: [VCPU] = []
    private var weights: [Int] = []
    public private(set) var ticks: UInt64 = 0
    public private(set) var current: VCPU?

    public init() {}

    public func add(_ vcpu: VCPU, weight: Int) {
        vcpus.append(vcpu)
        weights.append(max(1, weight))
    }

    /// Forgets every vCPU of a domain (it stopped).
    public func remove(domainID: UInt16) {
        var i = 0
        while i < vcpus.count {
            if vcpus[i].domainID == domainID {
                if current === vcpus[i] { current = nil }
                vcpus.remove(at: i)
                weights.remove(at: i)
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
    /// one, if still running, goes back to runnable first.
    public func pickNext() -> VCPU? {
        if let previous = current, previous.state == .running { previous.state = .runnable }
        current = nil
        if !vcpus.contains(where: { $0.state == .runnable && $0.credit > 0 }) { refill() }
        var best: VCPU?
        for vcpu in vcpus where vcpu.state == .runnable && vcpu.boosted {
            if best == nil || vcpu.lastPicked < best!.lastPicked { best = vcpu }
        }
        if let boosted = best {
            boosted.boosted = false
            boosted.state = .running
            boosted.lastPicked = nextPickStamp()
            current = boosted
            return boosted
        }
        for vcpu in vcpus where vcpu.state == .runnable {
            guard let b = best else { best = vcpu; continue }
            if vcpu.credit > b.credit || (vcpu.credit == b.credit && vcpu.lastPicked < b.lastPicked) {
                best = vcpu
            }
        }
        guard let chosen = best else { return nil }
        chosen.state = .running
        chosen.lastPicked = nextPickStamp()
        current = chosen
        return chosen
    }

    /// Whether the running vCPU should give way at this tick: someone
    /// runnable has more credit, or it ran out.
    public func shouldPreempt() -> Bool {
        guard let running = current, running.state == .running else { return true }
        if vcpus.contains(where: { $0.state == .runnable && $0.boosted }) { return true }
        if running.credit <= 0 { return vcpus.contains { $0 !== running && $0.state == .runnable } }
        return vcpus.contains { $0.state == .runnable && $0.credit > running.credit }
    }

    private var pickCounter: UInt64 = 0
    private func nextPickStamp() -> UInt64 {
        pickCounter &+= 1
        return pickCounter
    }

    private func refill() {
        var totalWeight = 0
        for (i, vcpu) in vcpus.enumerated() where vcpu.state == .runnable { totalWeight += weights[i] }
        guard totalWeight > 0 else { return }
        let budget = Scheduler.creditPerTick * Scheduler.ticksPerPeriod * max(1, countRunnable())
        for (i, vcpu) in vcpus.enumerated() where vcpu.state == .runnable {
            vcpu.credit += max(1, budget * weights[i] / totalWeight)
        }
    }

    private func countRunnable() -> Int {
        var n = 0
        for vcpu in vcpus where vcpu.state == .runnable { n += 1 }
        return n
    }
}
