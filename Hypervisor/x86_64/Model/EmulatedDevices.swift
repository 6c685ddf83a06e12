/// Which of a domain's emulated devices a port access or a nested page
/// fault reaches: a per-domain bus, as Firecracker's PortIODeviceManager,
/// keyed by the domain's emulation set (Core/Emulation.swift), never by
/// its id. Each device claims its ports or its page; what no device of the
/// domain claims keeps the default: a port reads all ones and drops
/// writes, a page outside the domain's memory is refused or fatal.
public enum EmulatedDevices {
    /// COM1's eight registers: the virtual UART (VirtualUART.swift).
    public static let serialPorts: ClosedRange<UInt16> = 0x3F8...0x3FF
    /// The 8259 pair's command and data ports.
    public static let picMasterCommand: UInt16 = 0x20, picMasterData: UInt16 = 0x21
    public static let picSlaveCommand: UInt16 = 0xA0, picSlaveData: UInt16 = 0xA1
    public static let legacyPICPorts: [UInt16] = [picMasterCommand, picMasterData, picSlaveCommand, picSlaveData]
    /// Counter 2's data port, the 8254's control port and port 0x61 (VirtualPIT).
    public static let pitChannel2Ports: [UInt16] = [VirtualPIT.counter2Port, VirtualPIT.controlPort, VirtualPIT.systemControlPort]

    public enum PortDevice: Equatable {
        case serialPort
        case legacyPIC
        case virtualPIC
        case cmosClock
        case pitChannel2
    }

    /// The device that serves `port`, if the domain has one there. The
    /// models take single-byte IN and OUT; string I/O reaches none.
    public static func device(forPort port: UInt16, string: Bool, in emulation: Emulation) -> PortDevice? {
        guard !string else { return nil }
        if emulation.contains(.serialPort) && serialPorts.contains(port) { return .serialPort }
        if emulation.contains(.legacyPICWatch) && legacyPICPorts.contains(port) { return .legacyPIC }
        if emulation.contains(.virtualPIC) && legacyPICPorts.contains(port) { return .virtualPIC }
        if emulation.contains(.cmosClock) && (port == VirtualRTC.indexPort || port == VirtualRTC.dataPort) { return .cmosClock }
        if emulation.contains(.pitChannel2) && pitChannel2Ports.contains(port) { return .pitChannel2 }
        return nil
    }

    public enum NestedFaultAction: Equatable {
        /// The virtual LAPIC's MMIO page, at this offset.
        case localAPIC(offset: Int)
        /// #GP: a device owner touched a frame that is not its own (its
        /// drivers probe; the bus would refuse the access).
        case refuseForeign
        /// #GP: a write to a read-only page of its own (a read-only grant
        /// mapping, the device page).
        case refuseReadOnly
        /// Outside a PV guest's memory: the domain crashes.
        case crash
    }

    /// What a nested page fault at `gpa` is (APM vol. 2, 15.25.6: the
    /// error code says whether the page was present and the access a
    /// write), for a domain with `emulation` whose LAPIC page is at
    /// `localAPICPage`.
    public static func nestedFault(at gpa: UInt64, writeToPresentPage: Bool, localAPICPage: UInt64,
                                   in emulation: Emulation) -> NestedFaultAction {
        if emulation.contains(.localAPIC), gpa >= localAPICPage, gpa - localAPICPage < Layout.pageSize {
            return .localAPIC(offset: Int(gpa - localAPICPage))
        }
        if emulation.contains(.hardware) { return .refuseForeign }
        if writeToPresentPage { return .refuseReadOnly }
        // A Linux (it has Tern's LAPIC) gets #GP, as Dom0: a read it made
        // under an exception table (/dev/mem's copy_from_kernel_nofault)
        // fails cleanly; a PV guest touching what is not its own is broken.
        return emulation.contains(.localAPIC) ? .refuseForeign : .crash
    }
}
