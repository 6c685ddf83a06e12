import TernCore

/// How a new vCPU starts: where its builder left it.
enum VCPUStart {
    /// A guest as DomainBuilder laid it out: 64-bit long mode, paging on
    /// (the guest's identity map), CPL 0, IF=0, RDI = start info.
    case pv64(DomainBuilder.StartState)
    /// A Linux (Dom0 or a Linux guest) at its PVH entry (Xen's
    /// docs/misc/pvh.pandoc): 32-bit protected mode, paging off, flat
    /// CS/DS/SS, a busy 32-bit TSS, EBX = start info.
    case pvh32(PVHLoader.StartState)
}

/// A domain's first vCPU: its VMCB, its x87/SSE/AVX save area (and, for the domain that owns the
/// hardware, its own I/O permission map), in the start state its builder
/// chose.
extension Domains {
    /// Adds vCPU 0 to `domain`, its VMCB set up to start as `start` says;
    /// false if there is no memory for it (what it took is the domain's).
    static func setUpVCPU(_ domain: Domain, _ start: VCPUStart) -> Bool {
        guard let frame = Platform.allocateFrame(), let page = PhysicalWindow.directMap.frame(frame) else { return false }
        domain.addOverheadFrame(frame)
        guard let stateFrame = Platform.allocateFrame(), let statePage = PhysicalWindow.directMap.frame(stateFrame) else { return false }
        domain.addOverheadFrame(stateFrame)
        var ioPermissionMap = SVM.ioPermissionMap
        if domain.emulation.contains(.hardware) {
            guard let io = hardwareIOPermissionMap(domain) else { return false }
            ioPermissionMap = io
        }
        // SAFETY: `page` is the frame just allocated, 4 KiB (frame() checked).
        page.initializeMemory(as: UInt8.self, repeating: 0, count: Int(Layout.pageSize))
        let vmcb = VMCB(base: page)
        configureControls(vmcb, domain: domain, ioPermissionMap: ioPermissionMap)
        configureVMCB(vmcb, for: start)
        vmcb.markAllDirty()

        let vcpu = VCPU(domainID: domain.id, index: 0)
        LocalAPICEmulation.attach(to: vcpu, of: domain)
        GuestFPU.attach(statePage, to: vcpu)
        vcpu.context.vmcb = frame
        vcpu.context.vmcbPage = page
        switch start {
        case .pv64(let state): vcpu.context.registers.rdi = state.startInfo   // the entry's first argument
        case .pvh32(let state): vcpu.context.registers.rbx = state.startInfo
        }
        domain.addVCPU(vcpu)
        return true
    }

    /// The guest state of a zeroed VMCB: segments, control registers, EFER
    /// and the entry point.
    static func configureVMCB(_ vmcb: VMCB, for start: VCPUStart) {
        let flat: UInt32 = 0xFFFF_FFFF
        let tssLimit = UInt32(Descriptors.tssSize - 1)
        let code: VMCB.Segment, data: VMCB.Segment, tss: VMCB.Segment
        switch start {
        case .pv64(let state):
            code = VMCB.Segment(selector: Layout.Selector.code64, attributes: SegmentAttributes.code64, limit: flat, base: 0)
            data = VMCB.Segment(selector: Layout.Selector.data, attributes: SegmentAttributes.data, limit: flat, base: 0)
            tss = VMCB.Segment(selector: 0, attributes: SegmentAttributes.tss64Busy, limit: tssLimit, base: 0)
            vmcb.setSegment(.gdtr, VMCB.Segment(selector: 0, attributes: 0, limit: UInt32(state.gdtLimit), base: state.gdtBase))
            vmcb.setSegment(.idtr, VMCB.Segment(selector: 0, attributes: 0, limit: 0, base: 0))
            vmcb.cr0 = GuestCPU.cr0
            vmcb.cr3 = state.pageTableRoot
            vmcb.cr4 = GuestCPU.cr4
            vmcb.efer = GuestCPU.efer
            vmcb.rip = state.entry
            vmcb.rsp = state.stackTop
            vmcb.rax = 0
            vmcb.cpl = 0
        case .pvh32(let state):
            code = VMCB.Segment(selector: Layout.PVHSelector.code32, attributes: SegmentAttributes.code32, limit: flat, base: 0)
            data = VMCB.Segment(selector: Layout.PVHSelector.data, attributes: SegmentAttributes.data, limit: flat, base: 0)
            tss = VMCB.Segment(selector: Layout.PVHSelector.tss, attributes: SegmentAttributes.tss64Busy, limit: tssLimit, base: 0)
            vmcb.cr0 = PVHCPU.cr0
            vmcb.cr4 = 0
            vmcb.efer = SVM.eferSVME
            vmcb.rip = UInt64(state.entry)
        }
        vmcb.setSegment(.cs, code)
        for register in [VMCB.SegmentRegister.ds, .es, .ss, .fs, .gs] { vmcb.setSegment(register, data) }
        vmcb.setSegment(.tr, tss)
        vmcb.setSegment(.ldtr, VMCB.Segment(selector: 0, attributes: SegmentAttributes.ldt, limit: 0, base: 0))
        vmcb.guestPAT = GuestCPU.pat
        vmcb.dr6 = GuestCPU.dr6
        vmcb.dr7 = GuestCPU.dr7
        vmcb.rflags = GuestCPU.rflags
    }

