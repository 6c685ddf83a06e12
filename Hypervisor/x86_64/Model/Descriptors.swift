/// Encodings of the GDT, TSS and IDT (AMD APM vol. 2, 4.8 and 8.9): pure
/// functions producing the bytes Machine/DescriptorTables installs.
public enum Descriptors {
    /// 64-bit ring-0 code: P=1, DPL=0, S=1, type=execute/read, L=1.
    public static let code64: UInt64 = 0x00AF_9A00_0000_FFFF
    /// Ring-0 data: P=1, DPL=0, S=1, type=read/write (ignored in 64-bit mode).
    public static let data: UInt64 = 0x00CF_9200_0000_FFFF

    /// TSS layout (APM vol. 2, 12.2.5, figure 12-8).
    public static let tssSize = 104
    static let tssRSP0Offset = 4
    static let tssIST1Offset = 36
    static let tssIOMapBaseOffset = 102
    /// System-segment type 9: available 64-bit TSS.
    static let tssType: UInt64 = 0x9
    static let present: UInt64 = 1 << 47

    /// The 16-byte TSS descriptor, as two GDT slots (low, high).
    public static func tssDescriptor(base: UInt64, limit: UInt32) -> (low: UInt64, high: UInt64) {
        var low = UInt64(limit & 0xFFFF)
        low |= (base & 0xFF_FFFF) << 16
        low |= tssType << 40
        low |= present
        low |= UInt64((limit >> 16) & 0xF) << 48
        low |= ((base >> 24) & 0xFF) << 56
        return (low, base >> 32)
    }

    /// Writes a TSS with the given IST stack tops (index 0 = IST1) and no
    /// I/O permission bitmap (the I/O map base points past the limit).
    public static func writeTSS(_ tss: UnsafeMutableRawBufferPointer, istTops: UnsafeBufferPointer<UInt64>) {
        precondition(tss.count >= tssSize && istTops.count <= 7)
        // SAFETY: the precondition just checked: tss holds a whole TSS and the
        // IST slots 0..<7 and the I/O map base lie in it; storeBytes needs no
        // alignment.
        tss.initializeMemory(as: UInt8.self, repeating: 0)
        for (i, top) in istTops.enumerated() {
            tss.storeBytes(of: top.littleEndian, toByteOffset: tssIST1Offset + 8 * i, as: UInt64.self)
        }
        // SAFETY: the I/O map base field, inside the checked TSS as above.
        tss.storeBytes(of: UInt16(tssSize).littleEndian, toByteOffset: tssIOMapBaseOffset, as: UInt16.self)
    }

    /// Interrupt gate type (clears IF on entry), present, DPL 0.
    static let interruptGate: UInt64 = 0x8E

    /// A 16-byte IDT gate (APM vol. 2, 4.8.4, figure 4-24).
    public static func interruptGate(handler: UInt64, selector: UInt16, ist: UInt8) -> (low: UInt64, high: UInt64) {
        var low = handler & 0xFFFF
        low |= UInt64(selector) << 16
        low |= UInt64(ist & 0x7) << 32
        low |= interruptGate << 40
        low |= ((handler >> 16) & 0xFFFF) << 48
        return (low, handler >> 32)
    }

    /// The pseudo-descriptor LGDT and LIDT read: limit u16, base u64.
    public static func pseudoDescriptor(base: UInt64, size: Int) -> (limit: UInt16, base: UInt64) {
        (UInt16(size - 1), base)
    }
}
