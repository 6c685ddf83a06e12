/// The first look at a guest kernel before anything is asked of Tern: an
/// x86-64 little-endian ELF executable (ELF specification, e_ident and
/// e_type/e_machine). Tern checks it fully; this gives the user a clear
/// message early.
public enum ELFCheck {
    static let magic: [UInt8] = [0x7F, 0x45, 0x4C, 0x46]   // "\x7fELF"
    static let class64: UInt8 = 2
    static let littleEndian: UInt8 = 1
    static let executable: UInt16 = 2      // ET_EXEC
    static let x86_64: UInt16 = 62         // EM_X86_64
    static let headerSize = 64

    /// nil if it looks loadable; otherwise what is wrong.
    public static func problem(_ bytes: [UInt8]) -> String? {
        guard bytes.count >= headerSize else { return "\(bytes.count) bytes: too small to be an ELF file" }
        guard Array(bytes[0..<4]) == magic else { return "not an ELF file" }
        guard bytes[4] == class64, bytes[5] == littleEndian else { return "not a 64-bit little-endian ELF file" }
        let type = UInt16(bytes[16]) | UInt16(bytes[17]) << 8
        let machine = UInt16(bytes[18]) | UInt16(bytes[19]) << 8
        guard machine == x86_64 else { return "ELF machine \(machine), not x86-64" }
        guard type == executable else { return "ELF type \(type), not an executable (a PV guest is linked static, ET_EXEC)" }
        return nil
    }
}
