import TernABI

/// Options on a guest boot module's command line, as in
/// `module2 /guests/hello.elf name=hello mem=4M weight=256 -- count=5`.
/// The first token (the path) names the guest when there is no `name=`.
/// Everything after ` -- ` is the guest's own command line (its start-info
/// `cmdline`); before it, only Tern's options are allowed, so a typo such
/// as `memory=4M` is refused rather than silently handed to the guest.
/// Problems are collected with their place so that the boot log can say
/// what and where; a module with problems is not started.
public struct ModuleOptions: Equatable {
    public static let defaultMemory: UInt64 = 4 << 20
    public static let maxWeight = 65535

    public var name: [UInt8] = []
    public var memoryBytes: UInt64 = ModuleOptions.defaultMemory
    public var weight = Scheduler.defaultWeight
    /// `emulate=uart`: devices Tern emulates for the guest beyond the PV
    /// ones (Core/Emulation.swift). `uart`: a 16550 on COM1, whose lines
    /// show on Tern's console as the guest's. (A virtual LAPIC comes with
    /// Linux guests: a PV guest's upcall does not go through one.)
    public var emulation: Emulation = []
    public var guestCommandLine: [UInt8] = []
    /// `channel=NAME` (repeatable): at boot, Tern (as the toolstack) adds a
    /// TERN_DEVICE_CHANNEL from this guest (frontend) to the guest named
    /// NAME (backend), devid 0, 1, ... in order (docs/abi.md).
    public var channels: [[UInt8]] = []
    public static let maxChannels = Int(TERN_DEVICE_CONTROL_PAGES) - 1
    /// `role=dom0`: this module is Dom0's kernel; `role=dom0-initrd`: its
    /// initramfs. `role=linux`: a Linux kernel (its uncompressed vmlinux,
    /// with a PVH entry note) as an unprivileged guest
    /// (LinuxGuestBuilder); `role=linux-initrd`: the initramfs of the
    /// `role=linux` module just before it. Default: a PV guest.
    public enum Role: Equatable { case guest, dom0Kernel, dom0Initrd, linuxKernel, linuxInitrd }
    public var role = Role.guest
    public var problems: [BootOptions.Problem] = []

    public init(parsing line: UnsafeRawBufferPointer) {
        var first = true
        forEachToken(in: line) { token, offset, end in
            if token.equals("--") {
                var rest = end
                while rest < line.count && line[rest] == UInt8(ascii: " ") { rest += 1 }
                var stop = rest
                while stop < line.count && line[stop] != 0 { stop += 1 }
                guestCommandLine = Array(line[rest..<stop])
                return false
            }
            if first && !token.contains(UInt8(ascii: "=")) {
                name = ModuleOptions.baseName(token)
            } else {
                apply(token, offset: offset)
            }
            first = false
            return true
        }
        if name.isEmpty { name = Array("guest".utf8) }
    }

    private mutating func apply(_ token: UnsafeRawBufferPointer, offset: Int) {
        let problem = BootOptions.Problem(kind: .badValue, offset: offset, length: token.count)
        guard let equals = token.firstIndex(of: UInt8(ascii: "=")) else {
            problems.append(BootOptions.Problem(kind: .unknownOption, offset: offset, length: token.count))
            return
        }
        let key = UnsafeRawBufferPointer(rebasing: token[0..<equals])
        let value = UnsafeRawBufferPointer(rebasing: token[(equals + 1)...])
        if key.equals("name") {
            guard ModuleOptions.isValidName(value) else { problems.append(problem); return }
            name = Array(value)
        } else if key.equals("mem") {
            guard let bytes = ModuleOptions.size(value) else { problems.append(problem); return }
            memoryBytes = bytes
        } else if key.equals("role") {
            switch true {
            case value.equals("guest"): role = .guest
            case value.equals("dom0"): role = .dom0Kernel
            case value.equals("dom0-initrd"): role = .dom0Initrd
            case value.equals("linux"): role = .linuxKernel
            case value.equals("linux-initrd"): role = .linuxInitrd
            default: problems.append(problem)
            }
        } else if key.equals("channel") {
            guard ModuleOptions.isValidName(value), channels.count < ModuleOptions.maxChannels else { problems.append(problem); return }
            channels.append(Array(value))
        } else if key.equals("emulate") {
            guard value.equals("uart") else { problems.append(problem); return }
            emulation.insert(.serialPort)
        } else if key.equals("weight") {
            guard let w = ModuleOptions.number(value), w >= 1, w <= UInt64(ModuleOptions.maxWeight) else {
                problems.append(problem)
                return
            }
            weight = Int(w)
        } else {
            problems.append(BootOptions.Problem(kind: .unknownOption, offset: offset, length: token.count))
        }
    }

    /// 1-31 characters from [A-Za-z0-9._-].
    static func isValidName(_ value: UnsafeRawBufferPointer) -> Bool {
        guard value.count >= 1, value.count <= Int(Domain.nameCapacity) else { return false }
        for byte in value {
            let ok = (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: ".")
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
            if !ok { return false }
        }
        return true
    }

    /// "/guests/hello.elf" -> "hello" (cut to a valid name).
    static func baseName(_ path: UnsafeRawBufferPointer) -> [UInt8] {
        var start = 0
        for (i, byte) in path.enumerated() where byte == UInt8(ascii: "/") { start = i + 1 }
        var result: [UInt8] = []
        for byte in path[start...] {
            if byte == UInt8(ascii: ".") || result.count == Int(Domain.nameCapacity) { break }
            result.append(byte)
        }
        return result.withUnsafeBytes { isValidName($0) } ? result : []
    }

    static func number(_ text: UnsafeRawBufferPointer) -> UInt64? {
        guard !text.isEmpty, text.count <= 19 else { return nil }
        var value: UInt64 = 0
        for byte in text {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + UInt64(byte - UInt8(ascii: "0"))
        }
        return value
    }

    /// "4096", "512K", "4M", "1G" (binary units) -> bytes; nil if malformed
    /// or absurd (over 1 TiB).
    static func size(_ text: UnsafeRawBufferPointer) -> UInt64? {
        guard let last = text.last else { return nil }
        var shift: UInt64 = 0
        var digits = text
        switch last {
        case UInt8(ascii: "K"), UInt8(ascii: "k"): shift = 10
        case UInt8(ascii: "M"), UInt8(ascii: "m"): shift = 20
        case UInt8(ascii: "G"), UInt8(ascii: "g"): shift = 30
        default: break
        }
        if shift != 0 { digits = UnsafeRawBufferPointer(rebasing: text[0..<(text.count - 1)]) }
        guard let n = number(digits), n > 0, n <= (1 << 40) >> shift else { return nil }
        return n << shift
    }
}
