/// Dom0's programming of one real 8259 (Dom0 owns the pair; Tern
/// intercepts their ports and passes the accesses on), watched so that
///
/// - Tern knows the vector Dom0 gave each line and which lines it masked
///   (a virtual device's interrupt, the UART's IRQ 4, is raised as that
///   vector), and
/// - the chip never delivers on an exception vector (0-31), which would
///   fake a fault in Tern: a vector base below `minimumVectorBase` is raised
///   to it, and ICW1 is held back until ICW2 arrives, then both are written
///   together.
///
/// Why hold ICW1: ICW1 resets the chip's vector base to 0 and unmasks every
/// line (QEMU's `pic_init_reset`; on real 8259s the base is undefined until
/// ICW2). Dom0's ICW1 and ICW2 are two exits apart, and in between Tern runs
/// with interrupts open (an INTR exit, the idle halt): a line that rose then
/// (the PIT's IRQ 0, under Linux's second `init_8259A` at the switch to APIC
/// mode) reached Tern through LINT0's ExtINT as vector 0, a #DE panic. Tern
/// runs its exit handlers with interrupts off, so one handler writing ICW1
/// and ICW2 back to back leaves no window.
///
/// The initialisation sequence (Intel 8259A datasheet, "Initialization
/// command words"): ICW1 on the command port (bit 4 set), ICW2 = vector
/// base (bits 7-3) on the data port, ICW3 if ICW1 said cascaded (bit 1
/// clear), ICW4 if ICW1 asked for it (bit 0). After it, a data-port write
/// is the mask (OCW1); other command-port writes are OCW2/OCW3.
public struct LegacyPICWatch: Equatable {
    public static let icw1: UInt8 = 0x10
    public static let icw1NeedsICW4: UInt8 = 0x01
    public static let icw1Single: UInt8 = 0x02
    public static let vectorBaseMask: UInt8 = 0xF8

    public enum Expect: Equatable { case mask, icw2, icw3, icw4 }

    /// What to write on the real chip for one of Dom0's writes.
    public enum Forward: Equatable {
        /// Nothing now (an ICW1 held until its ICW2).
        case nothing
        /// This value on the port Dom0 wrote.
        case write(UInt8)
        /// ICW1 on the command port, then ICW2 on the data port, with
        /// nothing in between.
        case initialise(icw1: UInt8, icw2: UInt8)
    }

    public let minimumVectorBase: UInt8
    public private(set) var expect = Expect.mask
    public private(set) var heldICW1: UInt8?
    public private(set) var needsICW3 = false
    public private(set) var needsICW4 = false
    /// nil until Dom0 has initialised the chip.
    public private(set) var vectorBase: UInt8?
    public private(set) var mask: UInt8 = 0xFF
    /// ICW2 values raised to `minimumVectorBase` (for the log).
    public private(set) var refusedBase: UInt8?

    public init(minimumVectorBase: UInt8) {
        self.minimumVectorBase = minimumVectorBase
    }

    /// The vector of `line` (0-7) as Dom0 programmed it; nil if masked or
    /// not initialised yet.
    public func vector(forLine line: UInt8) -> UInt8? {
        guard line < 8, let base = vectorBase, mask & (1 << line) == 0 else { return nil }
        return base + line
    }

    /// Dom0 wrote `value` on the command port.
    public mutating func command(_ value: UInt8) -> Forward {
        guard value & Self.icw1 != 0 else { return .write(value) }   // OCW2/OCW3
        heldICW1 = value
        expect = .icw2
        needsICW3 = value & Self.icw1Single == 0
        needsICW4 = value & Self.icw1NeedsICW4 != 0
        return .nothing
    }

    /// Dom0 wrote `value` on the data port.
    public mutating func data(_ value: UInt8) -> Forward {
        switch expect {
        case .icw2:
            var base = value & Self.vectorBaseMask
            refusedBase = nil
            if base < minimumVectorBase {
                refusedBase = base
                base = minimumVectorBase
            }
            // ICW2's low bits are unused on x86 (8086 mode): Dom0's are kept.
            let icw2 = base | (value & ~Self.vectorBaseMask)
            vectorBase = base
            // ICW1 unmasks every line (the datasheet: "the interrupt mask
            // register is cleared").
            mask = 0
            expect = needsICW3 ? .icw3 : needsICW4 ? .icw4 : .mask
            let icw1 = heldICW1 ?? Self.icw1
            heldICW1 = nil
            return .initialise(icw1: icw1, icw2: icw2)
        case .icw3:
            expect = needsICW4 ? .icw4 : .mask
        case .icw4:
            expect = .mask
        case .mask:
            mask = value
        }
        return .write(value)
    }
}
