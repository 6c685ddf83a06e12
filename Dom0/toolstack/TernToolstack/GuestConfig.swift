import TernABI
/// A guest's config (docs/toolstack.md): a file of `key = value` lines
/// (ConfigSyntax), xl.cfg-like,
///
///     # comment
///     name = "hello"
///     kernel = "/usr/lib/tern/guests/hello.elf"
///     ramdisk = "..."     # a Linux guest's initramfs
///     memory = 4          # MiB (a Linux guest: 128)
///     vcpus = 1
///     cmdline = "count=5"
///     weight = 256
///     devices = []
///     on_poweroff = "destroy"
///     on_reboot = "restart"
///     on_crash = "destroy"
///
/// and `tern create`'s `key=value` arguments, which override the file's.
/// Every problem is reported with the file and line (or "command line")
/// and the key.
public struct GuestConfig: Equatable {
    public var name: String
    public var kernel: String
    public var ramdisk: String? = nil
    public var memoryMiB: UInt64 = 4 { didSet { memoryGiven = true } }
    /// Whether memory was set (by the config, the command line or code): if
    /// not, a Linux kernel gets `linuxMemoryMiB` (GuestLoad).
    public private(set) var memoryGiven = false
    public var vcpus: UInt64 = 1
    public var cmdline: String = ""
    public var weight: UInt64 = GuestConfig.defaultWeight
    public var onPoweroff: EndAction = .destroy   // xl's defaults
    public var onReboot: EndAction = .restart
    public var onCrash: EndAction = .destroy
    /// `disk = [ ... ]`: served by a block backend in Dom0 each (DiskSpec).
    public var disks: [DiskSpec] = []
    /// `vif = [ ... ]`: network interfaces (VifSpec), served from Dom0's bridges.
    public var vifs: [VifSpec] = []
    /// Disks and interfaces together: a guest has this many control pages
    /// for split devices (TERN_DEVICE_CONTROL_PAGES, less the console's).
    public static let maxSplitDevices = Int(TERN_DEVICE_CONTROL_PAGES) - 1

    public static let minMemoryMiB: UInt64 = 2
    public static let maxMemoryMiB: UInt64 = 65536
    public static let maxNameLength = 31
    public static let maxCmdline = Int(TERN_CMDLINE_MAX) - 1
    public static let maxPVCmdline = Int(TERN_PV_CMDLINE_MAX) - 1
    public static let pvMemoryMiB: UInt64 = 4
    public static let linuxMemoryMiB: UInt64 = 128   // what the Debian kernel needs with room (docs/porting.md)
    public static let maxWeight: UInt64 = 65535
    public static let defaultWeight: UInt64 = 256   // Tern's when a create names none

    public var memoryBytes: UInt64 { memoryMiB << 20 }

    /// Equal configs create the same guest: whether memory was written out
    /// or defaulted is not part of it.
    public static func == (a: GuestConfig, b: GuestConfig) -> Bool {
        a.name == b.name && a.kernel == b.kernel && a.ramdisk == b.ramdisk && a.memoryMiB == b.memoryMiB
            && a.vcpus == b.vcpus && a.cmdline == b.cmdline && a.weight == b.weight
            && a.onPoweroff == b.onPoweroff && a.onReboot == b.onReboot && a.onCrash == b.onCrash
    }

    public static func parse(_ text: String, file: String, overrides: [String] = []) throws(ConfigError) -> GuestConfig {
        var values: [String: ConfigSyntax.Setting] = [:]
        for (index, line) in ConfigSyntax.lines(text).enumerated() {
            guard let setting = try ConfigSyntax.setting(String(line), at: ConfigOrigin(file: file, line: index + 1)) else { continue }
            try checkKey(setting)
            if let earlier = values[setting.key] {
                throw ConfigError(setting.origin, key: setting.key, problem: "set twice (first on line \(earlier.origin.line ?? 0))")
            }
            values[setting.key] = setting
        }
        var overridden: Set<String> = []
        for argument in overrides {
            guard let setting = try ConfigSyntax.setting(argument, at: .commandLine) else {
                throw ConfigError(.commandLine, key: nil, problem: "'\(argument)': expected key=value")
            }
            try checkKey(setting)
            guard overridden.insert(setting.key).inserted else {
                throw ConfigError(.commandLine, key: setting.key, problem: "set twice")
            }
            values[setting.key] = setting
        }
        let missing = requiredKeys.filter { values[$0] == nil }
        guard missing.isEmpty else { throw ConfigError(file: file, line: nil, key: missing.joined(separator: ", "), problem: "missing") }
        return try GuestConfig(values)
    }

    static func checkKey(_ setting: ConfigSyntax.Setting) throws(ConfigError) {
        guard knownKeys.contains(setting.key) else {
            throw ConfigError(setting.origin, key: setting.key, problem: "unknown key (known: \(knownKeys.joined(separator: ", ")))")
        }
    }

    /// Tern builds guests in 2 MiB steps (tern_domain_create.memory_bytes).
    public static func isValidMemory(_ mib: UInt64) -> Bool {
        mib >= minMemoryMiB && mib <= maxMemoryMiB && mib % minMemoryMiB == 0
    }

    /// 1-31 of A-Z a-z 0-9 . _ - (tern_domain_create.name), not all
    /// digits: a name must not read as a domain id.
    public static func isValidName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= maxNameLength, !isAllDigits(name) else { return false }
        return name.utf8.allSatisfy { c in
            (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x2E || c == 0x5F || c == 0x2D
        }
    }

