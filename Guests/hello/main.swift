import TernGuestC

/// The smallest Tern guest: says hello, shows what it was given, checks
/// the hypervisor's CPUID signature and that Dom0's control calls are
/// refused to it, and powers off.
@_cdecl("tern_guest_main")
func guestMain(_ startInfo: UnsafeMutableRawPointer) -> Int64 {
    let info = StartInfo(startInfo)
    guard info.isValid else { return Int64(TERN_SHUTDOWN_CRASH) }
    print("hello from a Tern guest: domain \(info.domid), \(info.memoryBytes >> 20) MiB, ABI version \(Tern.abiVersion())")
    print("start info: console \(consoleName(info.console)), free from \(info.page.pointee.free_gpa)")
    let signature = tern_guest_cpuid(TERN_CPUID_LEAF_BASE, 0)
    let hypervisorBit = tern_guest_cpuid(1, 0).ecx >> 31
    print("cpuid: signature \(signature.ebx == TERN_CPUID_SIGNATURE ? "Tern" : "unknown"), hypervisor bit \(hypervisorBit), SVM hidden: \(tern_guest_cpuid(0x8000_0001, 0).ecx & 4 == 0)")
    var domain = tern_domain_info()
    let status = withUnsafeMutablePointer(to: &domain) {
        Tern.hypercall(TERN_HC_DOMAIN_INFO, UInt64(TERN_DOMID_SELF), UInt64(UInt(bitPattern: $0)))
    }
    print("domain info: status \(status), id \(domain.domid), \(domain.memory_bytes >> 20) MiB, state \(domain.state)")
    // Dom0's control calls are refused to a guest (-EPERM = -1), before
    // any pointer is looked at.
    var log = tern_log_read(buffer_gpa: 0, size: 0, reserved: 0, position: 0, lost: 0, end: 0)
    let list = Tern.hypercall(TERN_HC_DOMAIN_LIST, 0, 0, 0)
    let dmesg = withUnsafeMutablePointer(to: &log) { Tern.hypercall(TERN_HC_LOG_READ, UInt64(UInt(bitPattern: $0))) }
    print("control calls: domain list \(list), log read \(dmesg)")
    print("uart: \(helloOverCOM1(domid: info.domid) ? "16550 on COM1" : "none")")
    print("goodbye")
    return Int64(TERN_SHUTDOWN_POWEROFF)
}

/// COM1's data port and line status register (a 16550's), and LSR's
/// "transmit holding register empty" bit.
let com1Data: UInt16 = 0x3F8
let com1LineStatus: UInt16 = 0x3FD
let transmitterEmpty: UInt8 = 0x20

/// Says hello on COM1 if Tern emulates one for this guest (boot module
/// option `emulate=uart`): the line shows on Tern's console as this
/// guest's. Without one the port reads all ones (an empty bus).
func helloOverCOM1(domid: UInt32) -> Bool {
    guard tern_guest_inb(com1LineStatus) != 0xFF else { return false }
    for byte in "hello over COM1 from domain \(domid)\n".utf8 {
        while tern_guest_inb(com1LineStatus) & transmitterEmpty == 0 {}
        tern_guest_outb(com1Data, byte)
    }
    return true
}

/// The TERN_CONSOLE_* bits by name, joined by "+" ("hypercall+device").
func consoleName(_ bits: UInt32) -> String {
    var names: [String] = []
    if bits & UInt32(TERN_CONSOLE_HYPERCALL) != 0 { names.append("hypercall") }
    if bits & UInt32(TERN_CONSOLE_DEVICE) != 0 { names.append("device") }
    if bits & ~UInt32(TERN_CONSOLE_HYPERCALL | TERN_CONSOLE_DEVICE) != 0 { names.append("unknown") }
    if names.isEmpty { return "none" }
    var joined = names[0]
    for name in names.dropFirst() { joined += "+" + name }
    return joined
}
