import TernCore
import TernCPU

/// Each vCPU's x87/SSE/AVX registers are its own (ExtendedState). VMRUN
/// and #VMEXIT switch none of them (AMD APM vol. 2, 15.5.1), and Tern is
/// built without SSE, so the registers keep the state of the vCPU that ran
/// last: its "owner". Before a different vCPU runs, Tern saves the owner's
/// registers into the owner's area and loads the next one's (lazily: a
/// vCPU that runs again after its own exit costs nothing). XCR0 is part of
/// it: a guest sets it with XSETBV (intercepted and checked here; QEMU's
/// TCG lets it through), so Tern reads it back before a switch and loads
/// the next vCPU's. Without this, one domain read another's vector
/// registers and had its own changed under it (hostile `mode=vectors`;
/// busybox's init segfaulting in CI was a memcpy whose XMM registers
/// another Linux overwrote mid-copy).
enum GuestFPU {
    static let cpuidFeatures: UInt32 = 1
    static let leaf1ECXXSAVE: UInt32 = 1 << 26
    static let leaf1EDXFXSR: UInt32 = 1 << 24
    static let extendedStateLeaf: UInt32 = 0xD
    static let xcr0: UInt32 = 0
    static let xsetbvLength: UInt64 = 3   // 0F 01 D1

    enum EnableError { case noFXSR, areaTooLarge(UInt64) }

    /// At boot, before any guest: makes the host able to save and load the
    /// state (CR0.EM and TS clear, CR4.OSFXSR, and CR4.OSXSAVE with XCR0 =
    /// every managed component) and learns the area's size.
    static func enable() -> EnableError? {
        let features = tern_cpuid(cpuidFeatures, 0)
        guard features.edx & leaf1EDXFXSR != 0 else { return .noFXSR }
        tern_write_cr0(tern_read_cr0() & ~(ExtendedState.cr0EM | ExtendedState.cr0TS) | ExtendedState.cr0MP)
        var cr4 = tern_read_cr4() | ExtendedState.cr4OSFXSR
        hasXSAVE = features.ecx & leaf1ECXXSAVE != 0
        if hasXSAVE { cr4 |= ExtendedState.cr4OSXSAVE }
        tern_write_cr4(cr4)
        guard hasXSAVE else { return nil }
        let leaf = tern_cpuid(extendedStateLeaf, 0)
        managed = ExtendedState.managedComponents(supported: UInt64(leaf.edx) << 32 | UInt64(leaf.eax))
        tern_xsetbv(xcr0, managed)
        areaBytes = Int(tern_cpuid(extendedStateLeaf, 0).ebx)   // the size for the XCR0 just set
        guard areaBytes <= Int(Layout.pageSize) else { return .areaTooLarge(UInt64(areaBytes)) }
        return nil
    }

    static func message(_ error: EnableError) -> LogMessage {
        switch error {
        case .noFXSR: return "this CPU has no FXSAVE/FXRSTOR: Tern cannot keep each guest's x87/SSE registers its own"
        case .areaTooLarge(let bytes): return "XSAVE needs \(bytes) bytes for the guests' vector registers, more than the one frame Tern gives each vCPU"
        }
    }

    /// What leaf 0xD shows a guest (CPUIDPolicy).
    static var limits: CPUIDPolicy.ExtendedStateLimits? {
        hasXSAVE ? CPUIDPolicy.ExtendedStateLimits(components: managed, bytes: UInt32(areaBytes)) : nil
    }

    /// A new vCPU's area in `page` (a frame of its domain's): the reset state.
    static func attach(_ page: UnsafeMutableRawPointer, to vcpu: VCPU) {
        // SAFETY: `page` is a whole frame just allocated for this vCPU
        // (4 KiB, areaBytes fits: enable() checked it).
        ExtendedState.initialize(UnsafeMutableRawBufferPointer(start: page, count: Int(Layout.pageSize)))
        vcpu.context.extendedStateArea = page
        vcpu.context.xcr0 = ExtendedState.resetXCR0
    }

    /// Before `vcpu` runs: if another vCPU's state is in the registers,
    /// save it into that vCPU's area and load this one's.
    static func switchTo(_ vcpu: VCPU) {
        if owner === vcpu { return }
        guard let area = vcpu.context.extendedStateArea else { return }
        if hasXSAVE {
            if let previous = owner, let saved = previous.context.extendedStateArea {
                previous.context.xcr0 = tern_xgetbv(xcr0)
                // With every managed component enabled, so that what a guest
                // turned off is kept as well (XSAVE saves only what XCR0 has).
                if previous.context.xcr0 != managed { tern_xsetbv(xcr0, managed) }
                // SAFETY: `saved` is the previous owner's area, a frame of
                // its own that lives while the vCPU does (forget() drops the
                // owner before its frames go), 64-byte aligned.
                tern_xsave(saved, managed)
            } else if tern_xgetbv(xcr0) != managed {
                tern_xsetbv(xcr0, managed)
            }
            // SAFETY: this vCPU's area, a frame of its own, 64-byte aligned,
            // holding what XSAVE wrote or ExtendedState.initialize's reset state.
            tern_xrstor(area, managed)
            if vcpu.context.xcr0 != managed { tern_xsetbv(xcr0, vcpu.context.xcr0) }
        } else {
            if let previous = owner, let saved = previous.context.extendedStateArea {
                // SAFETY: as above; FXSAVE needs 512 bytes, 16-byte aligned.
                tern_fxsave(saved)
            }
            // SAFETY: as above.
            tern_fxrstor(area)
        }
        owner = vcpu
    }

    /// A domain's vCPUs are going with its frames: none of them may be
    /// saved into its area after this. (Their values stay in the registers
    /// until the next switchTo() overwrites every managed component.)
    static func forget(_ domain: Domain) {
        for vcpu in domain.vcpus where owner === vcpu { owner = nil }
    }

    /// XSETBV (intercepted, APM vol. 2, 15.9): XCR0 only, to a value
    /// ExtendedState allows; else #GP, as the CPU would.
    static func xsetbv(_ vcpu: VCPU, _ vmcb: VMCB) -> Bool {
        let index = UInt32(truncatingIfNeeded: vcpu.context.registers.rcx)
        let value = UInt64(UInt32(truncatingIfNeeded: vcpu.context.registers.rdx)) << 32
            | UInt64(UInt32(truncatingIfNeeded: vmcb.rax))   // EDX:EAX
        guard hasXSAVE, index == xcr0, ExtendedState.isValidXCR0(value, managed: managed) else { return false }
        tern_xsetbv(xcr0, value)
        vcpu.context.xcr0 = value
        vmcb.rip &+= xsetbvLength
        return true
    }
}
