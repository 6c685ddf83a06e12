/// The virtual machine control block (AMD APM vol. 2, appendix B): one 4 KiB
/// page per vCPU, a control area (what to intercept, event injection, exit
/// information) then a state save area (the guest's registers). This is a
/// typed view over that page; it works on any raw page, so the host tests
/// can check the encoding.
public struct VMCB {
    public let base: UnsafeMutableRawPointer

    /// SAFETY: `base` must be a whole, 4 KiB, zero-initialised-or-owned page.
    public init(base: UnsafeMutableRawPointer) { self.base = base }

    // MARK: Control area offsets (APM vol. 2, table B-1)
    enum Control {
        static let interceptCR = 0x000          // u32: reads 0-15, writes 16-31
        static let interceptDR = 0x004
        static let interceptExceptions = 0x008  // u32: bit n = vector n
        static let interceptMisc1 = 0x00C       // u32: Intercept1
        static let interceptMisc2 = 0x010       // u32: Intercept2
        static let iopmBase = 0x040             // u64 physical
        static let msrpmBase = 0x048            // u64 physical
        static let tscOffset = 0x050
        static let guestASID = 0x058            // u32
        static let tlbControl = 0x05C           // u8
        static let virtualInterrupt = 0x060     // u64: V_TPR, V_IRQ, V_INTR_PRIO, V_IGN_TPR, V_INTR_MASKING, V_INTR_VECTOR
        static let interruptShadow = 0x068
        static let exitCode = 0x070
        static let exitInfo1 = 0x078
        static let exitInfo2 = 0x080
        static let exitInterruptInfo = 0x088
        static let nestedPagingEnable = 0x090   // bit 0
        static let eventInjection = 0x0A8
        static let nestedCR3 = 0x0B0
        static let cleanBits = 0x0C0
        static let nextRIP = 0x0C8              // 0 under QEMU TCG (platform-facts.md)
    }

    // MARK: State save area offsets (APM vol. 2, table B-2)
    enum State {
        static let es = 0x400, cs = 0x410, ss = 0x420, ds = 0x430, fs = 0x440, gs = 0x450
        static let gdtr = 0x460, ldtr = 0x470, idtr = 0x480, tr = 0x490
        static let cpl = 0x4CB
        static let efer = 0x4D0
        static let cr4 = 0x548, cr3 = 0x550, cr0 = 0x558
        static let dr7 = 0x560, dr6 = 0x568
        static let rflags = 0x570, rip = 0x578, rsp = 0x5D8, rax = 0x5F8
        static let star = 0x600, lstar = 0x608, cstar = 0x610, sfmask = 0x618
        static let kernelGSBase = 0x620
        static let sysenterCS = 0x628, sysenterESP = 0x630, sysenterEIP = 0x638
        static let cr2 = 0x640
        static let guestPAT = 0x668
    }

    /// Intercept1 bits (APM vol. 2, table B-1, offset 0x0C).
    public struct Misc1: OptionSet {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let intr = Misc1(rawValue: 1 << 0)
        public static let nmi = Misc1(rawValue: 1 << 1)
        public static let smi = Misc1(rawValue: 1 << 2)
        public static let initSignal = Misc1(rawValue: 1 << 3)
        public static let vintr = Misc1(rawValue: 1 << 4)
        public static let cpuid = Misc1(rawValue: 1 << 18)
        public static let invd = Misc1(rawValue: 1 << 22)
        public static let hlt = Misc1(rawValue: 1 << 24)
        public static let invlpga = Misc1(rawValue: 1 << 26)
        public static let ioio = Misc1(rawValue: 1 << 27)
        public static let msr = Misc1(rawValue: 1 << 28)
        public static let taskSwitch = Misc1(rawValue: 1 << 29)
        public static let ferrFreeze = Misc1(rawValue: 1 << 30)
        public static let shutdown = Misc1(rawValue: 1 << 31)
    }

