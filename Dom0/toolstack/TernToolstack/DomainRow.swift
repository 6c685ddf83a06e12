import TernABI

/// One domain as `tern list` shows it.
public struct DomainRow: Equatable {
    public var id: UInt32
    public var name: String
    public var state: UInt32
    public var memoryBytes: UInt64
    public var vcpus: UInt32
    public var cpuTimeNanoseconds: UInt64
    public var privileged: Bool
    // ABI 0.8 (tern_domain_info):
    public var weight: UInt32
    public var stopReason: UInt32           // TERN_STOP_*
    public var createdNanoseconds: UInt64   // system time; with the id it names one instance
    public var stoppedNanoseconds: UInt64   // 0 while it has not stopped
    public var shutdownRequest: UInt32      // TERN_SHUTDOWN_REQUEST_* pending

    public init(id: UInt32, name: String, state: UInt32, memoryBytes: UInt64, vcpus: UInt32, cpuTimeNanoseconds: UInt64, privileged: Bool,
                weight: UInt32 = UInt32(GuestConfig.defaultWeight), stopReason: UInt32 = UInt32(TERN_STOP_NONE), createdNanoseconds: UInt64 = 0,
                stoppedNanoseconds: UInt64 = 0, shutdownRequest: UInt32 = UInt32(TERN_SHUTDOWN_REQUEST_NONE)) {
        self.id = id
        self.name = name
        self.state = state
        self.memoryBytes = memoryBytes
        self.vcpus = vcpus
        self.cpuTimeNanoseconds = cpuTimeNanoseconds
        self.privileged = privileged
        self.weight = weight
        self.stopReason = stopReason
        self.createdNanoseconds = createdNanoseconds
        self.stoppedNanoseconds = stoppedNanoseconds
        self.shutdownRequest = shutdownRequest
    }

    public init(_ info: tern_domain_info) {
        let name = withUnsafeBytes(of: info.name) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
        self.init(id: info.domid, name: name, state: info.state, memoryBytes: info.memory_bytes, vcpus: info.vcpus,
                  cpuTimeNanoseconds: info.cpu_time_ns, privileged: info.flags & TERN_DOMAIN_FLAG_PRIVILEGED != 0,
                  weight: info.weight, stopReason: info.stop_reason, createdNanoseconds: info.created_ns,
                  stoppedNanoseconds: info.stopped_ns, shutdownRequest: info.shutdown_request)
    }

    /// Stopped, and kept by Tern (TERN_CREATE_KEEP_ON_*) until destroyed:
    /// the only stopped domains Tern lists (it destroys the others at once).
    public var isKeptStopped: Bool { state == UInt32(TERN_DOMAIN_SHUTDOWN) || state == UInt32(TERN_DOMAIN_CRASHED) }
    /// It will not run again: stopped (kept or not), dying or dead. Its
    /// backends let go of it (a dying domain waits for their mappings).
    public var isStopped: Bool { isKeptStopped || state == UInt32(TERN_DOMAIN_DYING) || state == UInt32(TERN_DOMAIN_DEAD) }

    public static let stateNames = ["created", "paused", "running", "blocked", "shutdown", "crashed", "dying", "dead"]
    public var stateName: String { Int(state) < DomainRow.stateNames.count ? DomainRow.stateNames[Int(state)] : "unknown" }

    /// Seconds with one decimal, rounded ("12.3").
    public var cpuTime: String { DomainRow.seconds(cpuTimeNanoseconds) }

    public static func seconds(_ nanoseconds: UInt64) -> String {
        let tenths = nanoseconds / 100_000_000 + (nanoseconds % 100_000_000 >= 50_000_000 ? 1 : 0)
        return "\(tenths / 10).\(tenths % 10)"
    }

    /// `tern list`'s table (the columns of `xl list`).
    public static func table(_ rows: [DomainRow]) -> String {
        let name = GuestConfig.maxNameLength   // the longest name fits its column
        var lines = [pad("ID", 4, right: true) + "  " + pad("Name", name) + "  " + pad("State", 8) + "  "
                     + pad("Mem(MiB)", 8, right: true) + "  " + pad("VCPUs", 5, right: true) + "  " + pad("Time(s)", 9, right: true)]
        for row in rows {
            lines.append(pad("\(row.id)", 4, right: true) + "  " + pad(row.name, name) + "  " + pad(row.stateName, 8) + "  "
                         + pad("\(row.memoryBytes >> 20)", 8, right: true) + "  " + pad("\(row.vcpus)", 5, right: true) + "  "
                         + pad(row.cpuTime, 9, right: true))
        }
        return lines.joined(separator: "\n")
    }

    /// `tern list --json`: an array of objects.
    public static func json(_ rows: [DomainRow]) -> String {
        let objects = rows.map { row in
            "{\"id\": \(row.id), \"name\": \(jsonString(row.name)), \"state\": \"\(row.stateName)\", "
                + "\"memory_mib\": \(row.memoryBytes >> 20), \"vcpus\": \(row.vcpus), "
                + "\"cpu_time_ns\": \(row.cpuTimeNanoseconds), \"privileged\": \(row.privileged), "
                + "\"weight\": \(row.weight), \"stop_reason\": \"\(StopWords.reason(row.stopReason))\", "
                + "\"created_ns\": \(row.createdNanoseconds), \"stopped_ns\": \(row.stoppedNanoseconds), "
                + "\"shutdown_request\": \"\(StopWords.request(row.shutdownRequest))\"}"
        }
        return "[" + objects.joined(separator: ",\n ") + "]"
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default:
                if c.value < 0x20 { out += "\\u00" + (c.value < 0x10 ? "0" : "") + String(c.value, radix: 16) } else { out.unicodeScalars.append(c) }
            }
        }
        return out + "\""
    }

    public static func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - s.count))
        return right ? fill + s : s + fill
    }

    /// The row named by `what`: a domain id ("3") or a name ("web").
    public static func find(_ what: String, in rows: [DomainRow]) -> DomainRow? {
        if isID(what) { return UInt32(what).flatMap { id in rows.first { $0.id == id } } }
        return rows.first { $0.name == what }
    }
}
