import TernCore
import TernCPU

/// AMD SVM bring-up (AMD APM vol. 2, 15.4 "Enabling SVM"): check the CPU,
/// set EFER.SVME, give the CPU its host save area, and build the shared
/// permission maps that deny every I/O port and MSR by default.
enum SVM {
    static let vmCRMSR: UInt32 = 0xC001_0114
    static let vmCRDisabled: UInt64 = 1 << 4        // SVMDIS: firmware locked SVM off
    static let hostSaveAreaMSR: UInt32 = 0xC001_0117 // VM_HSAVE_PA
    static let eferMSR: UInt32 = 0xC000_0080
    static let eferSVME = MSRExit.eferSVME     // APM vol. 2, 15.4
    static let cpuidExtendedFeatures: UInt32 = 0x8000_0001
    static let cpuidSVMFeatures: UInt32 = 0x8000_000A
    static let extECXSVM: UInt32 = 1 << 2
    static let svmEDXNestedPaging: UInt32 = 1 << 0

    enum EnableError {
        case noSVM
        case noNestedPaging
        case disabledByFirmware
        case noMemory
    }

    static func enable() -> EnableError? {
        guard tern_cpuid(cpuidExtendedFeatures, 0).ecx & extECXSVM != 0 else { return .noSVM }
        let features = tern_cpuid(cpuidSVMFeatures, 0)
        guard features.edx & svmEDXNestedPaging != 0 else { return .noNestedPaging }
        guard tern_rdmsr(vmCRMSR) & vmCRDisabled == 0 else { return .disabledByFirmware }
        asidCount = features.ebx
        tern_wrmsr(eferMSR, tern_rdmsr(eferMSR) | eferSVME)

        let memory = PhysicalWindow.directMap
        guard let save = Platform.allocateFrame(), let host = Platform.allocateFrame(),
              let io = Platform.frames?.allocateContiguous(count: PermissionMaps.ioPages),
              let msr = Platform.frames?.allocateContiguous(count: PermissionMaps.msrPages),
              let ioBytes = memory.mutableBytes(at: io, count: PermissionMaps.ioPages * Int(Layout.pageSize)),
              let msrBytes = memory.mutableBytes(at: msr, count: PermissionMaps.msrPages * Int(Layout.pageSize)),
              let saveBytes = memory.mutableBytes(at: save, count: Int(Layout.pageSize)),
              let hostBytes = memory.mutableBytes(at: host, count: Int(Layout.pageSize)) else {
            return .noMemory
        }
        // SAFETY: four runs of frames just allocated, each reached through
        // the direct map for exactly its size (mutableBytes checked).
        saveBytes.initializeMemory(as: UInt8.self, repeating: 0)
        hostBytes.initializeMemory(as: UInt8.self, repeating: 0)
        ioBytes.initializeMemory(as: UInt8.self, repeating: 0xFF)
        msrBytes.initializeMemory(as: UInt8.self, repeating: 0xFF)
        for msr in GuestMSRs.passThrough { PermissionMaps.allow(msr: msr, in: msrBytes) }

        tern_wrmsr(hostSaveAreaMSR, save)
        tern_vmsave(host)   // after the TSS is loaded: TR must be Tern's
        hostSaveArea = save
        hostState = host
        ioPermissionMap = io
        msrPermissionMap = msr
        return nil
    }

    static func message(_ error: EnableError) -> LogMessage {
        switch error {
        case .noSVM: return "Tern needs AMD SVM with nested paging; this CPU has no SVM (in QEMU use -cpu EPYC)"
        case .noNestedPaging: return "Tern needs AMD SVM with nested paging; this CPU has SVM but no nested paging (in QEMU use -cpu EPYC)"
        case .disabledByFirmware: return "SVM is disabled by the firmware (VM_CR.SVMDIS); enable virtualization in the BIOS setup"
        case .noMemory: return "no memory for the SVM host save area and permission maps"
        }
    }
}