    /// Intercept2 bits (offset 0x10). VMRUN must be intercepted (APM 15.5.1).
    public struct Misc2: OptionSet {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let vmrun = Misc2(rawValue: 1 << 0)
        public static let vmmcall = Misc2(rawValue: 1 << 1)
        public static let vmload = Misc2(rawValue: 1 << 2)
        public static let vmsave = Misc2(rawValue: 1 << 3)
        public static let stgi = Misc2(rawValue: 1 << 4)
        public static let clgi = Misc2(rawValue: 1 << 5)
        public static let skinit = Misc2(rawValue: 1 << 6)
        public static let icebp = Misc2(rawValue: 1 << 8)
        public static let monitor = Misc2(rawValue: 1 << 10)
        public static let mwait = Misc2(rawValue: 1 << 11)
        public static let mwaitArmed = Misc2(rawValue: 1 << 12)
        public static let xsetbv = Misc2(rawValue: 1 << 13)
    }

    /// V_INTR fields at 0x60 (APM vol. 2, 15.21.4).
    public static let virtualIRQ: UInt64 = 1 << 8
    public static let virtualInterruptPriorityShift: UInt64 = 16
    public static let virtualIgnoreTPR: UInt64 = 1 << 20
    public static let virtualInterruptMasking: UInt64 = 1 << 24
    public static let virtualInterruptVectorShift: UInt64 = 32
    /// V_INTR_PRIO is 4 bits (19:16); 0xF is the highest (Tern's PV
    /// upcalls, which set V_IGN_TPR as well).
    public static let virtualInterruptHighestPriority: UInt64 = 0xF

    /// V_INTR offering a virtual interrupt: V_IRQ at `vector` with
    /// `priority` (V_INTR_PRIO, 4 bits), V_IGN_TPR and V_INTR_MASKING set.
    public static func virtualInterruptOffer(vector: UInt8, priority: UInt64) -> UInt64 {
        virtualInterruptMasking | virtualIRQ | virtualIgnoreTPR
            | priority << virtualInterruptPriorityShift | UInt64(vector) << virtualInterruptVectorShift
    }

    /// EVENTINJ (APM vol. 2, 15.20): vector, type, error-code valid, valid.
    public static let eventValid: UInt64 = 1 << 31
    public static let eventErrorCodeValid: UInt64 = 1 << 11
    public static let eventTypeException: UInt64 = 3 << 8

    /// TLB_CONTROL: flush this guest's ASID on the next VMRUN.
    public static let tlbFlushGuest: UInt8 = 3

    // MARK: Accessors

