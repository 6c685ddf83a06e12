import TernABI

/// What the hypercall layer needs from the rest of the hypervisor. The
/// arch layer implements it on bare metal; tests implement it with fakes.
public protocol HypercallHost {
    associatedtype Memory: PhysicalMemory
    /// The caller's memory, every access checked (GuestMemory).
    func memory(of domain: Domain) -> GuestMemory<Memory>
    /// System time: ns since boot.
    func nowNanoseconds() -> UInt64
    func timeInfo() -> tern_time_info
    func domain(withID id: UInt16) -> Domain?
    /// The domain with the lowest id >= `id`, if any (TERN_HC_DOMAIN_LIST).
    func firstDomain(atOrAfter id: UInt64) -> Domain?
    /// Tern's console history (TERN_HC_LOG_READ).
    var consoleRing: ConsoleRing { get }
    /// A whole console line from `domain` (without the newline).
    func consoleLine(from domain: Domain, _ line: UnsafeRawBufferPointer)
    /// A dying domain's last granted frame was unmapped by its last
    /// mapper: its memory may go now.
    func releaseDying(_ domain: Domain)
    /// Builds and registers a domain (TERN_HC_DOMAIN_CREATE, checked).
    func createDomain(_ request: DomainRequest) -> Result<CreatedDomain, DomainCreateFailure>
    /// Pauses, unpauses, shuts down or destroys `domain` (checked).
    func control(_ domain: Domain, _ operation: DomainOperation)
    /// Fills Tern's pool of prepared shells of `memoryBytes` up to
    /// `count`; how many are ready.
    /// TERN_HC_DOMAIN_PREPARE: the shells of that size ready; nil if it is
    /// a new size and the pool has targets for as many sizes as it may.
    func prepareShells(memoryBytes: UInt64, count: Int) -> Int?
    /// Typed bytes for a guest whose console is its virtual UART (no PV
    /// console device): into its receive FIFO as far as there is room;
    /// how many were taken.
    func uartInput(_ bytes: UnsafeRawBufferPointer, to domain: Domain) -> Int
    func systemInfo() -> tern_system_info
}

/// What a hypercall asks the caller's vCPU to do next.
public enum HypercallOutcome: Equatable {
    case resume(Int64)     // RAX = value, carry on
    case block             // RAX = 0, wait for an upcall
    case yield             // RAX = 0, give the CPU away
    case shutdown(UInt64)  // the domain stops, with this reason
}

/// The hypercall ABI (Hypervisor/ABI/include/tern/*.h, docs/abi.md).
/// Every argument is validated; every guest pointer goes through
/// GuestMemory, which refuses anything outside the caller's own memory.
/// Nothing here can fail the hypervisor: bad input is an error code.
public enum Hypercalls {
    /// Longest console write per call; longer ones are refused (-EINVAL),
    /// so one call's cost is bounded.
    public static let maxConsoleWrite: UInt64 = 4096
    static let consoleChunk = 256

    public static func dispatch<Host: HypercallHost>(
        number: UInt64, arguments a: (UInt64, UInt64, UInt64, UInt64, UInt64),
        vcpu: VCPU, domain: Domain, host: Host
    ) -> HypercallOutcome {
        switch number {
        case UInt64(TERN_HC_VERSION):
            return .resume(Int64(TERN_ABI_VERSION))
        case UInt64(TERN_HC_CONSOLE_WRITE):
            return consoleWrite(gpa: a.0, length: a.1, domain: domain, host: host)
        case UInt64(TERN_HC_YIELD):
            return .yield
        case UInt64(TERN_HC_BLOCK):
            return vcpu.hasPendingEvent ? .resume(0) : .block
        case UInt64(TERN_HC_SHUTDOWN):
            guard a.0 <= UInt64(TERN_SHUTDOWN_CRASH) else { return error(TERN_EINVAL) }
            return .shutdown(a.0)
        case UInt64(TERN_HC_SET_TIMER):
            vcpu.timerDeadline = a.0
            if a.0 != 0 && a.0 <= host.nowNanoseconds() { EventDelivery.timerExpired(vcpu, of: domain) }
            return .resume(0)
        case UInt64(TERN_HC_TIME_INFO):
            var info = host.timeInfo()
            return copyToGuest(&info, to: a.0, domain: domain, host: host)
        case UInt64(TERN_HC_DOMAIN_INFO):
            return domainInfo(id: a.0, out: a.1, caller: domain, host: host)
        case UInt64(TERN_HC_DOMAIN_LIST):
            return domainList(first: a.0, out: a.1, maximum: a.2, caller: domain, host: host)
        case UInt64(TERN_HC_LOG_READ):
            return logRead(request: a.0, caller: domain, host: host)
        case UInt64(TERN_HC_SET_UPCALL):
            guard a.0 == 0 || (a.0 >= 32 && a.0 <= 255) else { return error(TERN_EINVAL) }
            vcpu.upcallVector = UInt8(a.0)
            return .resume(0)
        // Each family's calls by name (a new call must not fall into a
        // neighbour's range): the family's own switch takes it from there.
        case UInt64(TERN_HC_EVTCHN_ALLOC_UNBOUND), UInt64(TERN_HC_EVTCHN_BIND_INTERDOMAIN),
             UInt64(TERN_HC_EVTCHN_BIND_VIRQ), UInt64(TERN_HC_EVTCHN_SEND), UInt64(TERN_HC_EVTCHN_CLOSE),
             UInt64(TERN_HC_EVTCHN_MASK), UInt64(TERN_HC_EVTCHN_UNMASK), UInt64(TERN_HC_EVTCHN_STATUS):
            return eventChannel(number, a, caller: domain, host: host)
        case UInt64(TERN_HC_GRANT_MAP), UInt64(TERN_HC_GRANT_UNMAP), UInt64(TERN_HC_GRANT_COPY),
             UInt64(TERN_HC_GRANT_TABLE_QUERY), UInt64(TERN_HC_GRANT_TABLE_SETUP),
             UInt64(TERN_HC_GRANT_MAP_BATCH), UInt64(TERN_HC_GRANT_UNMAP_BATCH):
            return grantTable(number, a, caller: domain, host: host)
        case UInt64(TERN_HC_SHARED_LAYOUT):
            return sharedLayout(out: a.0, caller: domain, host: host)
        case UInt64(TERN_HC_DEVICE_ADD):
            return deviceAdd(request: a.0, caller: domain, host: host)
        case UInt64(TERN_HC_DEVICE_REMOVE):
            return deviceRemove(frontend: a.0, type: a.1, devid: a.2, caller: domain, host: host)
        case UInt64(TERN_HC_DOMAIN_CREATE), UInt64(TERN_HC_DOMAIN_CONTROL), UInt64(TERN_HC_DOMAIN_PREPARE),
             UInt64(TERN_HC_SYSTEM_INFO):
            return domainControl(number, a, caller: domain, host: host)
        case UInt64(TERN_HC_ATTACH):
            return attach(request: a.0, caller: domain, host: host)
        case UInt64(TERN_HC_CONSOLE_INPUT):
            return consoleInput(domid: a.0, bytes: a.1, count: a.2, caller: domain, host: host)
        default:
            return error(TERN_ENOSYS)
        }
    }

