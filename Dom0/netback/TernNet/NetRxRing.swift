import TernABI
import TernRing

/// The backend's end of a netif rx ring (through TernRing's BackRing): the
/// frontend posts empty pages (requests), the backend copies a packet into
/// one and answers **in the same slot** (xen-netfront ignores the
/// response's id and relies on it): pages are taken and answered in order,
/// so the response to the page taken n-th goes in slot n, which is what
/// BackRing does. Indices are checked before a slot is read; each request
/// is copied once.
public struct NetRxRing {
    var ring: BackRing<tern_netif_rx_request, tern_netif_rx_response>
    public private(set) var broken: NetRingBroken?

    public init(attaching ring: UnsafeMutableRawPointer) {
        self.ring = BackRing(attaching: ring, pageSize: Int(TERN_NETIF_PAGE_SIZE))!   // 8-byte slots fit a page
    }

    /// Pages taken and not yet answered.
    public var outstanding: UInt32 { ring.requestsConsumed &- ring.responsesProduced }

    /// Pages posted and not taken yet (the ring's indices checked).
    public mutating func pagesPosted() -> Result<UInt32, NetRingBroken> {
        if let broken { return .failure(broken) }
        do throws(RingError) { return .success(try ring.unconsumedRequests()) } catch {
            let failure = NetRingBroken(ring: "rx", error)
            broken = failure
            return .failure(failure)
        }
    }

    /// The next page the frontend posted, copied once; nil when it posted none.
    public mutating func takeRequest() -> Result<tern_netif_rx_request?, NetRingBroken> {
        if let broken { return .failure(broken) }
        do throws(RingError) { return .success(try ring.takeRequest()) } catch {
            let failure = NetRingBroken(ring: "rx", error)
            broken = failure
            return .failure(failure)
        }
    }

    /// Answers the oldest page taken, in its own slot: `status` bytes from
    /// `offset` (> 0), or a negative TERN_NETIF_RSP_*. False when none is
    /// outstanding.
    public mutating func respond(id: UInt16, offset: UInt16, flags: UInt16, status: Int16) -> Bool {
        guard broken == nil else { return false }
        do throws(RingError) {
            try ring.push(tern_netif_rx_response(id: id, offset: offset, flags: flags, status: status))
        } catch { return false }
        return true
    }

    /// Answers the oldest page taken with extra information instead (its
    /// page unused: a GSO slot after a packet's first response, netif.h).
    public mutating func respondExtra(_ extra: tern_netif_extra_info) -> Bool {
        guard broken == nil else { return false }
        var extra = extra
        // SAFETY: both are 8-byte structs of integers (netif.h asserts the
        // slot's size), any bit pattern valid: the extra's bytes as the slot's.
        let slot = withUnsafeBytes(of: &extra) { $0.loadUnaligned(as: tern_netif_rx_response.self) }
        do throws(RingError) { try ring.push(slot) } catch { return false }
        return true
    }

    /// True when the frontend asked to be notified.
    public mutating func publishResponses() -> Bool { ring.publish() }

    /// With a frame for the guest and no page posted: asks to be notified
    /// when one is, then looks once more. True: a page is there.
    public mutating func finalCheckForPages() -> Bool {
        if broken != nil { return true }
        return (try? ring.finalCheckForRequests()) ?? true
    }
}
