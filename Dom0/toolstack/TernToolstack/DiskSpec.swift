/// One entry of a guest config's `disk = [ ... ]` (docs/toolstack.md
/// "Disks"): the subset of xl's disk spec Tern serves,
/// "TARGET,VDEV,ACCESS" positionally ("/var/lib/tern/disks/web.img,xvda,rw")
/// or with keys ("target=...,vdev=...,access=..."; target last if it holds
/// a comma, as xl says). VDEV is xvda..xvdz (devid 0..25 of the guest's
/// block devices); ACCESS is rw (or w) or ro (or r), rw if left out.
public struct DiskSpec: Equatable {
    public let target: String
    public let vdev: String
    public let readOnly: Bool

    /// The device's number among the guest's disks (xvda = 0).
    public var devid: UInt16 { UInt16(vdev.utf8.last! - UInt8(ascii: "a")) }

    public static let vdevPrefix = "xvd"
    public static let maxDisks = 26

    public struct Problem: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    public static func parse(_ text: String) throws(Problem) -> DiskSpec {
        var target: String?, vdev: String?, access: String?
        var positional: [String] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            rest = rest.trimmingSpaces()
            // "target=" takes the rest of the spec, commas included (xl).
            if rest.hasPrefix("target=") {
                target = String(rest.dropFirst("target=".count))
                break
            }
            let piece: Substring
            if let comma = rest.firstIndex(of: ",") {
                piece = rest[..<comma]
                rest = rest[rest.index(after: comma)...]
            } else {
                piece = rest
                rest = ""
            }
            let item = piece.trimmingSpaces()
            if let equals = item.firstIndex(of: "=") {
                let key = String(item[..<equals]), value = String(item[item.index(after: equals)...])
                switch key {
                case "vdev": vdev = value
                case "access": access = value
                default: throw Problem(description: "unknown disk key \"\(key)\" (Tern knows target, vdev, access)")
                }
            } else {
                positional.append(String(item))
            }
        }
        guard positional.count <= 3 else {
            throw Problem(description: "\"\(text)\": at most TARGET,VDEV,ACCESS (Tern does not take xl's format or devtype here)")
        }
        if target == nil, positional.count > 0 { target = positional[0] }
        if vdev == nil, positional.count > 1 { vdev = positional[1] }
        if access == nil, positional.count > 2 { access = positional[2] }
        guard let target, !target.isEmpty else { throw Problem(description: "\"\(text)\": no target (the disk image's path)") }
        guard target.hasPrefix("/") else { throw Problem(description: "\"\(target)\": the target must be an absolute path") }
        guard let vdev else { throw Problem(description: "\"\(text)\": no vdev (xvda..xvdz)") }
        guard vdev.count == DiskSpec.vdevPrefix.count + 1, vdev.hasPrefix(DiskSpec.vdevPrefix),
              let letter = vdev.utf8.last, letter >= UInt8(ascii: "a"), letter <= UInt8(ascii: "z") else {
            throw Problem(description: "vdev \"\(vdev)\" is not xvda..xvdz")
        }
        let readOnly: Bool
        switch access ?? "rw" {
        case "rw", "w": readOnly = false
        case "ro", "r": readOnly = true
        default: throw Problem(description: "access \"\(access!)\" is not rw or ro")
        }
        return DiskSpec(target: target, vdev: vdev, readOnly: readOnly)
    }

    /// The spec as the saved config writes it: positional, or with keys
    /// (target last) when the target holds a comma; parses back to itself.
    public var text: String {
        let access = readOnly ? "ro" : "rw"
        return target.contains(",") ? "vdev=\(vdev),access=\(access),target=\(target)" : "\(target),\(vdev),\(access)"
    }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}
