/// x86-64 per-domain state, as VCPUContext is per vCPU: the models of the
/// devices Tern emulates for the domain (Core/Emulation.swift), one
/// instance each, made when it is built and gone with it. The machine
/// layer's glue (Machine/SerialPortEmulation.swift,
/// Machine/LegacyPICEmulation.swift) works on whichever domain's models an
/// exit or an interrupt concerns.
public struct DomainContext {
    /// Its COM1 (Emulation.serialPort).
    public var uart: VirtualUART?
    /// What it programs into the 8259 pair (Emulation.legacyPICWatch, the
    /// real chips; Emulation.virtualPIC, Tern's alone).
    public var legacyPIC: LegacyPICPair?
    /// Its CMOS clock (Emulation.cmosClock).
    public var rtc: VirtualRTC?
    /// Its 8254's counter 2 (Emulation.pitChannel2).
    public var pit: VirtualPIT?
    /// Its console line so far from the UART (up to `uartLineLimit`
    /// bytes), and whether another line cut it on the serial port (then it
    /// is written again before its next byte: Console.uartOutput).
    public var uartLine: [UInt8] = []
    public var uartLineCut = false
    public static let uartLineLimit = 512

    public init() {}

    /// The models for a domain with `emulation`.
    public init(for emulation: Emulation) {
        if emulation.contains(.serialPort) { uart = VirtualUART() }
        if emulation.contains(.cmosClock) { rtc = VirtualRTC() }
        if emulation.contains(.pitChannel2) { pit = VirtualPIT() }
        if emulation.contains(.legacyPICWatch) || emulation.contains(.virtualPIC) { legacyPIC = LegacyPICPair() }
    }
}

/// The master and slave 8259 as a domain programmed them.
public struct LegacyPICPair {
    public var master = LegacyPICWatch(minimumVectorBase: Layout.Vector.legacyPICBase)
    public var slave = LegacyPICWatch(minimumVectorBase: Layout.Vector.legacyPICBase)
    public init() {}
}
