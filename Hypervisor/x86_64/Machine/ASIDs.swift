import TernCore

/// Address-space IDs tag guest TLB entries (AMD APM vol. 2, 15.16). The
/// CPU may have few (QEMU's EPYC model: 16, of which ASID 0 is the host's),
/// fewer than Tern's domains, so they are shared: a vCPU gets ASID
/// 1 + (domain id - 1) mod (count - 1), and when an ASID last ran a
/// different vCPU, that ASID's TLB entries are flushed before VMRUN.
enum ASIDs {

    static func prepare(_ vcpu: VCPU, _ vmcb: VMCB) {
        let usable = max(1, Int(SVM.asidCount) - 1)
        if owner.count != usable + 1 { owner = [UInt32](repeating: 0, count: usable + 1) }
        let asid = 1 + (Int(vcpu.domainID) - 1 + usable) % usable
        let tag = (UInt32(vcpu.domainID) << 8 | UInt32(vcpu.index & 0xFF)) + 1
        if owner[asid] != tag || vcpu.context.flushTLB {
            owner[asid] = tag
            vmcb.tlbControl = VMCB.tlbFlushGuest
        } else {
            vmcb.tlbControl = 0
        }
        vmcb.asid = UInt32(asid)
        vcpu.context.flushTLB = false
    }

    /// A destroyed domain's tag must not match a later domain with its id.
    static func forget(domainID: UInt16) {
        for i in owner.indices where owner[i] != 0 && (owner[i] - 1) >> 8 == UInt32(domainID) { owner[i] = 0 }
    }
}
