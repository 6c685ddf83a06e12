import TernCore
import TernABI
import TernCPU

/// The hypercall layer's view of this machine (Core/Hypercalls.swift).
struct GuestHypercallHost: HypercallHost {
    func memory(of domain: Domain) -> GuestMemory<PhysicalWindow> {
        GuestMemory(of: domain, host: PhysicalWindow.directMap)
    }

    func nowNanoseconds() -> UInt64 { SystemTime.nowNanoseconds() }

    func timeInfo() -> tern_time_info {
        var info = tern_time_info()
        let tsc = tern_rdtsc()
        info.tsc_hz = Platform.tscHz
        info.tsc_stamp = tsc
        info.system_time_ns = SystemTime.nanoseconds(atTSC: tsc)
        return info
    }

    func domain(withID id: UInt16) -> Domain? { Domains.domain(id) }

    func firstDomain(atOrAfter id: UInt64) -> Domain? { Domains.firstDomain(atOrAfter: id) }

    var consoleRing: ConsoleRing { Console.history }

    func releaseDying(_ domain: Domain) { Domains.release(domain) }

    func createDomain(_ request: DomainRequest) -> Result<CreatedDomain, DomainCreateFailure> { Domains.create(request) }
    func control(_ domain: Domain, _ operation: DomainOperation) { Domains.control(domain, operation) }
    func prepareShells(memoryBytes: UInt64, count: Int) -> Int? { DomainPool.setTarget(memoryBytes: memoryBytes, count: count) }
    func systemInfo() -> tern_system_info { Domains.systemInfo() }
    func uartInput(_ bytes: UnsafeRawBufferPointer, to domain: Domain) -> Int {
        var taken = 0
        for byte in bytes {
            guard SerialPortEmulation.canReceive(domain) else { break }
            SerialPortEmulation.input(byte, domain: domain)
            taken += 1
        }
        return taken
    }

    /// Guest console lines go to Tern's log as "(dN) text", without
    /// Tern's prefix (as Xen's "(d1) ..."), and to the serial port if the
    /// domain's console goes there (Domain.consoleToSerial).
    func consoleLine(from domain: Domain, _ line: UnsafeRawBufferPointer) {
        GuestHypercallHost.logLine(from: domain, line, toSerial: domain.consoleToSerial)
    }

    /// `line` (no newline) as "(dN) line" in Tern's log, printable bytes
    /// only, and on the serial port if `toSerial`.
    static func logLine(from domain: Domain, _ line: UnsafeRawBufferPointer, toSerial: Bool) {
        let prefix: LogMessage = "(d\(domain.id)) "
        prefix.withBytes { Console.write($0, toSerial: toSerial) }
        var clean = InlineArray<161, UInt8>(repeating: 0)
        let n = min(line.count, 160)
        for i in 0..<n {
            let byte = line[i]
            clean[i] = (byte >= 0x20 && byte < 0x7F) || byte == 0x09 ? byte : UInt8(ascii: "?")
        }
        clean[n] = UInt8(ascii: "\n")
        withUnsafeBytes(of: &clean) { Console.write(UnsafeRawBufferPointer(rebasing: $0[0...n]), toSerial: toSerial) }
    }
}

/// System time: nanoseconds since Tern's first instruction, from the TSC.
enum SystemTime {

    static func nanoseconds(atTSC tsc: UInt64) -> UInt64 {
        BootPhases.microseconds(cycles: tsc &- bootTSC, tscHz: Platform.tscHz) &* 1000
    }

    static func nowNanoseconds() -> UInt64 { nanoseconds(atTSC: tern_rdtsc()) }

    /// The TSC value at system time `ns` (the inverse of nanoseconds(atTSC:),
    /// in two parts so that the product cannot overflow).
    static func tsc(atNanoseconds ns: UInt64) -> UInt64 {
        let perSecond: UInt64 = 1_000_000_000
        return bootTSC &+ (ns / perSecond) &* Platform.tscHz &+ (ns % perSecond) &* Platform.tscHz / perSecond
    }
}
