/// Tern's unit of memory: the x86-64 page (4 KiB), the size of every
/// frame the ABI counts (tern_system_info.free_frames, image frames).
public enum Frames {
    public static let size: UInt64 = 4096
    static let kiB: UInt64 = 1 << 10
    static let miB: UInt64 = 1 << 20

    /// A size for people: "2 MiB", "2.1 MiB", "12 KiB", "100 bytes";
    /// rounded up (a size over a limit never reads as the limit).
    public static func text(_ bytes: UInt64) -> String {
        if bytes < kiB { return "\(bytes) bytes" }
        if bytes < miB { return "\((bytes + kiB - 1) / kiB) KiB" }
        let tenths = (bytes * 10 + miB - 1) / miB
        return tenths % 10 == 0 ? "\(tenths / 10) MiB" : "\(tenths / 10).\(tenths % 10) MiB"
    }
}
