import Glibc

/// A device a backend supervisor serves (a disk, a network interface), as
/// its record names and writes it (BackendRecord).
public protocol RecordedDevice: Equatable {
    /// Where the records of this kind are: /run/tern/disks, /run/tern/vifs.
    static var recordDirectory: String { get }
    /// The device's name in its guest (xvdb, 0): the record file's suffix.
    var recordKey: String { get }
    /// Its `key=value` lines of the record, a newline after each; the last
    /// may hold any character but a newline.
    var recordLines: String { get }
    /// Back from a record's values, or nil if they are not one.
    init?(recordValues: [Substring: Substring])
    /// The order `tern block-list` / `network-list` show them in.
    static func listedBefore(_ a: Self, _ b: Self) -> Bool
}

/// What Dom0 knows of a guest's attached devices without XenStore
/// (docs/toolstack.md, "Commands"): each device's
/// backend supervisor keeps a record in its kind's directory,
/// `d<domid>-<key>` (/run/tern/disks/d3-xvdb, /run/tern/vifs/d3-0), and
/// holds an exclusive flock on it for as long as it serves the device. A
/// record whose lock is free is left from a backend that was killed: it is
/// not listed. The serving process writes the device's state beside it
/// (`.state`). `tern block-list` / `network-list` read them; `tern
/// block-detach` / `network-detach` signal the pid.
public struct BackendRecord<Device: RecordedDevice>: Equatable {
    public var domid: UInt32
    /// The domain's creation time: with the id it names one instance
    /// (ids are reused).
    public var created: UInt64
    public var pid: Int32
    public var device: Device

    public init(domid: UInt32, created: UInt64, pid: Int32, device: Device) {
        self.domid = domid
        self.created = created
        self.pid = pid
        self.device = device
    }

    static var parents: [String] { ["/run/tern"] }

    public static func name(domid: UInt32, key: String) -> String { "d\(domid)-\(key)" }
    public static func path(domid: UInt32, key: String, in directory: String = Device.recordDirectory) -> String {
        "\(directory)/\(name(domid: domid, key: key))"
    }
    public static func statePath(domid: UInt32, key: String, in directory: String = Device.recordDirectory) -> String {
        path(domid: domid, key: key, in: directory) + ".state"
    }

    /// The record as written: one `key=value` a line, the device's last.
    public var text: String { "domain=\(domid)\ncreated=\(created)\npid=\(pid)\n" + device.recordLines }

