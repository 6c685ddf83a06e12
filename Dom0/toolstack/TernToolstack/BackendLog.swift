import Glibc

/// A backend's lines: on stderr and in Dom0's kernel log (`dmesg`), each
/// naming the guest and the device ("tern-blkback d3/xvda: ...",
/// "tern-netback d3/vif0: ...").
public struct BackendLog {
    public let prefix: String
    static let kernelLog = "/dev/kmsg"
    static let notice = "<5>", warning = "<4>"

    /// A disk's.
    public init(domid: UInt32, vdev: String) { prefix = "tern-blkback d\(domid)/\(vdev)" }
    public init(prefix: String) { self.prefix = prefix }

    public func info(_ line: String) { say(BackendLog.notice, line) }
    /// Something the guest did wrong, or a disk error: one line each.
    public func warning(_ line: String) { say(BackendLog.warning, line) }

    func say(_ level: String, _ line: String) {
        Output.err("\(prefix): \(line)\n")
        Files.append("\(level)\(prefix): \(line)\n", to: BackendLog.kernelLog)
    }
}
