import TernCore
import TernABI
import TernCPU

/// The toolstack's pause, unpause, shutdown and destroy, and the end of a
/// domain: cut loose, its frames returned, its id free again.
extension Domains {
    /// TERN_HC_DOMAIN_CONTROL (checked by Core/DomainControl.swift).
    static func control(_ domain: Domain, _ operation: DomainOperation) {
        domain.name.withUnsafeBytes { name in
            switch operation {
            case .pause:
                domain.pause()
                Log.info("d\(domain.id) \(text: name): paused by the toolstack")
            case .unpause:
                domain.unpause()
                Log.debug("d\(domain.id) \(text: name): unpaused by the toolstack")
            case .shutdown:
                Exits.flushConsole(domain)
                Log.info("d\(domain.id) \(text: name): shut down by the toolstack")
                domain.stop(.poweroff, shutdownCode: UInt64(TERN_SHUTDOWN_POWEROFF), now: SystemTime.nowNanoseconds(), tsc: tern_rdtsc())
                stopped(domain)
            case .destroy:
                Exits.flushConsole(domain)
                Log.info("d\(domain.id) \(text: name): destroyed by the toolstack")
                domain.stop(.poweroff, shutdownCode: UInt64(TERN_SHUTDOWN_POWEROFF), now: SystemTime.nowNanoseconds(), tsc: tern_rdtsc())
                destroy(domain)
            }
        }
    }

    /// A domain stopped (it shut down, crashed, or the toolstack shut it
    /// down): destroyed at once, unless its creator asked Tern to keep it
    /// after this kind of end (TERN_CREATE_KEEP_ON_*). A kept domain is cut
    /// loose as a destroyed one is (its ports close, Dom0 hears
    /// TERN_VIRQ_DOMAIN_DIED) but keeps its memory and its place in the
    /// table, stopped, until TERN_DOMCTL_DESTROY.
    static func stopped(_ domain: Domain) {
        guard domain.isKeptWhenStopped else {
            destroy(domain)
            return
        }
        scheduler.remove(domainID: domain.id)
        ASIDs.forget(domainID: domain.id)
        DomainTeardown.disconnect(domain, host: GuestHypercallHost())
        domain.name.withUnsafeBytes { name in
            Log.info("d\(domain.id) \(text: name): kept \(domain.state.name) (\(domain.stopReason.name)) until destroyed")
        }
    }

    /// Stops a domain for good: it is cut loose from the others
    /// (DomainTeardown), then its memory goes back, unless others still map
    /// its grants: then it stays, dying, until the last one unmaps.
    static func destroy(_ domain: Domain) {
        let destroyStart = tern_rdtsc()
        scheduler.remove(domainID: domain.id)
        ASIDs.forget(domainID: domain.id)
        if domain.emulation.contains(.hardware) { HardwareInterrupts.reset() }
        if domain === Domains.deviceOwner { Domains.deviceOwner = nil }
        if domain === Domains.controlDomain { Domains.controlDomain = nil }
        DomainTeardown.disconnect(domain, host: GuestHypercallHost())
        if domain.grants.mappedByOthers > 0 {
            domain.markDying()
            domain.name.withUnsafeBytes { name in
                Log.info("d\(domain.id) \(text: name): dying: \(domain.grants.mappedByOthers) grant mappings by other domains keep its memory until they unmap")
            }
            logTiming(domain, destroyCycles: tern_rdtsc() &- destroyStart)   // (its run is over all the same)
            return
        }
        release(domain)
        logTiming(domain, destroyCycles: tern_rdtsc() &- destroyStart)
    }

    /// Returns every frame of a stopped domain and frees its id.
    static func release(_ domain: Domain) {
        let before = Platform.frames!.freeFrames
        let frames = domain.memoryFrameCount + domain.overheadFrames.count
        GuestFPU.forget(domain)   // its vCPUs' save areas are among these frames
        let failures = DomainBuilder.release(domain, allocator: &Platform.frames!)
        table[Int(domain.id)] = nil
        DomainPool.memoryReturned()
        if failures != 0 { Log.error("d\(domain.id): \(failures) frames would not free (bookkeeping bug)") }
        domain.name.withUnsafeBytes { name in
            Log.info("d\(domain.id) \(text: name): destroyed, \(frames) frames returned, free frames \(before) -> \(Platform.frames!.freeFrames)")
        }
        if !table.contains(where: { $0 != nil }) {
            Log.info("No guests left: \(Platform.frames!.freeFrames) free frames (\(freeFramesBeforeGuests) before the first guest)")
        }
    }

    /// "dN name: timing: create X us, first run Y us after, run to stop Z
    /// us, destroy W us" (make bench reads these lines), then "dN name:
    /// exits: TOTAL (reason N, ...)", its #VMEXITs by reason (ExitCounts).
    static func logTiming(_ domain: Domain, destroyCycles: UInt64) {
        let t = domain.timing
        func us(_ cycles: UInt64) -> UInt64 { BootPhases.microseconds(cycles: cycles, tscHz: Platform.tscHz) }
        guard t.firstRun != 0, t.stopped >= t.firstRun else { return }
        domain.name.withUnsafeBytes { name in
            Log.info("d\(domain.id) \(text: name): timing: create \(us(t.built &- t.buildStart)) us, run to stop \(us(t.stopped &- t.firstRun)) us, destroy \(us(destroyCycles)) us")
            let exits = domain.exits.summary()
            exits.withUnsafeBytes { Log.info("d\(domain.id) \(text: name): exits: \(text: $0)") }
        }
    }
}
