import TernCore
import TernCPU

/// `bench=exits`: the cost of the bare VMRUN/#VMEXIT round trip on this
/// machine, to set against a full hypercall (the bench guest): the first
/// guest's vCPU is entered `emptyExitIterations` times, and each exit is
/// answered only by stepping over its VMMCALL, with no decoding, no
/// dispatch and no scheduling. Run once at boot, before scheduling; that
/// guest (Guests/bench with mode=loop) is then destroyed.
enum Benchmarks {
    static let emptyExitIterations = 20_000
    static let vmmcallLength: UInt64 = 3

    static func emptyExits() {
        guard let vcpu = Domains.scheduler.vcpus.first, let domain = Domains.domain(vcpu.domainID),
              let page = vcpu.context.vmcbPage else {
            Log.warning("bench=exits: no guest to run the empty exit loop on")
            return
        }
        let vmcb = VMCB(base: page)
        var vmmcalls = 0
        let start = tern_rdtsc()
        for _ in 0..<emptyExitIterations {
            RunLoop.enter(vcpu, domain, vmcb)
            if vmcb.exitCode == SVMExit.vmmcall {
                vmcb.rip &+= vmmcallLength
                vmmcalls += 1
            } else if vmcb.exitCode == SVMExit.intr {
                tern_take_pending_interrupts()
            }
        }
        let cycles = tern_rdtsc() &- start
        let us = BootPhases.microseconds(cycles: cycles, tscHz: Platform.tscHz)
        let perSecond = us == 0 ? 0 : UInt64(emptyExitIterations) * 1_000_000 / us
        domain.markStopped(.shutdown, tsc: tern_rdtsc())
        Domains.destroy(domain)
        Log.info("bench: empty VMRUN/#VMEXIT loop: \(emptyExitIterations) exits (\(vmmcalls) VMMCALL) in \(us) us: \(perSecond) per second, \(us * 1000 / UInt64(emptyExitIterations)) ns each")
    }
}
