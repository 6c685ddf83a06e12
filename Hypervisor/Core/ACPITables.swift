/// The ACPI tables Tern gives a Linux guest (docs/porting.md, "Linux
/// guests"): an RSDP (found through the PVH start info's `rsdp_paddr`,
/// Xen's docs/misc/pvh.pandoc), an XSDT and a MADT listing its local
/// APICs and no I/O APIC, as Xen does for a PVH guest. Why: without a MADT
/// (or an MP table, which Debian's cloud kernel cannot parse) Linux treats
/// the machine as having no SMP configuration and never sets up its LAPIC
/// timer (`native_smp_prepare_cpus`, SMP_NO_CONFIG), so its only clock
/// event is the PIT, which a guest does not have: no tick, and a `sleep`
/// never ends. With a MADT it takes the LAPIC timer.
///
/// Layouts from the ACPI specification 6.5: RSDP 5.2.5.3, the common
/// header 5.2.6, XSDT 5.2.8, MADT 5.2.12 and its Processor Local APIC
/// entry 5.2.12.2. All fields little-endian.
public enum ACPITables {
    static let rsdpLength = 36
    static let rsdpChecksummedLength = 20          // the ACPI 1.0 part
    static let rsdpRevision: UInt8 = 2             // ACPI 2.0+: has the XSDT
    static let headerLength = 36
    static let xsdtRevision: UInt8 = 1
    static let madtRevision: UInt8 = 5
    static let madtLocalAPICEntryType: UInt8 = 0
    static let madtLocalAPICEntryLength: UInt8 = 8
    static let madtLocalAPICEnabled: UInt32 = 1 << 0
    /// MADT flag PCAT_COMPAT: a dual 8259 is present too (Tern's virtual
    /// pair, Emulation.virtualPIC, for the UART's IRQ 4).
    static let madtPCATCompatible: UInt32 = 1 << 0
    /// Tables start 16-byte aligned (the RSDP must be, 5.2.5.1).
    static let alignment = 16

    static let oemID: [UInt8] = Array("TERN  ".utf8)          // 6 bytes
    static let oemTableID: [UInt8] = Array("TERNVM  ".utf8)   // 8 bytes
    static let creatorID: [UInt8] = Array("TERN".utf8)        // 4 bytes

    /// The tables for a guest whose LAPIC page is `localAPICAddress`, with
    /// one processor per entry of `apicIDs`, laid out from guest-physical
    /// `base` (16-byte aligned): the RSDP first, at `base`.
    public static func build(base: UInt64, localAPICAddress: UInt32, apicIDs: [UInt8]) -> [UInt8] {
        let xsdtOffset = rsdpLength.roundedUp(to: alignment)
        let xsdtLength = headerLength + 8
        let madtOffset = (xsdtOffset + xsdtLength).roundedUp(to: alignment)
        let madtLength = headerLength + 8 + apicIDs.count * Int(madtLocalAPICEntryLength)
        var bytes = [UInt8](repeating: 0, count: madtOffset + madtLength)

        // MADT: local interrupt controller address, flags, one entry per CPU.
        header(&bytes, at: madtOffset, signature: Array("APIC".utf8), length: madtLength, revision: madtRevision)
        bytes.store32(localAPICAddress, at: madtOffset + headerLength)
        bytes.store32(madtPCATCompatible, at: madtOffset + headerLength + 4)
        var entry = madtOffset + headerLength + 8
        for (uid, id) in apicIDs.enumerated() {
            bytes[entry] = madtLocalAPICEntryType
            bytes[entry + 1] = madtLocalAPICEntryLength
            bytes[entry + 2] = UInt8(truncatingIfNeeded: uid)   // ACPI processor UID
            bytes[entry + 3] = id
            bytes.store32(madtLocalAPICEnabled, at: entry + 4)
            entry += Int(madtLocalAPICEntryLength)
        }
        checksum(&bytes, range: madtOffset..<(madtOffset + madtLength), at: madtOffset + 9)

        // XSDT: one 64-bit pointer, to the MADT.
        header(&bytes, at: xsdtOffset, signature: Array("XSDT".utf8), length: xsdtLength, revision: xsdtRevision)
        bytes.store64(base + UInt64(madtOffset), at: xsdtOffset + headerLength)
        checksum(&bytes, range: xsdtOffset..<(xsdtOffset + xsdtLength), at: xsdtOffset + 9)

        // RSDP: revision 2, no RSDT (a 64-bit guest uses the XSDT).
        put(&bytes, Array("RSD PTR ".utf8), at: 0)
        put(&bytes, oemID, at: 9)
        bytes[15] = rsdpRevision
        bytes.store32(UInt32(rsdpLength), at: 20)
        bytes.store64(base + UInt64(xsdtOffset), at: 24)
        checksum(&bytes, range: 0..<rsdpChecksummedLength, at: 8)
        checksum(&bytes, range: 0..<rsdpLength, at: 32)
        return bytes
    }

    /// The common header (5.2.6); its checksum is set last.
    private static func header(_ bytes: inout [UInt8], at offset: Int, signature: [UInt8], length: Int, revision: UInt8) {
        put(&bytes, signature, at: offset)
        bytes.store32(UInt32(length), at: offset + 4)
        bytes[offset + 8] = revision
        put(&bytes, oemID, at: offset + 10)
        put(&bytes, oemTableID, at: offset + 16)
        bytes.store32(1, at: offset + 24)                 // OEM revision
        put(&bytes, creatorID, at: offset + 28)
        bytes.store32(1, at: offset + 32)                 // creator revision
    }

    private static func put(_ bytes: inout [UInt8], _ value: [UInt8], at offset: Int) {
        for (i, byte) in value.enumerated() { bytes[offset + i] = byte }
    }

    /// The byte at `at` such that the bytes of `range` sum to 0 (mod 256).
    private static func checksum(_ bytes: inout [UInt8], range: Range<Int>, at: Int) {
        bytes[at] = 0
        var sum: UInt8 = 0
        for i in range { sum &+= bytes[i] }
        bytes[at] = 0 &- sum
    }
}

extension Int {
    func roundedUp(to alignment: Int) -> Int { (self + alignment - 1) / alignment * alignment }
}