    static func isAllDigits(_ s: String) -> Bool { !s.isEmpty && s.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
}

extension GuestConfig {
    /// The config from its settings (every required key among them), each
    /// value checked.
    init(_ values: [String: ConfigSyntax.Setting]) throws(ConfigError) {
        func string(_ key: String) throws(ConfigError) -> (String, ConfigOrigin)? {
            guard let setting = values[key] else { return nil }
            guard case .string(let s) = setting.value else { throw ConfigError(setting.origin, key: key, problem: "must be a quoted string") }
            return (s, setting.origin)
        }
        func number(_ key: String) throws(ConfigError) -> (UInt64, ConfigOrigin)? {
            guard let setting = values[key] else { return nil }
            guard case .number(let n) = setting.value else { throw ConfigError(setting.origin, key: key, problem: "must be a number") }
            return (n, setting.origin)
        }
        let (name, nameOrigin) = try string("name")!
        if GuestConfig.isAllDigits(name) {
            throw ConfigError(nameOrigin, key: "name", problem: "\"\(name)\" is all digits: it could not be told from a domain id")
        }
        guard GuestConfig.isValidName(name) else {
            throw ConfigError(nameOrigin, key: "name", problem: "\"\(name)\" must be 1-\(GuestConfig.maxNameLength) characters of A-Z a-z 0-9 . _ -")
        }
        let (kernel, kernelOrigin) = try string("kernel")!
        guard !kernel.isEmpty else { throw ConfigError(kernelOrigin, key: "kernel", problem: "empty path") }
        self.init(name: name, kernel: kernel)
        if let (memory, origin) = try number("memory") {
            guard GuestConfig.isValidMemory(memory) else {
                throw ConfigError(origin, key: "memory",
                                  problem: "\(memory) is not an even number of MiB from \(GuestConfig.minMemoryMiB) to \(GuestConfig.maxMemoryMiB)")
            }
            memoryMiB = memory
            memoryGiven = true   // an initializer's assignment runs no didSet
        }
        if let (path, _) = try string("ramdisk"), !path.isEmpty { ramdisk = path }
        if let (vcpus, origin) = try number("vcpus") {
            guard vcpus == 1 else { throw ConfigError(origin, key: "vcpus", problem: "\(vcpus): only 1 vCPU per guest is supported for now") }
        }
        if let (line, origin) = try string("cmdline") {
            guard line.utf8.count <= GuestConfig.maxCmdline else {
                throw ConfigError(origin, key: "cmdline", problem: "\(line.utf8.count) bytes, at most \(GuestConfig.maxCmdline)")
            }
            cmdline = line
        }
        if let (value, origin) = try number("weight") {
            guard value >= 1, value <= GuestConfig.maxWeight else {
                throw ConfigError(origin, key: "weight", problem: "\(value) is not from 1 to \(GuestConfig.maxWeight)")
            }
            weight = value
        }
        if let setting = values["devices"] {
            guard case .list(let devices) = setting.value else { throw ConfigError(setting.origin, key: "devices", problem: "must be a list [ ... ]") }
            guard devices.isEmpty else {
                throw ConfigError(setting.origin, key: "devices", problem: "only the console exists for now (every guest has it); the list must be empty")
            }
        }
        if let setting = values["disk"] {
            guard case .list(let specs) = setting.value else {
                throw ConfigError(setting.origin, key: "disk", problem: "must be a list [ \"PATH,xvda,rw\", ... ]")
            }
            guard specs.count <= DiskSpec.maxDisks else {
                throw ConfigError(setting.origin, key: "disk", problem: "\(specs.count) disks, at most \(DiskSpec.maxDisks)")
            }
            for text in specs {
                let spec: DiskSpec
                do throws(DiskSpec.Problem) { spec = try DiskSpec.parse(text) } catch {
                    throw ConfigError(setting.origin, key: "disk", problem: error.description)
                }
                if disks.contains(where: { $0.vdev == spec.vdev }) {
                    throw ConfigError(setting.origin, key: "disk", problem: "\(spec.vdev) is named twice")
                }
                if disks.contains(where: { $0.target == spec.target }) {
                    throw ConfigError(setting.origin, key: "disk", problem: "\(spec.target) is named twice")
                }
                disks.append(spec)
            }
        }
        if let setting = values["vif"] {
            guard case .list(let specs) = setting.value else {
                throw ConfigError(setting.origin, key: "vif", problem: "must be a list [ \"bridge=br0\", ... ]")
            }
            for text in specs {
                do throws(VifSpec.Problem) { vifs.append(try VifSpec.parse(text)) } catch {
                    throw ConfigError(setting.origin, key: "vif", problem: error.description)
                }
            }
            let macs = vifs.enumerated().map { $1.mac ?? VifSpec.defaultMAC(guest: name, index: $0) }
            if let twice = macs.first(where: { mac in macs.filter { $0 == mac }.count > 1 }) {
                throw ConfigError(setting.origin, key: "vif", problem: "mac \(VifSpec.macText(twice)) is given twice")
            }
        }
        if disks.count + vifs.count > GuestConfig.maxSplitDevices {
            let origin = (values["vif"] ?? values["disk"])!.origin
            throw ConfigError(origin, key: values["vif"] != nil ? "vif" : "disk",
                              problem: "\(disks.count) disks and \(vifs.count) interfaces: a guest has \(GuestConfig.maxSplitDevices) device slots")
        }
        for end in GuestEnd.allCases {
            guard let (word, origin) = try string(end.key) else { continue }
            guard let action = EndAction(rawValue: word) else {
                throw ConfigError(origin, key: end.key, problem: "\"\(word)\" is not \(EndAction.choices)")
            }
            setAction(action, for: end)
        }
    }
}
