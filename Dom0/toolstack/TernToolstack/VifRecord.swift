/// A network interface's record (BackendRecord):
/// /run/tern/vifs/d<domid>-<devid>, written by `tern network-backend`,
/// read by `tern network-list`, `network-attach` and `network-detach`.
public typealias VifRecord = BackendRecord<GuestVif>

/// A guest's network interface as its backend serves it: its number in
/// the guest (devid: the tap is `vif<domid>.<devid>`) and its spec, the
/// MAC resolved (given, or derived from the guest's name and the number).
public struct GuestVif: Equatable {
    public let devid: UInt16
    public let spec: VifSpec

    public init(devid: UInt16, spec: VifSpec, guest: String) {
        self.devid = devid
        var resolved = spec
        resolved.mac = spec.mac ?? VifSpec.defaultMAC(guest: guest, index: Int(devid))
        self.spec = resolved
    }

    public var mac: [UInt8] { spec.mac ?? [] }

    /// Dom0's end of it: the tap `vifD.N`, as Xen names them.
    public static func tapName(domid: UInt32, devid: UInt16) -> String { "vif\(domid).\(devid)" }
}

extension GuestVif: RecordedDevice {
    public static var recordDirectory: String { "/run/tern/vifs" }
    public var recordKey: String { "\(devid)" }
    /// The spec last (its text holds commas, never a newline).
    public var recordLines: String { "devid=\(devid)\nvif=\(spec.text)\n" }

    public init?(recordValues values: [Substring: Substring]) {
        guard let devid = values["devid"].flatMap({ UInt16($0) }), let text = values["vif"],
              let spec = try? VifSpec.parse(String(text)), spec.mac != nil else { return nil }
        self.devid = devid
        self.spec = spec
    }

    public static func listedBefore(_ a: GuestVif, _ b: GuestVif) -> Bool { a.devid < b.devid }
}

extension BackendRecord where Device == GuestVif {
    /// `tern network-list`'s table: a row per interface (like xl's Idx,
    /// Mac, state; with Tern's bridge, tap and rate).
    public static func table(_ rows: [Listed]) -> String {
        let name = VifSpec.interfaceNameMax
        return table(rows, columns: [Column("Idx", 3, right: true) { "\($0.record.device.devid)" },
                                     Column("Mac", VifSpec.macTextLength) { VifSpec.macText($0.record.device.mac) },
                                     Column("Bridge", name) { $0.record.device.spec.bridge },
                                     Column("Tap", name) { GuestVif.tapName(domid: $0.record.domid, devid: $0.record.device.devid) },
                                     Column("Backend", 7, right: true) { "\($0.record.pid)" },
                                     stateColumn],
                     last: Column("Rate", 0) { $0.record.device.spec.rate.map(\.text) ?? "-" })
    }
}
