import TernGuestC

/// Misbehaves on purpose, as `mode=` says, so the boot tests can check
/// that Tern contains it and everything else keeps running:
///   triplefault  no IDT, then a breakpoint: #BP -> #DF -> shutdown
///   badmem       maps a 2 MiB page beyond its memory and reads it (NPF)
///   badcall      unknown hypercall and bad arguments (errors expected)
///   badptr       hostile pointers to hypercalls (-EFAULT expected)
///   grants, rowrite, closetwice, foreignport, corrupt
///                as the backend of a `ping mode=victim` channel: grants
///                and ports not its own, a write through a read-only
///                grant, a corrupt ring (ChannelAttacks.swift)
///   timerstorm, timerpoll, timerfuzz
///                the timer, upcall and block calls (TimerAttacks.swift)
///   scribble, leakcheck
///                leaves a marker in its free memory / looks for one left
///                by an earlier guest (MemoryLeakCheck.swift)
///   vectors      its XMM registers start zero and keep its values while
///                others run (VectorRegisterCheck.swift)
@_cdecl("tern_guest_main")
func guestMain(_ startInfo: UnsafeMutableRawPointer) -> Int64 {
    let info = StartInfo(startInfo)
    let mode = info.option("mode") ?? []
    if let attack = ChannelAttack(mode: mode) {
        return attack.run()
    } else if let attack = TimerAttack(mode: mode) {
        return attack.run(info)
    } else if mode == Array("scribble".utf8) {
        return MemoryLeakCheck.scribble()
    } else if mode == Array("leakcheck".utf8) {
        return MemoryLeakCheck.check()
    } else if mode == Array("vectors".utf8) {
        return VectorRegisterCheck.run(info)
    } else if mode == Array("triplefault".utf8) {
        print("hostile: loading an empty IDT and raising #BP")
        tern_guest_console_flush()
        var idtr = [UInt8](repeating: 0, count: 10)
        idtr.withUnsafeMutableBytes { tern_guest_lidt($0.baseAddress) }
        tern_guest_int3()
        print("hostile: still alive after a triple fault?!")
    } else if mode == Array("badmem".utf8) {
        // The identity map's PD covering the first GiB: PML4[0] -> PDPT[0] -> PD.
        let pml4 = tern_guest_read_cr3() & ~0xFFF
        let pdpt = tern_guest_read64(pml4) & 0x000F_FFFF_FFFF_F000
        let pd = tern_guest_read64(pdpt) & 0x000F_FFFF_FFFF_F000
        let target: UInt64 = 0x3FE0_0000   // 1022 MiB: far beyond this guest's memory
        tern_guest_write64(pd + 511 * 8, target | 0x83)   // present, writable, 2 MiB page
        tern_guest_write_cr3(tern_guest_read_cr3())
        print("hostile: reading guest-physical \(target), outside my memory")
        tern_guest_console_flush()
        let value = tern_guest_read64(target)
        print("hostile: read \(value) from memory I do not own?!")
    } else if mode == Array("badcall".utf8) {
        print("hostile: unknown hypercall 999 -> \(Tern.hypercall(999))")
        print("hostile: unknown hypercall 2147483647 -> \(Tern.hypercall(Int32.max))")
        print("hostile: shutdown(reason 77) -> \(Tern.hypercall(TERN_HC_SHUTDOWN, 77))")
        print("hostile: set_upcall(vector 3) -> \(Tern.hypercall(TERN_HC_SET_UPCALL, 3))")
        print("hostile: domain_info(domain 1) -> \(Tern.hypercall(TERN_HC_DOMAIN_INFO, info.domid == 1 ? 2 : 1, 0x1000))")
        print("hostile: badcall done")
        return Int64(TERN_SHUTDOWN_POWEROFF)
    } else if mode == Array("badptr".utf8) {
        let top = info.memoryBytes
        print("hostile: console_write(hypervisor address) -> \(Tern.hypercall(TERN_HC_CONSOLE_WRITE, 0xFFFF_8800_0000_0000, 16))")
        print("hostile: console_write(beyond my memory) -> \(Tern.hypercall(TERN_HC_CONSOLE_WRITE, top, 16))")
        print("hostile: console_write(across my end) -> \(Tern.hypercall(TERN_HC_CONSOLE_WRITE, top - 8, 16))")
        print("hostile: console_write(wrapping) -> \(Tern.hypercall(TERN_HC_CONSOLE_WRITE, 0xFFFF_FFFF_FFFF_FFF0, 0x20))")
        print("hostile: console_write(another guest's frame) -> \(Tern.hypercall(TERN_HC_CONSOLE_WRITE, 0x4000_0000, 16))")
        print("hostile: console_write(huge length) -> \(Tern.hypercall(TERN_HC_CONSOLE_WRITE, 0x1000, 1 << 40))")
        print("hostile: time_info(beyond my memory) -> \(Tern.hypercall(TERN_HC_TIME_INFO, top))")
        print("hostile: domain_info(self, wrapping) -> \(Tern.hypercall(TERN_HC_DOMAIN_INFO, UInt64(TERN_DOMID_SELF), UInt64.max - 8))")
        print("hostile: badptr done")
        return Int64(TERN_SHUTDOWN_POWEROFF)
    } else {
        print("hostile: unknown mode; use mode=triplefault|badmem|badcall|badptr|grants|rowrite|closetwice|foreignport|corrupt|timerstorm|timerpoll|timerfuzz|scribble|leakcheck|vectors")
    }
    return Int64(TERN_SHUTDOWN_CRASH)
}