    /// A record's text back, or nil if it is not one (torn, or not ours).
    public static func parse(_ text: String) -> BackendRecord? {
        var values: [Substring: Substring] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { return nil }
            values[line[..<equals]] = line[line.index(after: equals)...]
        }
        guard let domid = values["domain"].flatMap({ UInt32($0) }), let created = values["created"].flatMap({ UInt64($0) }),
              let pid = values["pid"].flatMap({ Int32($0) }), let device = Device(recordValues: values) else { return nil }
        return BackendRecord(domid: domid, created: created, pid: pid, device: device)
    }

    /// The live records of domain `domid` created at `created`, in the
    /// device's order.
    public static func live(domid: UInt32, created: UInt64, in directory: String = Device.recordDirectory) -> [BackendRecord] {
        Files.names(in: directory).filter { $0.hasPrefix("d\(domid)-") && !$0.hasSuffix(".state") }.compactMap { name in
            let file = "\(directory)/\(name)"
            guard isHeld(file), case .success(let bytes) = Files.read(file),
                  let record = parse(String(decoding: bytes, as: UTF8.self)),
                  record.domid == domid, record.created == created else { return nil }
            return record
        }.sorted { Device.listedBefore($0.device, $1.device) }
    }

    /// Whether a process holds `file`'s lock (a shared lock cannot be had).
    static func isHeld(_ file: String) -> Bool {
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return flock(fd, LOCK_SH | LOCK_NB) != 0
    }

    /// The serving process's word on the device ("connected", ...), if any.
    public static func state(domid: UInt32, key: String, in directory: String = Device.recordDirectory) -> String? {
        guard case .success(let bytes) = Files.read(statePath(domid: domid, key: key, in: directory)) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        return text.hasSuffix("\n") ? String(text.dropLast()) : text
    }

    public static func setState(_ state: String, domid: UInt32, key: String, in directory: String = Device.recordDirectory) {
        _ = Files.replace(statePath(domid: domid, key: key, in: directory), with: state + "\n")
    }

    /// A live record as a list shows it: its guest's name and its state.
    public typealias Listed = (guest: String, record: BackendRecord, state: String?)

    /// A column of a list (`tern block-list`, `network-list`).
    public struct Column {
        let title: String
        let width: Int
        let right: Bool
        let value: (Listed) -> String

        public init(_ title: String, _ width: Int, right: Bool = false, _ value: @escaping (Listed) -> String) {
            self.title = title
            self.width = width
            self.right = right
            self.value = value
        }
    }

    /// A list's table: the guest's name, `columns` padded, then `last`
    /// as it is; a row per device.
    public static func table(_ rows: [Listed], columns: [Column], last: Column) -> String {
        let name = GuestConfig.maxNameLength
        func line(_ cells: [String], _ end: String) -> String {
            zip(columns, cells.dropFirst()).reduce(DomainRow.pad(cells[0], name)) { $0 + "  " + DomainRow.pad($1.1, $1.0.width, right: $1.0.right) }
                + "  " + end
        }
        var lines = [line(["Name"] + columns.map(\.title), last.title)]
        for row in rows { lines.append(line([row.guest] + columns.map { $0.value(row) }, last.value(row))) }
        return lines.joined(separator: "\n")
    }

    /// The state column: the serving process's word, or "starting" before
    /// it wrote one; as wide as the longest, "waiting for the guest".
    public static var stateColumn: Column { Column("State", 21) { $0.state ?? "starting" } }
}

/// A backend supervisor's hold on its device's record: the file, locked,
/// holding the record. Released (the files removed, then the lock) by `release`
/// or when the process ends (the lock only: the file is then left stale).
public final class BackendRecordLock {
    let fd: Int32
    public let file: String
    let stateFile: String

    init(fd: Int32, file: String, stateFile: String) {
        self.fd = fd
        self.file = file
        self.stateFile = stateFile
    }

    public enum Refusal: Error, Equatable, CustomStringConvertible {
        /// Another live backend serves this device of this domain.
        case attached(pid: Int32?)
        case cannotWrite(path: String, errno: Int32)

        public var description: String {
            switch self {
            case .attached(let pid): return "already attached (its backend is pid \(pid.map { "\($0)" } ?? "unknown"))"
            case .cannotWrite(let path, let e): return "\(path): \(Files.errorText(e))"
            }
        }
    }

    /// Takes the record of `record`'s device, or says who holds it.
    public static func claim<Device>(_ record: BackendRecord<Device>,
                                     in directory: String = Device.recordDirectory) -> Result<BackendRecordLock, Refusal> {
        if directory == Device.recordDirectory { for parent in BackendRecord<Device>.parents { mkdir(parent, 0o755) } }
        mkdir(directory, 0o755)
        let key = record.device.recordKey
        let file = BackendRecord<Device>.path(domid: record.domid, key: key, in: directory)
        while true {
            let fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { return .failure(.cannotWrite(path: file, errno: errno)) }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                close(fd)
                let holder = Files.read(file).map { BackendRecord<Device>.parse(String(decoding: $0, as: UTF8.self))?.pid }
                return .failure(.attached(pid: (try? holder.get()) ?? nil))
            }
            // A holder that was releasing removed the file after we opened
            // it: our lock is on a file no one else finds. Again.
            var mine = stat(), named = stat()
            guard fstat(fd, &mine) == 0, stat(file, &named) == 0, mine.st_ino == named.st_ino else {
                close(fd)
                continue
            }
            ftruncate(fd, 0)
            Output.write(fd, record.text)
            return .success(BackendRecordLock(fd: fd, file: file,
                                              stateFile: BackendRecord<Device>.statePath(domid: record.domid, key: key, in: directory)))
        }
    }

    /// The device is no longer served: its files go, then the lock.
    public func release() {
        unlink(stateFile)
        unlink(file)
        close(fd)
    }
}
