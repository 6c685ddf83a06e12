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
    static let linuxGuestEmulation: Emulation = [.localAPIC, .tscDeadlineTimer, .serialPort, .virtualPIC, .cmosClock, .pitChannel2]

    static func createLinuxFromModule(_ kernel: BootInfo.Module, initrd: BootInfo.Module?) {
        guard let (options, image) = moduleToStart(kernel) else { return }
        let initrdBytes = initrd.flatMap { PhysicalWindow.directMap.bytes(at: $0.range.start, count: Int($0.range.length)) }
        switch buildLinux(name: options.name, memoryBytes: options.memoryBytes, weight: options.weight,
                          kernel: image, initrd: initrdBytes, commandLine: options.guestCommandLine) {
        case .success(let domain):
            start(domain)
        case .failure(let failure):
            options.name.withUnsafeBytes { name in
                switch failure {
                case .noFreeID: Log.error("module \(text: name): no free domain id")
                case .linux(let error): Log.error("module \(text: name): cannot build the Linux guest: \(error.message)")
                case .build(let error): Log.error("module \(text: name): cannot build the Linux guest: \(error.message)")
                case .noVMCB: Log.error("module \(text: name): no memory for its VMCB")
                }
            }
        }
    }

    /// A new Linux guest in the table, built and paused (`start` runs it),
    /// from a boot module or TERN_HC_DOMAIN_CREATE. Tern gives it the TSC's
    /// frequency on its command line (tsc_khz=, as Dom0). Logs what it
    /// took; on failure nothing of it is left.
    static func buildLinux(name: [UInt8], memoryBytes: UInt64, weight: Int, kernel: UnsafeRawBufferPointer,
                           initrd: UnsafeRawBufferPointer?, commandLine: [UInt8]) -> Result<Domain, BuildFailure> {
        guard let id = freeID() else { return .failure(.noFreeID) }
        // The page every guest's APIC_BASE names (Dom0's set it already:
        // the physical one, the same architectural address).
        if LocalAPICEmulation.page == 0 { LocalAPICEmulation.page = GuestMSRs.apicPage }
        let domain = Domain(id: id, name: name, privileged: false, weight: weight)
        _ = domain.chooseEmulation(linuxGuestEmulation)
        domain.timing.buildStart = tern_rdtsc()
        domain.createdNanoseconds = SystemTime.nowNanoseconds()
        let freeBefore = Platform.frames!.freeFrames
        let start: LinuxGuestBuilder.StartState
        do throws(LinuxGuestBuilder.Error) {
            start = try LinuxGuestBuilder.build(domain: domain, memoryBytes: memoryBytes, kernel: kernel,
                                                initrd: initrd, commandLine: withTSCFrequency(commandLine),
                                                localAPICAddress: UInt32(LocalAPICEmulation.page),
                                                host: PhysicalWindow.directMap, frames: &Platform.frames!)
        } catch {
            return .failure(.linux(error))
        }
        guard setUpVCPU(domain, .pvh32(start)) else {
            DomainBuilder.release(domain, allocator: &Platform.frames!)
            return .failure(.noVMCB)
        }
        addToTable(domain)
        let used = freeBefore - Platform.frames!.freeFrames
        name.withUnsafeBytes { text in
            Log.info("d\(id) \(text: text): created, a Linux guest, \(bytes: domain.memoryBytes) RAM at 0, PVH entry \(hex: start.entry), start info at \(hex: start.startInfo), \(used) frames (free now \(Platform.frames!.freeFrames))")
        }
        return .success(domain)
    }
}
