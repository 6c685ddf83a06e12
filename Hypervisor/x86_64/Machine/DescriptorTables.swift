import TernCore
import TernCPU

/// Tern's GDT (null, code, data, TSS), the TSS with its IST stacks, and
/// the IDT: every vector goes to its Boot/isr.asm stub on an IST stack.
/// GDT+TSS share one frame and the IDT has its own; both are reached
/// through the direct map.
enum DescriptorTables {
    static let tssOffsetInFrame = 128
    static let gdtEntries = 5   // null, code64, data, TSS (two slots)
    static let vectorCount = 256
    static let gateSize = 16

    enum SetupError { case noFrame }

    static func install(image: tern_image_symbols) -> SetupError? {
        let memory = PhysicalWindow.directMap
        guard let gdtFrame = Platform.allocateFrame(), let idtFrame = Platform.allocateFrame(),
              let gdtPage = memory.frame(gdtFrame), let idtPage = memory.frame(idtFrame) else {
            return .noFrame
        }
        let gdtVirtual = UInt64(UInt(bitPattern: gdtPage))

        // TSS: IST n uses stack slot n (its top is the slot's end).
        var istTops = InlineArray<7, UInt64>(repeating: 0)
        for ist in 1...7 {
            istTops[ist - 1] = image.stacks_start + UInt64(ist + 1) * Layout.stackSlotSize
        }
        // SAFETY: the TSS (104 bytes) at offset 128 lies inside gdtPage's frame.
        let tss = UnsafeMutableRawBufferPointer(start: gdtPage + tssOffsetInFrame, count: Descriptors.tssSize)
        withUnsafeBytes(of: &istTops) { raw in
            Descriptors.writeTSS(tss, istTops: raw.bindMemory(to: UInt64.self))
        }

        // SAFETY: gdtPage is a whole frame we own; 5 entries fit before the TSS.
        let gdt = gdtPage.bindMemory(to: UInt64.self, capacity: gdtEntries)
        let tssDescriptor = Descriptors.tssDescriptor(base: gdtVirtual + UInt64(tssOffsetInFrame),
                                                      limit: UInt32(Descriptors.tssSize - 1))
        gdt[0] = 0
        gdt[1] = Descriptors.code64
        gdt[2] = Descriptors.data
        gdt[3] = tssDescriptor.low
        gdt[4] = tssDescriptor.high

        // SAFETY: idtPage is a whole frame: 256 gates of 16 bytes = 4 KiB.
        let idt = idtPage.bindMemory(to: UInt64.self, capacity: vectorCount * 2)
        for vector in 0..<vectorCount {
            let gate = Descriptors.interruptGate(handler: tern_isr_stub(UInt32(vector)),
                                                 selector: Layout.Selector.code64, ist: ist(for: vector))
            idt[vector * 2] = gate.low
            idt[vector * 2 + 1] = gate.high
        }

        var gdtr = pseudo(base: gdtVirtual, size: gdtEntries * 8)
        var idtr = pseudo(base: UInt64(UInt(bitPattern: idtPage)), size: vectorCount * gateSize)
        withUnsafeBytes(of: &gdtr) { tern_load_gdt($0.baseAddress, Layout.Selector.code64, Layout.Selector.data) }
        withUnsafeBytes(of: &idtr) { tern_lidt($0.baseAddress) }
        tern_ltr(Layout.Selector.tss)
        return nil
    }

    static func ist(for vector: Int) -> UInt8 {
        switch vector {
        case Exceptions.doubleFault: return Layout.IST.doubleFault
        case Exceptions.nmi: return Layout.IST.nmi
        case Exceptions.machineCheck: return Layout.IST.machineCheck
        case 0..<Layout.Vector.exceptionCount: return Layout.IST.exceptions
        default: return Layout.IST.interrupts
        }
    }

    /// LGDT/LIDT operand: a packed limit u16 + base u64 (10 bytes).
    static func pseudo(base: UInt64, size: Int) -> InlineArray<10, UInt8> {
        let descriptor = Descriptors.pseudoDescriptor(base: base, size: size)
        var bytes = InlineArray<10, UInt8>(repeating: 0)
        bytes[0] = UInt8(truncatingIfNeeded: descriptor.limit)
        bytes[1] = UInt8(truncatingIfNeeded: descriptor.limit >> 8)
        for i in 0..<8 { bytes[2 + i] = UInt8(truncatingIfNeeded: descriptor.base >> (8 * UInt64(i))) }
        return bytes
    }
}
