import TernGuestC

/// The frontend's end of a message channel (TERN_DEVICE_CHANNEL,
/// tern/device.h). Tern made the device: a control page in this domain's
/// memory, granted to the backend with a reserved ref, and a port of this
/// domain allocated for the backend. The handshake, as XenbusState:
///
///     var channel = try ChannelFrontend.open(devid: 0)   // INITIALISING
///     // the protocol's own setup into channel.control.protocolArea
///     try channel.publish(ring: page)     // grant it, ring_ref, READY, notify
///     try channel.waitUntilConnected()    // the backend mapped it: CONNECTED
///     // ring traffic: notify when publish() says so, and when there
///     // is nothing to do wait with a PeerWatch(port: channel.port)
///     channel.close()                     // CLOSED, notify, wait, end the grant
public struct ChannelFrontend {
    public let device: tern_device_entry
    public let control: ChannelControl
    /// The ring page's grant (TERN_GRANT_REF_INVALID before publish and after close).
    public private(set) var ringRef = TERN_GRANT_REF_INVALID
    /// How long `close` waits for the backend to let go of the ring.
    public static let closeTimeout: UInt64 = 1_000_000_000

    /// This domain's port for the channel.
    public var port: UInt32 { device.port }
    public var backend: UInt16 { device.backend }

    /// Finds channel `devid` (waiting for Tern to list it) and marks the
    /// frontend INITIALISING.
    public static func open(devid: UInt16) throws(TernError) -> ChannelFrontend {
        let device = try Devices.channelFrontend(devid: devid)
        // SAFETY: control_gpa (from Tern's device page) is this domain's own
        // control page for the device: a whole page of its memory, which is
        // identity-mapped, so the address is the pointer, valid for its life.
        guard device.control_gpa != 0, let page = UnsafeMutableRawPointer(bitPattern: UInt(device.control_gpa)) else {
            throw TernError(TERN_EINVAL)
        }
        let channel = ChannelFrontend(device: device, control: ChannelControl(page: page))
        channel.control.frontendState = UInt32(TERN_LINK_INITIALISING)
        return channel
    }

    init(device: tern_device_entry, control: ChannelControl) {
        self.device = device
        self.control = control
    }

    /// Grants `ring` (a page of this domain, the ring's shared page) to the
    /// backend, writable; publishes its ref, then READY; notifies. Whatever
    /// the protocol wrote to the protocol area is visible before READY.
    public mutating func publish(ring: UnsafeMutableRawPointer) throws(TernError) {
        ringRef = try Grants.grant(ring, to: backend)
        control.ringRef = ringRef
        tern_ring_wmb()
        control.frontendState = UInt32(TERN_LINK_READY)
        notify()   // before the backend binds the port this reaches nobody: it reads the state after binding
    }

    /// Waits for the backend's CONNECTED; -TERN_ENOTCONN if it closed or
    /// left first.
    public func waitUntilConnected() throws(TernError) {
        while control.backendState != UInt32(TERN_LINK_CONNECTED) {
            if backendLeft { throw TernError(TERN_ENOTCONN) }
            Events.wait(for: port)
        }
    }

    /// Signals the backend: 0, or -TERN_ENOTCONN once it left.
    @discardableResult
    public func notify() -> Int64 { Events.send(port) }

    /// The backend set CLOSED (shared memory: no hypercall).
    public var backendClosed: Bool { control.backendState == UInt32(TERN_LINK_CLOSED) }

    /// The backend set CLOSED, or closed its port (or its domain died: the
    /// port is TERN_EVTCHN_PEER_CLOSED). The second is a hypercall; in a
    /// loop, check backendClosed and wait with a PeerWatch instead.
    public var backendLeft: Bool {
        backendClosed || Events.state(of: port) == UInt32(TERN_EVTCHN_PEER_CLOSED)
    }

    /// Disconnects: CLOSED and a notification; waits (up to closeTimeout)
    /// until the backend closed too, or left, or never bound the port;
    /// then ends the ring's grant, giving the backend the rest of the time
    /// to unmap it. Returns the end's result: 0, or -TERN_EBUSY if the
    /// backend still holds the ring mapped (the grant stays).
    @discardableResult
    public mutating func close() -> Int64 {
        control.frontendState = UInt32(TERN_LINK_CLOSED)
        notify()
        let deadline = Tern.now() &+ ChannelFrontend.closeTimeout
        while control.backendState != UInt32(TERN_LINK_CLOSED) && Events.state(of: port) == UInt32(TERN_EVTCHN_INTERDOMAIN) {
            if !Events.wait(for: port, until: deadline) { break }
        }
        guard ringRef != TERN_GRANT_REF_INVALID else { return 0 }
        let now = Tern.now()
        let result = Grants.end(ringRef, waitingUpTo: deadline > now ? deadline - now : 0)
        if result == 0 { ringRef = TERN_GRANT_REF_INVALID }
        return result
    }
}
