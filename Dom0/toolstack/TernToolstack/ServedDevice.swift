import TernABI

/// How a backend's serving of one device ended (BlockServer, NetServer).
public enum ServerEnd: Equatable {
    /// The guest is gone.
    case frontendGone
    /// Told to stop (a detach): what was taken is answered.
    case detached
    /// Dom0 could not do its part (mapping the control page), or the
    /// serving process gives up.
    case failed(String)
}

extension ControlLink {
    /// Maps the control page `frontend` granted as `ref` (the device's
    /// reserved grant) for `serve`, and unmaps it after; a page that
    /// cannot be mapped ends the serving (`.frontendGone` if the guest is
    /// gone, else `.failed`). `backendErrorOffset`: the device's layout's.
    public static func serving(_ device: ControlDevice, frontend: UInt32, ref: UInt32, backendErrorOffset: Int,
                               _ serve: (UnsafeMutableRawPointer, ControlLink) -> ServerEnd) -> ServerEnd {
        let control: UnsafeMutableRawPointer
        do throws(ControlDevice.Failure) {
            control = try device.mapGrant(domid: frontend, ref: ref, readOnly: false)
        } catch {
            return device.isLive(domid: frontend) ? .failed("cannot map the control page: \(error)") : .frontendGone
        }
        defer { device.unmap(control) }
        return serve(control, ControlLink(control, backendErrorOffset: backendErrorOffset))
    }
}