    // SAFETY (both): offsets are the fixed fields above, all < 4 KiB, inside
    // the page init was given; unaligned access, any bytes are an integer.
    func load<T: FixedWidthInteger>(_ offset: Int, as: T.Type) -> T {
        T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
    }
    func store<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
    }

    public var misc1: Misc1 {
        get { Misc1(rawValue: load(Control.interceptMisc1, as: UInt32.self)) }
        nonmutating set { store(newValue.rawValue, at: Control.interceptMisc1) }
    }
    public var misc2: Misc2 {
        get { Misc2(rawValue: load(Control.interceptMisc2, as: UInt32.self)) }
        nonmutating set { store(newValue.rawValue, at: Control.interceptMisc2) }
    }
    public var interceptedExceptions: UInt32 {
        get { load(Control.interceptExceptions, as: UInt32.self) }
        nonmutating set { store(newValue, at: Control.interceptExceptions) }
    }
    public var iopmBase: UInt64 {
        get { load(Control.iopmBase, as: UInt64.self) }
        nonmutating set { store(newValue, at: Control.iopmBase) }
    }
    public var msrpmBase: UInt64 {
        get { load(Control.msrpmBase, as: UInt64.self) }
        nonmutating set { store(newValue, at: Control.msrpmBase) }
    }
    public var asid: UInt32 {
        get { load(Control.guestASID, as: UInt32.self) }
        nonmutating set { store(newValue, at: Control.guestASID) }
    }
    public var tlbControl: UInt8 {
        get { load(Control.tlbControl, as: UInt8.self) }
        nonmutating set { store(newValue, at: Control.tlbControl) }
    }
    public var virtualInterrupt: UInt64 {
        get { load(Control.virtualInterrupt, as: UInt64.self) }
        nonmutating set { store(newValue, at: Control.virtualInterrupt) }
    }
    public var interruptShadow: UInt64 { load(Control.interruptShadow, as: UInt64.self) }
    public var exitCode: UInt64 { load(Control.exitCode, as: UInt64.self) }
    public var exitInfo1: UInt64 { load(Control.exitInfo1, as: UInt64.self) }
    public var exitInfo2: UInt64 { load(Control.exitInfo2, as: UInt64.self) }
    public var exitInterruptInfo: UInt64 { load(Control.exitInterruptInfo, as: UInt64.self) }
    public var nestedPaging: Bool {
        get { load(Control.nestedPagingEnable, as: UInt64.self) & 1 != 0 }
        nonmutating set { store(UInt64(newValue ? 1 : 0), at: Control.nestedPagingEnable) }
    }
    public var eventInjection: UInt64 {
        get { load(Control.eventInjection, as: UInt64.self) }
        nonmutating set { store(newValue, at: Control.eventInjection) }
    }
    public var nestedCR3: UInt64 {
        get { load(Control.nestedCR3, as: UInt64.self) }
        nonmutating set { store(newValue, at: Control.nestedCR3) }
    }
    /// Every bit clear: the CPU reloads all cached VMCB state (APM 15.15).
    public func markAllDirty() { store(UInt32(0), at: Control.cleanBits) }

    public var rip: UInt64 {
        get { load(State.rip, as: UInt64.self) }
        nonmutating set { store(newValue, at: State.rip) }
    }
    public var rsp: UInt64 {
        get { load(State.rsp, as: UInt64.self) }
        nonmutating set { store(newValue, at: State.rsp) }
    }
    public var rax: UInt64 {
        get { load(State.rax, as: UInt64.self) }
        nonmutating set { store(newValue, at: State.rax) }
    }
    public var rflags: UInt64 {
        get { load(State.rflags, as: UInt64.self) }
        nonmutating set { store(newValue, at: State.rflags) }
    }
    public var cr0: UInt64 {
        get { load(State.cr0, as: UInt64.self) }
        nonmutating set { store(newValue, at: State.cr0) }
    }
    public var cr2: UInt64 { load(State.cr2, as: UInt64.self) }
    public var cr3: UInt64 {
        get { load(State.cr3, as: UInt64.self) }
        nonmutating set { store(newValue, at: State.cr3) }
    }
    public var cr4: UInt64 {
        get { load(State.cr4, as: UInt64.self) }
        nonmutating set { store(newValue, at: State.cr4) }
    }
    public var efer: UInt64 {
        get { load(State.efer, as: UInt64.self) }
        nonmutating set { store(newValue, at: State.efer) }
    }
    public var cpl: UInt8 {
        get { load(State.cpl, as: UInt8.self) }
        nonmutating set { store(newValue, at: State.cpl) }
    }
    public var dr6: UInt64 {
        get { load(State.dr6, as: UInt64.self) }
        nonmutating set { store(newValue, at: State.dr6) }
    }
    public var dr7: UInt64 {
        get { load(State.dr7, as: UInt64.self) }
        nonmutating set { store(newValue, at: State.dr7) }
    }
    public var guestPAT: UInt64 {
        get { load(State.guestPAT, as: UInt64.self) }
        nonmutating set { store(newValue, at: State.guestPAT) }
    }

    /// A segment register in the state save area: selector, attributes
    /// (the descriptor's type/S/DPL/P/AVL/L/DB/G packed into 12 bits,
    /// APM vol. 2, 15.5.1), limit, base.
    public struct Segment: Equatable {
        public var selector: UInt16
        public var attributes: UInt16
        public var limit: UInt32
        public var base: UInt64
        public init(selector: UInt16, attributes: UInt16, limit: UInt32, base: UInt64) {
            self.selector = selector
            self.attributes = attributes
            self.limit = limit
            self.base = base
        }
    }

    public enum SegmentRegister {
        case es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr
        var offset: Int {
            switch self {
            case .es: return State.es
            case .cs: return State.cs
            case .ss: return State.ss
            case .ds: return State.ds
            case .fs: return State.fs
            case .gs: return State.gs
            case .gdtr: return State.gdtr
            case .ldtr: return State.ldtr
            case .idtr: return State.idtr
            case .tr: return State.tr
            }
        }
    }

    public func segment(_ register: SegmentRegister) -> Segment {
        let o = register.offset
        return Segment(selector: load(o, as: UInt16.self), attributes: load(o + 2, as: UInt16.self),
                       limit: load(o + 4, as: UInt32.self), base: load(o + 8, as: UInt64.self))
    }

    public func setSegment(_ register: SegmentRegister, _ segment: Segment) {
        let o = register.offset
        store(segment.selector, at: o)
        store(segment.attributes, at: o + 2)
        store(segment.limit, at: o + 4)
        store(segment.base, at: o + 8)
    }
}

