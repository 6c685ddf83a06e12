import TernABI
import TernRing

/// The frontend moved a producer index where no honest frontend can: more
/// slots than it may have in flight (beyond those not yet answered), or
/// backwards. The interface is broken: closed with
/// TERN_NETIF_ERROR_RING_BROKEN and one log line; nothing more of the
/// ring is read.
public struct NetRingBroken: Error, Equatable, CustomStringConvertible {
    public let ring: String
    public let claimed: UInt32
    public let limit: UInt32

    init(ring: String, _ error: RingError) {
        self.ring = ring
        if case .corruptIndices(let unconsumed, let limit) = error {
            claimed = unconsumed
            self.limit = limit
        } else {
            claimed = 0
            limit = 0
        }
    }

    public var description: String {
        "\(ring) ring broken: req_prod claims \(claimed) new slots, at most \(limit) possible (256 slots)"
    }
}
