import Glibc

/// What Dom0 knows of a guest's attached disks without XenStore
/// (docs/toolstack.md, "Disks"): each disk's backend supervisor keeps a
/// record in /run/tern/disks, `d<domid>-<vdev>`, and holds an exclusive
/// flock on it for as long as it serves the disk. A record whose lock is
/// free is left from a backend that was killed: it is not listed. The
/// serving process writes the disk's state beside it (`.state`).
/// `tern block-list` reads them; `tern block-detach` signals the pid.
public struct DiskRecord: Equatable {
    public var domid: UInt32
    /// The domain's creation time: with the id it names one instance
    /// (ids are reused).
    public var created: UInt64
    public var pid: Int32
    public var disk: DiskSpec

    public init(domid: UInt32, created: UInt64, pid: Int32, disk: DiskSpec) {
        self.domid = domid
        self.created = created
        self.pid = pid
        self.disk = disk
    }

    public static let directory = "/run/tern/disks"
    static let parents = ["/run/tern"]

    public static func name(domid: UInt32, vdev: String) -> String { "d\(domid)-\(vdev)" }
    public static func path(domid: UInt32, vdev: String, in directory: String = DiskRecord.directory) -> String {
        "\(directory)/\(name(domid: domid, vdev: vdev))"
    }
    public static func statePath(domid: UInt32, vdev: String, in directory: String = DiskRecord.directory) -> String {
        path(domid: domid, vdev: vdev, in: directory) + ".state"
    }

    /// The record as written: one `key=value` a line, the target last
    /// (it may hold any character but a newline).
    public var text: String {
        "domain=\(domid)\ncreated=\(created)\npid=\(pid)\nvdev=\(disk.vdev)\naccess=\(disk.readOnly ? "ro" : "rw")\ntarget=\(disk.target)\n"
    }

    /// A record's text back, or nil if it is not one (torn, or not ours).
    public static func parse(_ text: String) -> DiskRecord? {
        var values: [Substring: Substring] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { return nil }
            values[line[..<equals]] = line[line.index(after: equals)...]
        }
        guard let domid = values["domain"].flatMap({ UInt32($0) }), let created = values["created"].flatMap({ UInt64($0) }),
              let pid = values["pid"].flatMap({ Int32($0) }), let vdev = values["vdev"], let access = values["access"],
              let target = values["target"],
              let disk = try? DiskSpec.parse("vdev=\(vdev),access=\(access),target=\(target)") else { return nil }
        return DiskRecord(domid: domid, created: created, pid: pid, disk: disk)
    }

    /// The live records of domain `domid` created at `created`, by vdev.
    public static func live(domid: UInt32, created: UInt64, in directory: String = DiskRecord.directory) -> [DiskRecord] {
        Files.names(in: directory).filter { $0.hasPrefix("d\(domid)-") && !$0.hasSuffix(".state") }.compactMap { name in
            let file = "\(directory)/\(name)"
            guard isHeld(file), case .success(let bytes) = Files.read(file),
                  let record = parse(String(decoding: bytes, as: UTF8.self)),
                  record.domid == domid, record.created == created else { return nil }
            return record
        }.sorted { $0.disk.vdev < $1.disk.vdev }
    }

    /// Whether a process holds `file`'s lock (a shared lock cannot be had).
    static func isHeld(_ file: String) -> Bool {
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return flock(fd, LOCK_SH | LOCK_NB) != 0
    }

    /// The serving process's word on the disk ("connected", ...), if any.
    public static func state(domid: UInt32, vdev: String, in directory: String = DiskRecord.directory) -> String? {
        guard case .success(let bytes) = Files.read(statePath(domid: domid, vdev: vdev, in: directory)) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        return text.hasSuffix("\n") ? String(text.dropLast()) : text
    }

    public static func setState(_ state: String, domid: UInt32, vdev: String, in directory: String = DiskRecord.directory) {
        _ = Files.replace(statePath(domid: domid, vdev: vdev, in: directory), with: state + "\n")
    }
}

/// A backend supervisor's hold on its disk's record: the file, locked,
/// holding the record. Released (the files removed, then the lock) by `release`
/// or when the process ends (the lock only: the file is then left stale).
public final class DiskRecordLock {
    let fd: Int32
    public let file: String
    let stateFile: String

    init(fd: Int32, file: String, stateFile: String) {
        self.fd = fd
        self.file = file
        self.stateFile = stateFile
    }

    public enum Refusal: Error, Equatable, CustomStringConvertible {
        /// Another live backend serves this vdev of this domain.
        case attached(pid: Int32?)
        case cannotWrite(path: String, errno: Int32)

        public var description: String {
            switch self {
            case .attached(let pid): return "already attached (its backend is pid \(pid.map { "\($0)" } ?? "unknown"))"
            case .cannotWrite(let path, let e): return "\(path): \(Files.errorText(e))"
            }
        }
    }

    /// Takes the record of `record`'s disk, or says who holds it.
    public static func claim(_ record: DiskRecord, in directory: String = DiskRecord.directory) -> Result<DiskRecordLock, Refusal> {
        if directory == DiskRecord.directory { for parent in DiskRecord.parents { mkdir(parent, 0o755) } }
        mkdir(directory, 0o755)
        let file = DiskRecord.path(domid: record.domid, vdev: record.disk.vdev, in: directory)
        while true {
            let fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { return .failure(.cannotWrite(path: file, errno: errno)) }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                close(fd)
                let holder = Files.read(file).map { DiskRecord.parse(String(decoding: $0, as: UTF8.self))?.pid }
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
            return .success(DiskRecordLock(fd: fd, file: file,
                                           stateFile: DiskRecord.statePath(domid: record.domid, vdev: record.disk.vdev, in: directory)))
        }
    }

    /// The disk is no longer served: its files go, then the lock.
    public func release() {
        unlink(stateFile)
        unlink(file)
        close(fd)
    }
}

extension DiskRecord {
    /// `tern block-list`'s table: a row per disk, `state` the serving
    /// process's word (or "starting" before it wrote one).
    public static func table(_ rows: [(guest: String, record: DiskRecord, state: String?)]) -> String {
        let name = GuestConfig.maxNameLength
        var lines = [DomainRow.pad("Name", name) + "  " + DomainRow.pad("Vdev", 4) + "  " + DomainRow.pad("Mode", 4) + "  "
                     + DomainRow.pad("Backend", 7, right: true) + "  " + DomainRow.pad("State", stateWidth) + "  Target"]
        for row in rows {
            lines.append(DomainRow.pad(row.guest, name) + "  " + DomainRow.pad(row.record.disk.vdev, 4) + "  "
                         + DomainRow.pad(row.record.disk.readOnly ? "ro" : "rw", 4) + "  "
                         + DomainRow.pad("\(row.record.pid)", 7, right: true) + "  "
                         + DomainRow.pad(row.state ?? "starting", stateWidth) + "  " + row.record.disk.target)
        }
        return lines.joined(separator: "\n")
    }

    /// The longest state: "waiting for the guest".
    static let stateWidth = 21
}
