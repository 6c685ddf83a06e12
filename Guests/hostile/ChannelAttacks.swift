import TernGuestC

/// Attacks by a channel backend on its frontend, `ping mode=victim` (whose
/// module line says `channel=` this domain), once the victim has sent its
/// first requests. Each step prints the result Tern gave, for the boot
/// tests:
///   grants       maps grants not given to it: one to another domain, a
///                revoked one, a ref beyond the table, a read-only one
///                writable; grant-copies from the revoked one and into the
///                read-only one; then maps the read-only one read-only
///                (allowed) and checks the victim's pattern
///   rowrite      maps the read-only grant read-only and writes to it
///   closetwice   closes its port of the channel twice, then sends on it
///   foreignport  sends on a port number it does not have, binds the
///                victim's port allocated for another domain
///   corrupt      publishes a response index one ring beyond the
///                requests it took
enum ChannelAttack {
    case grants, readOnlyWrite, closeTwice, foreignPort, corruptIndices

    init?(mode: [UInt8]) {
        switch mode {
        case Array("grants".utf8): self = .grants
        case Array("rowrite".utf8): self = .readOnlyWrite
        case Array("closetwice".utf8): self = .closeTwice
        case Array("foreignport".utf8): self = .foreignPort
        case Array("corrupt".utf8): self = .corruptIndices
        default: return nil
        }
    }

    func run() -> Int64 {
        var channel: ChannelBackend
        do throws(TernError) {
            channel = try ChannelBackend.accept()
        } catch {
            print("hostile: no channel to attack: error \(error.code)")
            return Int64(TERN_SHUTDOWN_CRASH)
        }
        print("hostile: backend of d\(channel.frontend)'s channel, connected")
        // Attack once the victim is at work: its first requests are out.
        guard let page = channel.ringPage,
              var ring = BackRing<PingRequest, PingResponse>(attaching: page, pageSize: Page.size),
              waitForRequests(channel, &ring) else {
            print("hostile: the victim sent nothing")
            channel.disconnect()
            return Int64(TERN_SHUTDOWN_CRASH)
        }
        let setup = PingSetup(channel.control)
        switch self {
        case .grants: mapGrantsNotGiven(channel, setup: setup)
        case .readOnlyWrite: writeThroughReadOnlyGrant(channel, setup: setup)
        case .closeTwice: closePortTwice(channel)
        case .foreignPort: useForeignPorts(channel, setup: setup)
        case .corruptIndices: corruptRingIndices(channel, page: page, ring: ring)
        }
        channel.disconnect()
        print("hostile: disconnected")
        return Int64(TERN_SHUTDOWN_POWEROFF)
    }
}

/// TERN_HC_GRANT_MAP's result: the handle (unmapped again at once) or the error.
func mapResult(_ ref: UInt32, of granter: UInt16, readOnly: Bool) -> Int64 {
    do throws(TernError) {
        let mapping = try GrantWindow.map(ref, of: granter, readOnly: readOnly)
        GrantWindow.unmap(mapping)
        return Int64(mapping.handle)
    } catch {
        return error.code
    }
}

/// One grant copy's status (or the hypercall's error).
func copyResult(_ op: tern_grant_copy) -> Int64 {
    var ops = [op]
    let result = ops.withUnsafeMutableBufferPointer { GrantCopy.perform($0) }
    return result < 0 ? result : Int64(ops[0].status)
}