    /// The domain that owns the hardware (Dom0) drives it: an I/O
    /// permission map of its own that passes every port but those of its
    /// emulated devices (COM1 for its virtual UART, the 8259s it programs
    /// through Tern's watch: EmulatedDevices). Its frames are the domain's;
    /// nil if no memory.
    static func hardwareIOPermissionMap(_ domain: Domain) -> UInt64? {
        guard let io = Platform.frames?.allocateContiguous(count: PermissionMaps.ioPages),
              let ioBytes = PhysicalWindow.directMap.mutableBytes(at: io, count: PermissionMaps.ioPages * Int(Layout.pageSize)) else {
            return nil
        }
        for i in 0..<PermissionMaps.ioPages { domain.addOverheadFrame(io + UInt64(i) * Layout.pageSize) }
        // SAFETY: ioBytes is the run just allocated, checked for its size.
        ioBytes.initializeMemory(as: UInt8.self, repeating: 0)
        if domain.emulation.contains(.serialPort) {
            for port in EmulatedDevices.serialPorts { PermissionMaps.deny(port: port, in: ioBytes) }
        }
        if domain.emulation.contains(.legacyPICWatch) {
            for port in EmulatedDevices.legacyPICPorts { PermissionMaps.deny(port: port, in: ioBytes) }
        }
        ioBytes[ioBytes.count - 1] = 0xFF   // the bits past port 0xFFFF stay set (APM 15.10.1)
        return io
    }

    /// What every guest vCPU intercepts, and its maps. INTR with
    /// V_INTR_MASKING: a host interrupt always stops the guest, whatever its
    /// IF. ASID and TLB control are set before each VMRUN (ASIDs.swift).
    static func configureControls(_ vmcb: VMCB, domain: Domain, ioPermissionMap: UInt64) {
        vmcb.misc1 = [.intr, .nmi, .smi, .initSignal, .cpuid, .invd, .hlt, .invlpga, .ioio, .msr, .taskSwitch,
                      .ferrFreeze, .shutdown]
        vmcb.misc2 = [.vmrun, .vmmcall, .vmload, .vmsave, .stgi, .clgi, .skinit, .icebp, .monitor, .mwait,
                      .mwaitArmed, .xsetbv]
        vmcb.iopmBase = ioPermissionMap
        vmcb.msrpmBase = SVM.msrPermissionMap
        vmcb.virtualInterrupt = VMCB.virtualInterruptMasking
        vmcb.nestedPaging = true
        vmcb.nestedCR3 = domain.nestedRoot
    }
}

/// PVH entry: protected mode only (PE, ET); Linux turns on paging itself.
enum PVHCPU {
    static let cr0: UInt64 = 1 << 0 | 1 << 4
}

/// A new guest vCPU's control registers (AMD APM vol. 2, 14.6): long mode
/// active with paging, write protection and NX; SVME must be set in the
/// guest's EFER for VMRUN (Tern hides it from the guest's RDMSR).
enum GuestCPU {
    static let cr0: UInt64 = 1 << 0 | 1 << 1 | 1 << 4 | 1 << 5 | 1 << 16 | 1 << 31   // PE MP ET NE WP PG
    static let cr4: UInt64 = 1 << 5                                              // PAE
    static let efer: UInt64 = 1 << 8 | 1 << 10 | 1 << 11 | SVM.eferSVME           // LME LMA NXE SVME
    static let pat: UInt64 = 0x0007_0406_0007_0406                               // the reset value
    static let dr6: UInt64 = 0xFFFF_0FF0
    static let dr7: UInt64 = 0x400
    static let rflags: UInt64 = 1 << 1                                           // reserved bit 1; IF=0
}
