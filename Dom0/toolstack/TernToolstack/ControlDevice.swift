import Glibc
import TernABI
import TernSyscalls

/// Dom0's /dev/tern (tern/ioctl.h, docs/dom0.md "Control device"): the
/// toolstack's only way to Tern.
public final class ControlDevice {
    public static let path = "/dev/tern"
    let fd: Int32

    public enum Failure: Error, CustomStringConvertible {
        case cannotOpen(Int32)
        case driver(Int32)          // the ioctl itself failed: -errno
        case tern(Int64)            // Tern refused: -TERN_E*

        public var description: String {
            switch self {
            case .cannotOpen(let e):
                return "cannot open \(ControlDevice.path): \(Files.errorText(e)) (is tern.ko loaded, and are you root?)"
            case .driver(let e): return "/dev/tern: \(Files.errorText(-e))"
            case .tern(let code): return ControlDevice.meaning(code)
            }
        }
    }

    /// What a negative result from Tern means, for people.
    public static func meaning(_ code: Int64) -> String {
        switch -code {
        case Int64(TERN_EPERM): return "not allowed"
        case Int64(TERN_ENOENT): return "no such domain"
        case Int64(TERN_ENOEXEC): return "not a loadable x86-64 ELF executable for that memory size"
        case Int64(TERN_ENOMEM): return "not enough memory"
        case Int64(TERN_EFAULT): return "bad address"
        case Int64(TERN_EBUSY): return "busy (already dying?)"
        case Int64(TERN_EEXIST): return "the name is in use"
        case Int64(TERN_EINVAL): return "invalid request (or not in a state for that)"
        case Int64(TERN_ENOSPC): return "no free domain id"
        case Int64(TERN_ENOSYS): return "not supported by this Tern"
        case Int64(TERN_ENOTCONN): return "not connected"
        default: return "error \(code)"
        }
    }

    public init() throws(Failure) {
        let fd = open(ControlDevice.path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpen(errno) }
        self.fd = fd
    }

    deinit { close(fd) }

    /// One hypercall; `buffer` (at most a page) is passed as argument
    /// `bufferArgument` and copied back. Tern's result (>= 0) or a throw.
    @discardableResult
    public func call(_ number: Int32, _ args: [UInt64] = [], buffer: UnsafeMutableRawBufferPointer? = nil,
                     bufferArgument: Int = 0) throws(Failure) -> Int64 {
        var request = tern_ioctl_hypercall()
        request.nr = UInt64(number)
        withUnsafeMutableBytes(of: &request.args) { raw in
            // SAFETY: args is five u64s (ioctl.h) and at most five are stored.
            for (i, a) in args.prefix(5).enumerated() { raw.storeBytes(of: a, toByteOffset: i * 8, as: UInt64.self) }
        }
        if let buffer {
            request.buffer = UInt64(UInt(bitPattern: buffer.baseAddress))
            request.buffer_size = UInt32(buffer.count)
            request.buffer_arg = UInt32(bufferArgument)
        }
        // SAFETY: the struct lives across the call; the driver reads and writes exactly it.
        let status = tern_ioctl(fd, UInt(TERN_IOCTL_HYPERCALL), &request)
        guard status == 0 else { throw .driver(status) }
        guard request.result >= 0 else { throw .tern(request.result) }
        return request.result
    }

    /// Calls with a struct as the buffer.
    @discardableResult
    public func call<T>(_ number: Int32, _ args: [UInt64] = [], with value: inout T, argument: Int = 0) throws(Failure) -> Int64 {
        var result: Result<Int64, Failure> = .success(0)
        withUnsafeMutableBytes(of: &value) { raw in
            do throws(Failure) { result = .success(try call(number, args, buffer: raw, bufferArgument: argument)) } catch { result = .failure(error) }
        }
        return try result.get()
    }

    public func domains() throws(Failure) -> [DomainRow] {
        var rows: [DomainRow] = []
        var first: UInt64 = 0
        // As many as one ioctl buffer holds (42 of 96 bytes since ABI 0.8).
        let batch = min(Int(TERN_DOMAIN_LIST_MAX), Int(TERN_IOCTL_BUFFER_MAX) / MemoryLayout<tern_domain_info>.stride)
        while true {
            var infos = [tern_domain_info](repeating: tern_domain_info(), count: batch)
            var result: Result<Int64, Failure> = .success(0)
            infos.withUnsafeMutableBytes { raw in
                do throws(Failure) { result = .success(try call(TERN_HC_DOMAIN_LIST, [first, 0, UInt64(batch)], buffer: raw, bufferArgument: 1)) }
                catch { result = .failure(error) }
            }
            let n = Int(try result.get())
            rows += infos.prefix(n).map(DomainRow.init)
            guard n == batch, let last = rows.last else { return rows }
            first = UInt64(last.id) + 1
        }
    }

    public func systemInfo() throws(Failure) -> tern_system_info {
        var info = tern_system_info()
        try call(TERN_HC_SYSTEM_INFO, with: &info)
        return info
    }

    public func control(_ domid: UInt32, _ operation: Int32, value: UInt64 = 0) throws(Failure) {
        try call(TERN_HC_DOMAIN_CONTROL, [UInt64(domid), UInt64(operation), value])
    }

