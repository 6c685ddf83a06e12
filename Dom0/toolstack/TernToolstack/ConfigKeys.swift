/// Every config key with its meaning and default: `tern help create`
/// prints them (enough to write a config without the docs), and the
/// parser knows the keys from them.
extension GuestConfig {
    public struct Key {
        public let name: String
        public let meaning: String
        public let defaultValue: String   // "required" for a key without one
    }

    static let defaults = GuestConfig(name: "", kernel: "")
    static let required = "required"
    static let indent = "  "

    public static let keys: [Key] = [
        Key(name: "name", meaning: "\"...\": unique, 1-\(maxNameLength) of A-Za-z0-9._- (not all digits)", defaultValue: required),
        Key(name: "kernel", meaning: "\"PATH\": Tern guest ELF or Linux vmlinux, <= \(Frames.text(KernelFile.maxBytes))",
            defaultValue: required),
        Key(name: "ramdisk", meaning: "\"PATH\": a Linux guest's initramfs (\"\": none)", defaultValue: "none"),
        Key(name: "memory", meaning: "MiB, even, \(minMemoryMiB) to \(maxMemoryMiB); Linux: \(linuxMemoryMiB)", defaultValue: "\(defaults.memoryMiB)"),
        Key(name: "vcpus", meaning: "vCPUs; 1 is the only value supported for now", defaultValue: "\(defaults.vcpus)"),
        Key(name: "cmdline", meaning: "\"...\": command line, at most \(maxCmdline) bytes (PV: \(maxPVCmdline))", defaultValue: "empty"),
        Key(name: "weight", meaning: "scheduler weight (share of the CPU), 1 to \(maxWeight)", defaultValue: "\(defaults.weight)"),
        Key(name: "devices", meaning: "[] only: each guest has its console, nothing else yet", defaultValue: "[]"),
        Key(name: "disk", meaning: "[\"PATH,xvda,rw\", ...]: disks from Dom0 (or ro)", defaultValue: "[]"),
        Key(name: "vif", meaning: "[\"bridge=br0,mac=..,rate=..\", ...]: interfaces", defaultValue: "[]"),
    ] + GuestEnd.allCases.map { end in
        Key(name: end.key, meaning: "\"destroy\", \"restart\" or \"preserve\" when it \(end.when)",
            defaultValue: defaults.action(end).rawValue)
    }

    static var knownKeys: [String] { keys.map(\.name) }
    static var requiredKeys: [String] { keys.filter { $0.defaultValue == required }.map(\.name) }

    /// The keys as a table for the help text: key, default, meaning; each
    /// line within 80 columns (the help is not re-wrapped then).
    public static var keysHelp: String {
        let keyWidth = keys.map(\.name.count).max()! + 2
        let defaultWidth = max(keys.map(\.defaultValue.count).max()!, "default".count) + 2
        func line(_ a: String, _ b: String, _ c: String) -> String {
            indent + a + String(repeating: " ", count: keyWidth - a.count) + b + String(repeating: " ", count: defaultWidth - b.count) + c
        }
        return ([line("key", "default", "value")] + keys.map { line($0.name, $0.defaultValue, $0.meaning) }).joined(separator: "\n")
    }
}