func mapGrantsNotGiven(_ channel: ChannelBackend, setup: PingSetup) {
    let victim = channel.frontend
    print("hostile: map(a grant to another domain) -> \(mapResult(setup[.foreignRef], of: victim, readOnly: true))")
    print("hostile: map(a revoked grant) -> \(mapResult(setup[.revokedRef], of: victim, readOnly: false))")
    print("hostile: map(a ref beyond the table) -> \(mapResult(UInt32(TERN_GRANT_ENTRIES_MAX), of: victim, readOnly: true))")
    print("hostile: map(a read-only grant, writable) -> \(mapResult(setup[.readOnlyRef], of: victim, readOnly: false))")
    let buffer = Page.allocate()
    print("hostile: copy(from a revoked grant) -> "
          + "\(copyResult(GrantCopy.fromGrant(setup[.revokedRef], of: victim, into: buffer, length: UInt16(Page.size))))")
    print("hostile: copy(into a read-only grant) -> "
          + "\(copyResult(GrantCopy.intoGrant(setup[.readOnlyRef], of: victim, from: buffer, length: UInt16(Page.size))))")
    do throws(TernError) {
        let mapping = try GrantWindow.map(setup[.readOnlyRef], of: victim, readOnly: true)
        print("hostile: map(a read-only grant, read-only) -> ok, the victim's pattern: "
              + "\(Payload.matches(mapping.address, sequence: UInt64(victim)))")
        print("hostile: unmap -> \(GrantWindow.unmap(mapping))")
    } catch {
        print("hostile: map(a read-only grant, read-only) -> \(error.code)")
    }
}

/// Tern refuses the write (#GP); without an IDT that is a triple fault,
/// and this domain is stopped: the lines after the write never print.
func writeThroughReadOnlyGrant(_ channel: ChannelBackend, setup: PingSetup) {
    do throws(TernError) {
        let mapping = try GrantWindow.map(setup[.readOnlyRef], of: channel.frontend, readOnly: true)
        let address = UInt64(UInt(bitPattern: mapping.address))
        print("hostile: mapped the victim's read-only grant at \(address), its pattern: "
              + "\(Payload.matches(mapping.address, sequence: UInt64(channel.frontend))); writing to it")
        tern_guest_console_flush()
        tern_guest_write64(address, 0)   // a write to a read-only mapping, on purpose: Tern refuses it
        print("hostile: wrote to a read-only grant?!")
    } catch {
        print("hostile: map(a read-only grant, read-only) -> \(error.code)")
    }
}

func closePortTwice(_ channel: ChannelBackend) {
    print("hostile: close(my channel port) -> \(Events.close(channel.port))")
    print("hostile: close(my channel port, again) -> \(Events.close(channel.port))")
    print("hostile: send(my closed port) -> \(Events.send(channel.port))")
}

func useForeignPorts(_ channel: ChannelBackend, setup: PingSetup) {
    let notMine = UInt32(TERN_EVENT_PORTS) - 1   // ports are handed out lowest first: this one is free
    print("hostile: send(port \(notMine), not mine) -> \(Events.send(notMine))")
    let bind = Tern.hypercall(TERN_HC_EVTCHN_BIND_INTERDOMAIN, UInt64(channel.frontend), UInt64(setup[.foreignPort]))
    print("hostile: bind(the victim's port for another domain) -> \(bind)")
}

/// Waits until the victim published requests, and takes them all; false
/// if it left first or its ring is corrupt.
func waitForRequests(_ channel: ChannelBackend, _ ring: inout BackRing<PingRequest, PingResponse>) -> Bool {
    var watch = PeerWatch(port: channel.port)
    do throws(RingError) {
        while true {
            var taken = 0
            while try ring.takeRequest() != nil { taken += 1 }
            if taken > 0 { return true }
            if try ring.finalCheckForRequests() { continue }
            guard !channel.frontendClosed, watch.wait() else { return false }
        }
    } catch {
        return false
    }
}

/// Publishes rsp_prod one ring beyond the requests taken (more responses
/// than requests), then stays until the victim closes the channel.
func corruptRingIndices(_ channel: ChannelBackend, page: UnsafeMutableRawPointer,
                        ring: BackRing<PingRequest, PingResponse>) {
    let impossible = ring.requestsConsumed &+ ring.layout.entries
    // SAFETY: the ring page's header, its first 64 bytes (mapped writable).
    let header = page.assumingMemoryBound(to: tern_ring_header.self)
    tern_ring_store(&header.pointee.rsp_prod, impossible)
    var watch = PeerWatch(port: channel.port)
    watch.notify()
    print("hostile: rsp_prod set to \(impossible), \(ring.requestsConsumed &- ring.responsesProduced) requests outstanding")
    while !channel.frontendClosed && watch.wait() {}
}