/// Packed segment attributes for the VMCB (APM vol. 2, 15.5.1): bits 0-3
/// type, 4 S, 5-6 DPL, 7 P, 8 AVL, 9 L, 10 D/B, 11 G.
public enum SegmentAttributes {
    /// Ring-0 64-bit code: type 0xB (execute/read, accessed), S, P, L, G.
    public static let code64: UInt16 = 0xB | 1 << 4 | 1 << 7 | 1 << 9 | 1 << 11
    /// Ring-0 32-bit code: type 0xB, S, P, D/B (32-bit), G.
    public static let code32: UInt16 = 0xB | 1 << 4 | 1 << 7 | 1 << 10 | 1 << 11
    /// Ring-0 data: type 0x3 (read/write, accessed), S, P, D/B, G.
    public static let data: UInt16 = 0x3 | 1 << 4 | 1 << 7 | 1 << 10 | 1 << 11
    /// A busy 64-bit TSS (system type 0xB), P.
    public static let tss64Busy: UInt16 = 0xB | 1 << 7
    /// An LDT (system type 0x2), P.
    public static let ldt: UInt16 = 0x2 | 1 << 7
}

/// #VMEXIT codes (APM vol. 2, appendix C).
public enum SVMExit {
    public static let exceptionBase: UInt64 = 0x40
    public static let intr: UInt64 = 0x60
    public static let nmi: UInt64 = 0x61
    public static let smi: UInt64 = 0x62
    public static let initSignal: UInt64 = 0x63
    public static let vintr: UInt64 = 0x64
    public static let cpuid: UInt64 = 0x72
    public static let invd: UInt64 = 0x76
    public static let hlt: UInt64 = 0x78
    public static let invlpga: UInt64 = 0x7A
    public static let ioio: UInt64 = 0x7B
    public static let msr: UInt64 = 0x7C
    public static let taskSwitch: UInt64 = 0x7D
    public static let ferrFreeze: UInt64 = 0x7E
    public static let shutdown: UInt64 = 0x7F
    public static let vmrun: UInt64 = 0x80
    public static let vmmcall: UInt64 = 0x81
    public static let vmload: UInt64 = 0x82
    public static let vmsave: UInt64 = 0x83
    public static let stgi: UInt64 = 0x84
    public static let clgi: UInt64 = 0x85
    public static let skinit: UInt64 = 0x86
    public static let icebp: UInt64 = 0x88
    public static let monitor: UInt64 = 0x8A
    public static let mwait: UInt64 = 0x8B
    public static let mwaitArmed: UInt64 = 0x8C
    public static let xsetbv: UInt64 = 0x8D
    public static let nestedPageFault: UInt64 = 0x400
    public static let invalid: UInt64 = UInt64.max   // VMEXIT_INVALID: bad guest state

    public static func name(_ code: UInt64) -> StaticString {
        switch code {
        case intr: return "INTR"
        case nmi: return "NMI"
        case vintr: return "VINTR"
        case cpuid: return "CPUID"
        case hlt: return "HLT"
        case ioio: return "IOIO"
        case msr: return "MSR"
        case shutdown: return "SHUTDOWN"
        case vmmcall: return "VMMCALL"
        case nestedPageFault: return "NPF"
        case invalid: return "INVALID"
        case vmrun, vmload, vmsave, stgi, clgi, skinit: return "SVM instruction"
        default: return code >= exceptionBase && code < exceptionBase + 32 ? "exception" : "other"
        }
    }
}
