/// A vCPU's x87, SSE and AVX registers: its "extended state", saved and
/// restored with XSAVE/XRSTOR (AMD APM vol. 2, 11.5), or FXSAVE/FXRSTOR
/// on a CPU without XSAVE. Tern never uses these registers itself, so they
/// belong to whichever vCPU ran last; Machine/GuestFPU.swift swaps them
/// when another vCPU runs. This is the pure part: which components Tern
/// manages, which XCR0 values a guest may set, and the reset state a new
/// vCPU starts from (host-tested).
public enum ExtendedState {
    // XCR0 bits (APM vol. 2, 11.5.2 "XFEATURE_ENABLED_MASK").
    public static let x87: UInt64 = 1 << 0
    public static let sse: UInt64 = 1 << 1
    public static let avx: UInt64 = 1 << 2
    /// Opmask, ZMM_Hi256 and Hi16_ZMM: enabled together or not at all.
    public static let avx512: UInt64 = 0b111 << 5
    /// The components Tern will switch: user state in XSAVE's standard
    /// format, which fits in one frame (at most 2,696 bytes with AVX-512).
    /// Others (AMX's kilobytes, supervisor state) are hidden from guests.
    public static let switchable: UInt64 = x87 | sse | avx | avx512
    // Control-register bits for this state (APM vol. 2, 3.1.1 and 3.1.3).
    public static let cr0MP: UInt64 = 1 << 1       // WAIT honours TS
    public static let cr0EM: UInt64 = 1 << 2       // x87 emulated: must be clear
    public static let cr0TS: UInt64 = 1 << 3       // task switched: #NM on use
    public static let cr4OSFXSR: UInt64 = 1 << 9   // FXSAVE/FXRSTOR cover SSE
    public static let cr4OSXSAVE: UInt64 = 1 << 18 // XSAVE, XGETBV, XSETBV usable
    /// XCR0 at reset: x87 only (APM vol. 2, 11.5.2).
    public static let resetXCR0: UInt64 = x87

    // The legacy region, FXSAVE's layout (APM vol. 2, 11.4.4): 512 bytes,
    // then XSAVE's 64-byte header (XSTATE_BV, XCOMP_BV, zeros).
    public static let legacyRegionBytes = 512
    public static let headerBytes = 64
    public static let fcwOffset = 0
    public static let mxcsrOffset = 24
    /// FNINIT's control word: every x87 exception masked, 64-bit precision.
    public static let fcwReset: UInt16 = 0x037F
    /// MXCSR at reset: every SSE exception masked, round to nearest.
    public static let mxcsrReset: UInt32 = 0x1F80

    /// The components Tern manages on a CPU whose XSAVE supports
    /// `supported` (CPUID 0xD.0 EDX:EAX): those it can switch, AVX only with
    /// SSE, AVX-512's three only all together and with AVX.
    public static func managedComponents(supported: UInt64) -> UInt64 {
        var managed = supported & switchable | x87 | sse
        if managed & avx == 0 || managed & avx512 != avx512 { managed &= ~avx512 }
        return managed
    }

    /// Whether a guest's XSETBV of `value` into XCR0 is allowed (the
    /// instruction's own rules, APM vol. 3 "XSETBV", within what Tern
    /// manages): x87 always set, nothing unmanaged, AVX only with SSE,
    /// AVX-512 all or nothing and only with AVX. Anything else is #GP.
    public static func isValidXCR0(_ value: UInt64, managed: UInt64) -> Bool {
        guard value & x87 != 0, value & ~managed == 0 else { return false }
        if value & avx != 0 && value & sse == 0 { return false }
        let wide = value & avx512
        if wide != 0 && (wide != avx512 || value & avx == 0) { return false }
        return true
    }

    /// Writes a new vCPU's save area: all zero (every component in its
    /// initial state: XSTATE_BV is 0, so XRSTOR loads the reset values),
    /// except the control words that FXRSTOR and XRSTOR take from the
    /// legacy region whatever XSTATE_BV says.
    public static func initialize(_ area: UnsafeMutableRawBufferPointer) {
        precondition(area.count >= legacyRegionBytes + headerBytes)
        // SAFETY: `area` is at least 576 bytes (checked above); both stores
        // are within its legacy region, at their natural alignment.
        area.initializeMemory(as: UInt8.self, repeating: 0)
        area.storeBytes(of: fcwReset, toByteOffset: fcwOffset, as: UInt16.self)
        area.storeBytes(of: mxcsrReset, toByteOffset: mxcsrOffset, as: UInt32.self)
    }
}