    /// A file descriptor that wakes at every notification of `virq`
    /// (TERN_VIRQ_CONSOLE: Tern's log grew), or nil where tern.ko has no
    /// event channels (then callers poll on a timer).
    public func watch(virq: Int32) -> EventChannel? {
        var request = tern_ioctl_evtchn_bind()
        request.kind = UInt32(TERN_EVTCHN_BIND_VIRQ)
        request.remote_port = UInt32(virq)
        // SAFETY: the struct lives across the call; the driver reads and writes exactly it.
        let fd = tern_ioctl_fd(fd, UInt(TERN_IOCTL_EVTCHN_BIND), &request)
        return fd >= 0 ? EventChannel(fd: fd) : nil
    }

    /// Types `bytes` (at most TERN_CONSOLE_IN_SIZE) into a guest's console;
    /// how many fit in its ring (0: full for now).
    public func consoleInput(_ domid: UInt32, _ bytes: [UInt8]) throws(Failure) -> Int {
        var copy = Array(bytes.prefix(Int(TERN_CONSOLE_IN_SIZE)))
        guard !copy.isEmpty else { return 0 }
        let count = UInt64(copy.count)
        var result: Result<Int64, Failure> = .success(0)
        copy.withUnsafeMutableBytes { raw in
            do throws(Failure) { result = .success(try call(TERN_HC_CONSOLE_INPUT, [UInt64(domid), 0, count], buffer: raw, bufferArgument: 1)) }
            catch { result = .failure(error) }
        }
        return Int(try result.get())
    }

    /// Up to 4 KiB of Tern's log from `position`: (text, next position, lost, end).
    public func readLog(from position: UInt64) throws(Failure) -> (bytes: [UInt8], next: UInt64, lost: UInt64, end: UInt64) {
        // One page: the request, then room for the bytes (tern.ko points
        // buffer_gpa there: tern/ioctl.h).
        let pageSize = 4096
        let header = MemoryLayout<tern_log_read>.size
        var page = [UInt8](repeating: 0, count: pageSize)
        var outcome: Result<(bytes: [UInt8], next: UInt64, lost: UInt64, end: UInt64), Failure> = .success(([], position, 0, position))
        page.withUnsafeMutableBytes { raw in
            var request = tern_log_read()
            request.position = position
            request.size = UInt32(pageSize - header)
            // SAFETY: `raw` is the 4 KiB array's storage, bigger than the struct.
            raw.storeBytes(of: request, as: tern_log_read.self)
            do throws(Failure) {
                let n = try call(TERN_HC_LOG_READ, [0], buffer: raw, bufferArgument: 0)
                // SAFETY: the struct Tern copied back over the request; aligned
                // for its u64s (an Array's elements start 32 bytes into a
                // 16-aligned malloc block); n <= request.size (Tern's logRead).
                let reply = raw.load(as: tern_log_read.self)
                outcome = .success((Array(raw[header..<(header + Int(n))]), reply.position, reply.lost, reply.end))
            } catch {
                outcome = .failure(error)
            }
        }
        return try outcome.get()
    }

    public struct Created {
        public var domid: UInt32
        public var buildNanoseconds: UInt64
        public var fromPool: Bool
        public var kind: UInt32        // TERN_KIND_*
    }

    /// TERN_IOCTL_CREATE: builds the domain (paused) from `image`; it stays
    /// provisional (destroyed if this process goes) until `commit`.
    public func create(_ config: GuestConfig, image: [UInt8], ramdisk: [UInt8]? = nil, flags: UInt32) throws(Failure) -> Created {
        var request = tern_ioctl_create()
        withUnsafeMutableBytes(of: &request.request.name) { raw in
            for (i, c) in config.name.utf8.prefix(raw.count - 1).enumerated() { raw[i] = c }
        }
        withUnsafeMutableBytes(of: &request.request.cmdline) { raw in
            for (i, c) in config.cmdline.utf8.prefix(raw.count - 1).enumerated() { raw[i] = c }
        }
        request.request.memory_bytes = config.memoryBytes
        request.request.weight = UInt32(config.weight)
        request.request.flags = flags
        var status: Int32 = 0
        let disk = ramdisk ?? []
        image.withUnsafeBytes { raw in
            disk.withUnsafeBytes { rd in
                request.image = UInt64(UInt(bitPattern: raw.baseAddress))
                request.image_bytes = UInt64(raw.count)
                request.ramdisk = rd.isEmpty ? 0 : UInt64(UInt(bitPattern: rd.baseAddress))
                request.ramdisk_bytes = UInt64(rd.count)
                // SAFETY: `image` and `disk` stay alive during the ioctl; the driver copies them.
                status = tern_ioctl(fd, UInt(TERN_IOCTL_CREATE), &request)
            }
        }
        guard status == 0 else { throw .driver(status) }
        guard request.result >= 0 else { throw .tern(request.result) }
        return Created(domid: UInt32(request.result), buildNanoseconds: request.request.build_ns, fromPool: request.request.from_pool != 0,
                       kind: request.request.kind)
    }

    public func commit(_ domid: UInt32) throws(Failure) {
        var id = domid
        let status = tern_ioctl(fd, UInt(TERN_IOCTL_COMMIT), &id)
        guard status == 0 else { throw .driver(status) }
    }
}
