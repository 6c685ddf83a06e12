/// A guest interface's transmit rate limit (xl's vif `rate=`, Linux
/// netback's credit): `bytesPerInterval` of credit, topped up every
/// `intervalMicroseconds` (not accumulated beyond one interval's). A packet
/// is sent while credit remains (it may take the credit below zero, as
/// netback lets one packet through that is larger than what is left);
/// then the interface waits for the next top-up. Time is given, not read:
/// pure and testable.
public struct TokenBucket: Equatable {
    public let bytesPerInterval: Int64
    public let intervalMicroseconds: UInt64
    public private(set) var credit: Int64
    public private(set) var lastTopUp: UInt64

    public init(bytesPerInterval: UInt64, intervalMicroseconds: UInt64, now: UInt64) {
        self.bytesPerInterval = Int64(clamping: bytesPerInterval)
        self.intervalMicroseconds = max(1, intervalMicroseconds)
        credit = self.bytesPerInterval
        lastTopUp = now
    }

    mutating func topUp(_ now: UInt64) {
        guard now >= lastTopUp &+ intervalMicroseconds else { return }
        let intervals = (now - lastTopUp) / intervalMicroseconds
        lastTopUp += intervals * intervalMicroseconds
        credit = min(bytesPerInterval, credit + bytesPerInterval * Int64(clamping: intervals))
    }

    /// Whether a packet may go now; if so its bytes are taken.
    public mutating func take(_ bytes: Int, now: UInt64) -> Bool {
        topUp(now)
        guard credit > 0 else { return false }
        credit -= Int64(bytes)
        return true
    }

    /// When credit comes back (for the caller's timer), in microseconds from `now`.
    public func microsecondsUntilCredit(now: UInt64) -> UInt64 {
        credit > 0 ? 0 : (lastTopUp &+ intervalMicroseconds) &- min(now, lastTopUp &+ intervalMicroseconds)
    }
}
