import TernGuestC

/// Waiting on a channel's port without missing that the peer left. Events
/// coalesce into one pending bit, so the event that wakes a wait may also
/// have been the peer closing its port (or dying: TERN_EVTCHN_PEER_CLOSED),
/// and an event taken by earlier code (a handshake) is gone for good. So
/// before blocking, the port's status is asked (a hypercall) whenever an
/// event was taken since the peer's end was last known open; a send that
/// succeeded shows it open too. While no event came, it cannot have closed
/// unnoticed: its closing raises one. The peer's state in shared memory
/// (CLOSED) is the caller's to check before `wait()`: it costs no hypercall.
public struct PeerWatch {
    public let port: UInt32
    /// An event was taken, or a send failed, since the peer's end was last
    /// known open (true at first: earlier code may have taken events).
    var unsure = true

    public init(port: UInt32) { self.port = port }

    /// Signals the peer; true if the send succeeded.
    @discardableResult
    public mutating func notify() -> Bool {
        let sent = Events.send(port) >= 0
        unsure = !sent
        return sent
    }

    /// Blocks until the port's next event and takes it; false, at once, if
    /// the peer's end is gone.
    public mutating func wait() -> Bool {
        if unsure {
            let state = Events.state(of: port)
            if state == UInt32(TERN_EVTCHN_PEER_CLOSED) || state == UInt32(TERN_EVTCHN_FREE) { return false }
            unsure = false
        }
        Events.wait(for: port)
        unsure = true
        return true
    }
}
