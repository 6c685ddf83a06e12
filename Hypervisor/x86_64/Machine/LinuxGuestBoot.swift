import TernCore
import TernCPU

/// A Linux kernel as an unprivileged guest from boot modules (`role=linux`,
/// its initramfs `role=linux-initrd`; docs/porting.md, "Linux guests"):
/// built with the PVH loader's packed plan (LinuxGuestBuilder), a virtual
/// LAPIC and a virtual UART on COM1 (its console), and its vCPU started at
/// the PVH entry in 32-bit protected mode, as Dom0's.
extension Domains {
    /// The devices a Linux guest gets: its interrupt controllers (a LAPIC,
    /// and an 8259 pair of Tern's own for the UART's IRQ 4) and its
    /// console. No `.hardware` (ports it does not own read all ones, MSRs
    /// Tern does not model are #GP) and no 8259 watch (which reaches the
    /// real chips).
    static let linuxGuestEmulation: Emulation = [.localAPIC, .tscDeadlineTimer, .serialPort, .virtualPIC]

    static func createLinuxFromModule(_ kernel: BootInfo.Module, initrd: BootInfo.Module?) {
        guard let (options, image) = moduleToStart(kernel) else { return }
        let label = options.name
        let initrdBytes = initrd.flatMap { PhysicalWindow.directMap.bytes(at: $0.range.start, count: Int($0.range.length)) }
        guard let id = freeID() else {
            label.withUnsafeBytes { Log.error("module \(text: $0): no free domain id") }
            return
        }
        // The page every guest's APIC_BASE names (Dom0's set it already:
        // the physical one, the same architectural address).
        if LocalAPICEmulation.page == 0 { LocalAPICEmulation.page = GuestMSRs.apicPage }
        let domain = Domain(id: id, name: label, privileged: false, weight: options.weight)
        _ = domain.chooseEmulation(linuxGuestEmulation)
        domain.timing.buildStart = tern_rdtsc()
        domain.createdNanoseconds = SystemTime.nowNanoseconds()
        let commandLine = withTSCFrequency(options.guestCommandLine)
        let freeBefore = Platform.frames!.freeFrames
        var built: LinuxGuestBuilder.StartState?
        var failure: LinuxGuestBuilder.Error?
        do throws(LinuxGuestBuilder.Error) {
            built = try LinuxGuestBuilder.build(domain: domain, memoryBytes: options.memoryBytes, kernel: image,
                                                initrd: initrdBytes, commandLine: commandLine,
                                                localAPICAddress: UInt32(LocalAPICEmulation.page),
                                                host: PhysicalWindow.directMap, frames: &Platform.frames!)
        } catch {
            failure = error
        }
        guard let start = built else {
            label.withUnsafeBytes { Log.error("module \(text: $0): cannot build the Linux guest: \(failure!.message)") }
            return
        }
        guard setUpVCPU(domain, .pvh32(start)) else {
            DomainBuilder.release(domain, allocator: &Platform.frames!)
            label.withUnsafeBytes { Log.error("module \(text: $0): no memory for its VMCB") }
            return
        }
        table[Int(id)] = domain
        domain.markBuilt()
        for vcpu in domain.vcpus { scheduler.add(vcpu, weight: domain.weight) }
        domain.timing.built = tern_rdtsc()
        let used = freeBefore - Platform.frames!.freeFrames
        label.withUnsafeBytes { name in
            Log.info("d\(id) \(text: name): created, a Linux guest, \(bytes: domain.memoryBytes) RAM at 0, PVH entry \(hex: start.entry), start info at \(hex: start.startInfo), \(used) frames (free now \(Platform.frames!.freeFrames))")
        }
        Domains.start(domain)
    }
}
