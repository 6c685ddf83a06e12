/// Dom0's COM1: the virtual 16550A (Model/VirtualUART.swift) behind its
/// intercepted ports. Output goes to Tern's console as `(d0) ...` lines.
enum Dom0Console {
    static let base: UInt16 = 0x3F8
    static let ports: ClosedRange<UInt16> = 0x3F8...0x3FF
    nonisolated(unsafe) static var uart = VirtualUART()

    /// An intercepted IN/OUT on a COM1 port; returns the value for IN.
    static func access(port: UInt16, isIn: Bool, value: UInt8, domain: Domain) -> UInt8 {
        let register = Int(port - base)
        if isIn { return uart.read(register) }
        if let byte = uart.write(register, value) {
            Hypercalls.consoleByte(byte, domain: domain, host: GuestHypercallHost())
        }
        return 0
    }
}
