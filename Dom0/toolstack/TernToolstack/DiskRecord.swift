/// A disk's record (BackendRecord): /run/tern/disks/d<domid>-<vdev>,
/// written by `tern block-backend`, read by `tern block-list` and
/// `block-detach`.
public typealias DiskRecord = BackendRecord<DiskSpec>

extension DiskSpec: RecordedDevice {
    public static var recordDirectory: String { "/run/tern/disks" }
    public var recordKey: String { vdev }
    /// The target last (it may hold any character but a newline).
    public var recordLines: String { "vdev=\(vdev)\naccess=\(readOnly ? "ro" : "rw")\ntarget=\(target)\n" }

    public init?(recordValues values: [Substring: Substring]) {
        guard let vdev = values["vdev"], let access = values["access"], let target = values["target"],
              let disk = try? DiskSpec.parse("vdev=\(vdev),access=\(access),target=\(target)") else { return nil }
        self = disk
    }

    public static func listedBefore(_ a: DiskSpec, _ b: DiskSpec) -> Bool { a.vdev < b.vdev }
}

extension BackendRecord where Device == DiskSpec {
    /// `tern block-list`'s table: a row per disk.
    public static func table(_ rows: [Listed]) -> String {
        table(rows, columns: [Column("Vdev", 4) { $0.record.device.vdev },
                              Column("Mode", 4) { $0.record.device.readOnly ? "ro" : "rw" },
                              Column("Backend", 7, right: true) { "\($0.record.pid)" },
                              stateColumn],
              last: Column("Target", 0) { $0.record.device.target })
    }
}
