import Glibc

/// Where `tern logd` keeps the guests' console output (docs/toolstack.md,
/// "Console logs"): one file per instance of a domain. `NAME.log` holds
/// the last instance named NAME, `NAME.log.1` the one before, up to
/// `NAME.log.4` (as logrotate numbers them: no domain name's file can
/// take one of these names). A file's first line names its instance (a
/// `KeptLogHeader`); then come the instance's console lines as it printed
/// them, without Tern's `(dN) ` prefix. `.position` says how far logd has
/// read Tern's log: everything before it is in the files.
public struct KeptLogs {
    public static let standardDirectory = "/var/log/tern"
    /// Older instances kept of each name, besides the last.
    public static let olderInstancesKept = 4
    static let suffix = ".log"
    static let progressName = ".position"
    /// A header line is short (two numbers and a name): more is not one.
    static let headerBytesMax = 256

    public let directory: String

    public init(directory: String = KeptLogs.standardDirectory) { self.directory = directory }

    /// The file of the last instance named `name` (`older` 0), or of the
    /// one `older` instances before it.
    public func path(_ name: String, older: Int = 0) -> String {
        "\(directory)/\(name)\(KeptLogs.suffix)" + (older > 0 ? ".\(older)" : "")
    }

    /// A new instance named `header.name`: the files of older ones move
    /// back one place (the oldest kept goes) and NAME.log starts with the
    /// header.
    public func startInstance(_ header: KeptLogHeader) {
        for older in stride(from: KeptLogs.olderInstancesKept, to: 0, by: -1) {
            rename(path(header.name, older: older - 1), path(header.name, older: older))
        }
        _ = Files.replace(path(header.name), with: header.line + "\n")
    }

    /// A console line of the last instance named `name`.
    public func append(_ text: Substring, to name: String) {
        Files.append(text + "\n", to: path(name))
    }

    /// The first line of a kept file, if it is a header.
    public func header(at path: String) -> KeptLogHeader? {
        guard let bytes = Files.readPrefix(path, count: KeptLogs.headerBytesMax), let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        return KeptLogHeader(String(decoding: bytes[..<newline], as: UTF8.self)[...])
    }

    /// A kept instance: its header and console lines.
    public struct Kept: Equatable {
        public var header: KeptLogHeader
        public var lines: [String]
    }

    public func read(at path: String) -> Kept? {
        guard case .success(let bytes) = Files.read(path) else { return nil }
        var lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        guard let first = lines.first, let header = KeptLogHeader(first) else { return nil }
        return Kept(header: header, lines: lines.dropFirst().map(String.init))
    }

    /// The last instance kept of what a user typed: a name (its NAME.log),
    /// or an id (of all the kept files, the instance of that id whose life
    /// began last in Tern's log).
    public func last(_ what: String) -> Kept? {
        guard DomainRow.isID(what) else {
            // Only a name's own file: "../x" names nothing here.
            guard !what.isEmpty, what.utf8.allSatisfy(LogLine.isNameByte) else { return nil }
            return read(at: path(what))
        }
        guard let domid = UInt32(what) else { return nil }
        let files = Files.names(in: directory).filter { KeptLogs.isKeptFile($0) }
        let headers = files.compactMap { file in header(at: "\(directory)/\(file)").map { (file, $0) } }
        guard let latest = headers.filter({ $0.1.domid == domid }).max(by: { $0.1.position < $1.1.position }) else { return nil }
        return read(at: "\(directory)/\(latest.0)")
    }

    /// NAME.log or NAME.log.N (not .position).
    static func isKeptFile(_ file: String) -> Bool {
        if file.hasSuffix(suffix) { return true }
        guard let dot = file.lastIndex(of: "."), file[file.index(after: dot)...].allSatisfy(\.isNumber) else { return false }
        return file[..<dot].hasSuffix(suffix)
    }

    /// logd's progress: how far in Tern's log the files hold everything.
    public func saveProgress(_ position: UInt64) {
        // Written aside and renamed over: a reader sees the old number or the new.
        _ = Files.replace("\(directory)/\(KeptLogs.progressName)", with: "\(position)\n")
    }

    public func progress() -> UInt64? {
        guard case .success(let bytes) = Files.read("\(directory)/\(KeptLogs.progressName)") else { return nil }
        return UInt64(String(decoding: bytes, as: UTF8.self).split(separator: "\n").first ?? "")
    }
}

/// The first line of a kept console file: which instance it is.
///   == d1 sleeper, created_ns 1234567890, Tern log byte 20480 ==
/// `created_ns` is the domain's (tern_domain_info; `unknown` when the
/// instance had gone before logd read its created line); the log byte is
/// where its life began in Tern's log (its created line, or the first of
/// its lines logd read), which orders instances.
public struct KeptLogHeader: Equatable {
    public var domid: UInt32
    public var name: String
    public var createdNanoseconds: UInt64?
    public var position: UInt64

    public init(domid: UInt32, name: String, createdNanoseconds: UInt64?, position: UInt64) {
        self.domid = domid
        self.name = name
        self.createdNanoseconds = createdNanoseconds
        self.position = position
    }

    static let open = "== ", close = " ==", created = "created_ns ", unknown = "unknown", byte = "Tern log byte "

    public var line: String {
        let when = createdNanoseconds.map { "\($0)" } ?? KeptLogHeader.unknown
        return "\(KeptLogHeader.open)d\(domid) \(name), \(KeptLogHeader.created)\(when), \(KeptLogHeader.byte)\(position)\(KeptLogHeader.close)"
    }

    public init?(_ line: Substring) {
        guard line.hasPrefix(KeptLogHeader.open), line.hasSuffix(KeptLogHeader.close) else { return nil }
        let parts = line.dropFirst(KeptLogHeader.open.count).dropLast(KeptLogHeader.close.count).split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        let who = parts[0].split(separator: " ")
        let when = parts[1].drop { $0 == " " }, byte = parts[2].drop { $0 == " " }
        guard who.count == 2, who[0].hasPrefix("d"), let domid = UInt32(who[0].dropFirst()),
              when.hasPrefix(KeptLogHeader.created), byte.hasPrefix(KeptLogHeader.byte),
              let position = UInt64(byte.dropFirst(KeptLogHeader.byte.count)) else { return nil }
        let created = when.dropFirst(KeptLogHeader.created.count)
        let ns = UInt64(created)
        guard ns != nil || created == KeptLogHeader.unknown else { return nil }
        self.init(domid: domid, name: String(who[1]), createdNanoseconds: ns, position: position)
    }

    /// This file is the instance `row` is: the same id, name and creation time.
    public func isInstance(_ row: DomainRow) -> Bool {
        domid == row.id && name == row.name && createdNanoseconds == row.createdNanoseconds
    }
}
