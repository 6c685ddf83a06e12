import Glibc
import TernABI
import TernSyscalls

/// What a backend in Dom0 needs of /dev/tern (tern/ioctl.h, docs/abi.md
/// "Device pages"): adding its device to a guest, binding the device's
/// event channel, and mapping pages the guest granted.
extension ControlDevice {
    /// What TERN_HC_DEVICE_ADD answered: how the backend reaches the device.
    public struct AddedDevice: Equatable {
        public let frontend: UInt32
        public let devid: UInt16
        /// The frontend's port, unbound for Dom0.
        public let port: UInt32
        /// The control page's grant ref in the frontend's table.
        public let controlRef: UInt32
    }

    /// Adds a split device (TERN_DEVICE_BLOCK, ...) of `frontend`, served by
    /// Dom0. `.tern(-TERN_EAGAIN)`: a Linux guest whose core module has not
    /// attached its device page yet (try again later).
    public func addDevice(type: Int32, devid: UInt16, frontend: UInt32) throws(Failure) -> AddedDevice {
        var request = tern_device_add()
        request.type = UInt16(type)
        request.devid = devid
        request.frontend = UInt16(truncatingIfNeeded: frontend)
        request.backend = 0
        try call(TERN_HC_DEVICE_ADD, with: &request)
        return AddedDevice(frontend: frontend, devid: devid, port: request.port, controlRef: request.grant_ref)
    }

    public func removeDevice(type: Int32, devid: UInt16, frontend: UInt32) throws(Failure) {
        try call(TERN_HC_DEVICE_REMOVE, [UInt64(frontend), UInt64(type), UInt64(devid)])
    }

    /// Binds Dom0's end of `domid`'s `port` (allocated unbound for Dom0):
    /// an event channel fd (EventChannel).
    public func bindInterdomain(domid: UInt32, port: UInt32) throws(Failure) -> EventChannel {
        var request = tern_ioctl_evtchn_bind()
        request.kind = UInt32(TERN_EVTCHN_BIND_INTERDOMAIN)
        request.remote_domid = domid
        request.remote_port = port
        // SAFETY: the struct lives across the call; the driver reads and writes exactly it.
        let fd = tern_ioctl_fd(fd, UInt(TERN_IOCTL_EVTCHN_BIND), &request)
        guard fd >= 0 else { throw .driver(fd) }
        return EventChannel(fd: fd)
    }

    /// Maps the page `domid` granted as `ref` into this process: a page
    /// until `unmap`. (TERN_IOCTL_MAP, then mmap of that one page.)
    public func mapGrant(domid: UInt32, ref: UInt32, readOnly: Bool) throws(Failure) -> UnsafeMutableRawPointer {
        var request = tern_ioctl_map()
        request.domid = domid
        request.flags = readOnly ? UInt32(TERN_GRANT_MAP_READONLY) : 0
        request.ref = UInt64(ref)
        // SAFETY: the struct lives across the call; the driver reads and writes exactly it.
        let status = tern_ioctl(fd, UInt(TERN_IOCTL_MAP), &request)
        guard status == 0 else { throw .driver(status) }
        let protection = readOnly ? PROT_READ : PROT_READ | PROT_WRITE
        // SAFETY: one page of /dev/tern at the offset the driver answered;
        // the kernel checks it (tern_mmap) and maps nothing else.
        let page = mmap(nil, ControlDevice.pageSize, protection, MAP_SHARED, fd, off_t(request.offset))
        guard let page, page != MAP_FAILED else {
            let error = errno
            var offset = request.offset
            // SAFETY: as above; drops the never-mmap'd mapping.
            _ = tern_ioctl(fd, UInt(TERN_IOCTL_UNMAP), &offset)
            throw .driver(-error)
        }
        return page
    }

    /// Ends a mapping `mapGrant` made (Tern's mapping goes with it).
    public func unmap(_ page: UnsafeMutableRawPointer) {
        // SAFETY: a page this process mapped with mapGrant and no longer uses.
        munmap(page, ControlDevice.pageSize)
    }

    public static let pageSize = 4096

    /// Domain `domid` exists and may still run (not stopped, dying or
    /// dead): a backend serves it; false too if Tern cannot be asked.
    public func isLive(domid: UInt32) -> Bool {
        (try? domains().contains { $0.id == domid && !$0.isStopped }) ?? false
    }
}

extension EventChannel {
    /// Notifies the other end (write of one byte, tern/ioctl.h); false once
    /// it closed (ENOTCONN) or on another error.
    @discardableResult
    public func notify() -> Bool {
        var byte: UInt8 = 1
        return write(fd, &byte, 1) == 1
    }

    /// Takes the notifications that came, without waiting; how many.
    @discardableResult
    public func takeNow() -> UInt32 {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        guard poll(&fds, 1, 0) > 0, fds[0].revents & Int16(POLLIN) != 0 else { return 0 }
        var count: UInt32 = 0
        return read(fd, &count, MemoryLayout<UInt32>.size) == MemoryLayout<UInt32>.size ? count : 0
    }

    /// An event channel on a descriptor this process was handed (a block
    /// backend's worker inherits its supervisor's binding).
    public static func adopting(fd: Int32) -> EventChannel { EventChannel(fd: fd) }
}