    static func error(_ code: Int32) -> HypercallOutcome { .resume(-Int64(code)) }

    private static func consoleWrite<Host: HypercallHost>(
        gpa: UInt64, length: UInt64, domain: Domain, host: Host
    ) -> HypercallOutcome {
        guard length <= maxConsoleWrite else { return error(TERN_EINVAL) }
        let memory = host.memory(of: domain)
        guard memory.contains(gpa, count: length) else { return error(TERN_EFAULT) }
        var chunk = InlineArray<256, UInt8>(repeating: 0)
        var done: UInt64 = 0
        while done < length {
            let n = Int(min(UInt64(consoleChunk), length - done))
            let copied = withUnsafeMutableBytes(of: &chunk) { raw in
                memory.copyFromGuest(at: gpa + done, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<n]))
            }
            guard copied else { return error(TERN_EFAULT) }
            for i in 0..<n { consoleByte(chunk[i], domain: domain, host: host) }
            done += UInt64(n)
        }
        return .resume(Int64(length))
    }

    /// The toolstack types into a guest's console (ConsoleDevice.input).
    static func consoleInput<Host: HypercallHost>(
        domid: UInt64, bytes gpa: UInt64, count: UInt64, caller: Domain, host: Host
    ) -> HypercallOutcome {
        guard caller.privileged else { return error(TERN_EPERM) }
        guard count <= UInt64(TERN_CONSOLE_IN_SIZE) else { return error(TERN_EINVAL) }
        guard domid <= UInt64(UInt16.max), let guest = host.domain(withID: UInt16(domid)), guest !== caller,
              !guest.state.isStopped else { return error(TERN_ENOENT) }
        // Its PV console device, else its UART (a Linux guest's console; its
        // device page, once its core module attached one, has no console).
        let hasConsoleDevice = guest.devices.entries.contains { $0.type == UInt16(TERN_DEVICE_CONSOLE) }
        let hasUART = guest.context.uart != nil
        guard hasConsoleDevice || hasUART else { return error(TERN_ENOSYS) }   // no console device
        var buffer = [UInt8](repeating: 0, count: Int(count))
        guard buffer.withUnsafeMutableBytes({ host.memory(of: caller).copyFromGuest(at: gpa, into: $0) }) else {
            return error(TERN_EFAULT)
        }
        if !hasConsoleDevice {
            return .resume(Int64(buffer.withUnsafeBytes { host.uartInput($0, to: guest) }))
        }
        return .resume(Int64(buffer.withUnsafeBytes { ConsoleDevice.input($0, to: guest, host: host) }))
    }

    /// Line-buffers a domain's console output so lines interleave whole.
    static func consoleByte<Host: HypercallHost>(_ byte: UInt8, domain: Domain, host: Host) {
        if byte == UInt8(ascii: "\n") || domain.consoleLine.count >= Domain.consoleLineCapacity {
            domain.consoleLine.withUnsafeBytes { host.consoleLine(from: domain, $0) }
            domain.consoleLine.removeAll(keepingCapacity: true)
            if byte == UInt8(ascii: "\n") { return }
        }
        if byte != UInt8(ascii: "\r") { domain.consoleLine.append(byte) }
    }

    private static func domainInfo<Host: HypercallHost>(
        id rawID: UInt64, out: UInt64, caller: Domain, host: Host
    ) -> HypercallOutcome {
        let targetID = rawID == UInt64(TERN_DOMID_SELF) ? UInt64(caller.id) : rawID
        guard targetID <= UInt64(UInt16.max) else { return error(TERN_EINVAL) }
        // Only a privileged domain may look at others (Dom0's `tern list`).
        guard targetID == UInt64(caller.id) || caller.privileged else { return error(TERN_EPERM) }
        guard let target = host.domain(withID: UInt16(targetID)) else { return error(TERN_ENOENT) }
        var info = domainInfo(of: target, host: host)
        return copyToGuest(&info, to: out, domain: caller, host: host)
    }

    static func domainInfo<Host: HypercallHost>(of target: Domain, host: Host) -> tern_domain_info {
        var info = tern_domain_info()
        info.domid = UInt32(target.id)
        info.state = target.state.rawValue
        info.flags = target.privileged ? TERN_DOMAIN_FLAG_PRIVILEGED : 0
        info.vcpus = UInt32(target.vcpus.count)
        info.memory_bytes = target.memoryBytes
        let hz = host.timeInfo().tsc_hz
        info.cpu_time_ns = BootPhases.microseconds(cycles: target.cpuTimeCycles, tscHz: hz) &* 1000
        withUnsafeMutableBytes(of: &info.name) { name in
            for (i, byte) in target.name.prefix(name.count - 1).enumerated() { name[i] = byte }
        }
        info.weight = UInt32(target.weight)
        info.stop_reason = target.stopReason.rawValue
        info.created_ns = target.createdNanoseconds
        info.stopped_ns = target.stoppedNanoseconds
        info.shutdown_request = target.shutdownRequest
        return info
    }

    /// `xl list`: the domains with id >= `first`, in id order, at most
    /// `maximum`. The whole output array is checked before anything is
    /// written, so a bad pointer changes nothing.
    private static func domainList<Host: HypercallHost>(
        first: UInt64, out: UInt64, maximum: UInt64, caller: Domain, host: Host
    ) -> HypercallOutcome {
        guard caller.privileged else { return error(TERN_EPERM) }
        guard maximum <= UInt64(TERN_DOMAIN_LIST_MAX) else { return error(TERN_EINVAL) }
        let entrySize = UInt64(MemoryLayout<tern_domain_info>.size)
        let memory = host.memory(of: caller)
        guard memory.contains(out, count: maximum * entrySize) else { return error(TERN_EFAULT) }
        var next = first
        var written: UInt64 = 0
        while written < maximum, let target = host.firstDomain(atOrAfter: next) {
            var info = domainInfo(of: target, host: host)
            guard withUnsafeBytes(of: &info, { memory.copyToGuest(at: out + written * entrySize, from: $0) }) else {
                return error(TERN_EFAULT)
            }
            written += 1
            next = UInt64(target.id) + 1
        }
        return .resume(Int64(written))
    }

    /// `xl dmesg`: bytes of Tern's console history into the caller's buffer
    /// (struct tern_log_read). Returns the number of bytes copied.
    private static func logRead<Host: HypercallHost>(request gpa: UInt64, caller: Domain, host: Host) -> HypercallOutcome {
        guard caller.privileged else { return error(TERN_EPERM) }
        let memory = host.memory(of: caller)
        var request = tern_log_read()
        guard withUnsafeMutableBytes(of: &request, { memory.copyFromGuest(at: gpa, into: $0) }) else { return error(TERN_EFAULT) }
        guard request.reserved == 0 else { return error(TERN_EINVAL) }
        let ring = host.consoleRing
        guard let span = ring.span(from: request.position, maximum: min(Int(request.size), Int(TERN_LOG_READ_MAX))) else {
            return error(TERN_EINVAL)   // a position Tern has not written yet
        }
        guard memory.contains(request.buffer_gpa, count: UInt64(span.count)) else { return error(TERN_EFAULT) }
        let (head, tail) = ring.pieces(of: span)
        guard memory.copyToGuest(at: request.buffer_gpa, from: head),
              memory.copyToGuest(at: request.buffer_gpa + UInt64(head.count), from: tail) else { return error(TERN_EFAULT) }
        request.position = span.position + UInt64(span.count)
        request.lost = span.lost
        request.end = ring.end
        guard withUnsafeBytes(of: &request, { memory.copyToGuest(at: gpa, from: $0) }) else { return error(TERN_EFAULT) }
        return .resume(Int64(span.count))
    }

    static func copyToGuest<T, Host: HypercallHost>(
        _ value: inout T, to gpa: UInt64, domain: Domain, host: Host
    ) -> HypercallOutcome {
        let ok = withUnsafeBytes(of: &value) { host.memory(of: domain).copyToGuest(at: gpa, from: $0) }
        return ok ? .resume(0) : error(TERN_EFAULT)
    }
}
