/// A guest that stopped before `tern create` returned: the unpause gives
/// the new guest the CPU at once, so one that crashes in its first
/// instructions has crashed, and Tern has logged why, by the time the
/// create's last call returns. `tern create` reads the log from where it
/// stood before the create and reports such an end instead of an id.
public enum EarlyEnd {
    /// Why domain `domid` `name` crashed, as Tern logged it in `log` (the
    /// text after "dN NAME crashed: "), if it did.
    public static func crash(of domid: UInt32, named name: String, in log: String) -> String? {
        let marker = Array("d\(domid) \(name) crashed: ".utf8)
        for line in log.split(separator: "\n", omittingEmptySubsequences: true) {
            let bytes = Array(line.utf8)
            guard bytes.count >= marker.count else { continue }
            for start in 0...(bytes.count - marker.count) where bytes[start..<(start + marker.count)].elementsEqual(marker) {
                // The marker starts a word: "d1 x" must not match "d11 x".
                guard start == 0 || bytes[start - 1] == UInt8(ascii: " ") else { continue }
                return String(decoding: bytes[(start + marker.count)...], as: UTF8.self)
            }
        }
        return nil
    }

    /// `tern create`'s one-line refusal for it.
    public static func message(domid: UInt32, name: String, why: String, onCrash: String) -> String {
        "d\(domid) \(name) crashed at once: \(why) (on_crash = \"\(onCrash)\"; its output: tern console \(name))"
    }
}
