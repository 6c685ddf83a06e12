import TernGuestC

/// The backend's end of a message channel (TERN_DEVICE_CHANNEL,
/// tern/device.h). Tern lists the device in this domain's page with the
/// frontend's port and the reserved grant ref of its control page:
///
///     var channel = try ChannelBackend.accept()  // bind, map the control
///         // page, wait for READY, map the ring, CONNECTED, notify
///     // BackRing(attaching: channel.ringPage, ...) and serve, waiting
///     // with a PeerWatch(port: channel.port); the frontend's CLOSED
///     // (or its port's PEER_CLOSED) ends it
///     channel.disconnect()     // unmap, CLOSED, notify, close the port
public struct ChannelBackend {
    public let device: tern_device_entry
    /// This domain's port, bound to the frontend's.
    public let port: UInt32
    public let controlMapping: GrantMapping
    public let control: ChannelControl
    /// The frontend's ring page, mapped writable (nil once disconnected).
    public private(set) var ring: GrantMapping?

    public var frontend: UInt16 { device.frontend }
    public var ringPage: UnsafeMutableRawPointer? { ring?.address }

    /// Connects to a channel this domain serves (the first one listed, or
    /// `devid`), waiting for Tern to list it and for the frontend's READY.
    /// -TERN_ENOTCONN if the frontend closed or left before READY; a
    /// refused bind or map as Tern said.
    public static func accept(devid: UInt16? = nil) throws(TernError) -> ChannelBackend {
        let device = try Devices.channelBackend(devid: devid)
        let port = try Events.bindInterdomain(remote: device.frontend, remotePort: device.port)
        let controlMapping: GrantMapping
        do throws(TernError) {
            controlMapping = try GrantWindow.map(device.grant_ref, of: device.frontend)
        } catch {
            Events.close(port)
            throw error
        }
        var channel = ChannelBackend(device: device, port: port, controlMapping: controlMapping,
                                     control: ChannelControl(page: controlMapping.address))
        channel.control.backendState = UInt32(TERN_LINK_INITIALISING)
        // The port was bound before the state is read: a READY written
        // after this read comes with a notification.
        while channel.control.frontendState != UInt32(TERN_LINK_READY) {
            if channel.frontendLeft {
                channel.disconnect()
                throw TernError(TERN_ENOTCONN)
            }
            Events.wait(for: port)
        }
        do throws(TernError) {
            channel.ring = try GrantWindow.map(channel.control.ringRef, of: device.frontend)
        } catch {
            channel.disconnect()
            throw error
        }
        Events.discard(port)   // the handshake's: every later event is the protocol's
        channel.control.backendState = UInt32(TERN_LINK_CONNECTED)
        channel.notify()
        return channel
    }

    init(device: tern_device_entry, port: UInt32, controlMapping: GrantMapping, control: ChannelControl) {
        self.device = device
        self.port = port
        self.controlMapping = controlMapping
        self.control = control
    }

    /// Signals the frontend: 0, or -TERN_ENOTCONN once it left.
    @discardableResult
    public func notify() -> Int64 { Events.send(port) }

    /// The frontend set CLOSED.
    public var frontendClosed: Bool { control.frontendState == UInt32(TERN_LINK_CLOSED) }

    /// The frontend closed, or its port is gone (its domain died). The
    /// second is a hypercall; in a loop, check frontendClosed and wait with
    /// a PeerWatch instead.
    public var frontendLeft: Bool {
        frontendClosed || Events.state(of: port) == UInt32(TERN_EVTCHN_PEER_CLOSED)
    }

    /// Unmaps the ring, sets CLOSED and notifies, unmaps the control page,
    /// closes the port. Mappings of other grants the protocol made are the
    /// caller's to unmap first.
    public mutating func disconnect() {
        if let ring {
            GrantWindow.unmap(ring)
            self.ring = nil
        }
        control.backendState = UInt32(TERN_LINK_CLOSED)
        notify()
        GrantWindow.unmap(controlMapping)
        Events.close(port)
    }
}
