import TernABI

/// The look at a guest kernel before anything is asked of Tern: an x86-64
/// little-endian ELF executable (ELF specification, e_ident and
/// e_type/e_machine) that carries the Tern note (tern/elfnote.h) of an ABI
/// this toolstack speaks. Tern checks the loading part fully; this gives
/// the user a clear message early, and refuses what only looks like a
/// guest (a Linux static program is an x86-64 ET_EXEC too).
public enum ELFCheck {
    static let magic: [UInt8] = [0x7F, 0x45, 0x4C, 0x46]   // "\x7fELF"
    static let class64: UInt8 = 2
    static let littleEndian: UInt8 = 1
    static let executable: UInt16 = 2      // ET_EXEC
    static let x86_64: UInt16 = 62         // EM_X86_64
    static let headerSize = 64
    static let abiVersionSize = 4          // the note's desc: a u32

    /// nil if it looks loadable; otherwise what is wrong.
    public static func problem(_ bytes: [UInt8]) -> String? {
        do throws(Problem) { _ = try guestABIVersion(bytes); return nil } catch { return error.description }
    }

    /// What is wrong with an image, in words for "tern: PATH: ...".
    public struct Problem: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// The TERN_ABI_VERSION the guest was built for (its Tern note), if it
    /// is an x86-64 ELF executable with the note of a compatible ABI.
    public static func guestABIVersion(_ bytes: [UInt8]) throws(Problem) -> UInt32 {
        guard bytes.count >= headerSize else { throw Problem(description: "\(bytes.count) bytes: too small to be an ELF file") }
        guard Array(bytes[0..<4]) == magic else { throw Problem(description: "not an ELF file") }
        guard bytes[4] == class64, bytes[5] == littleEndian else { throw Problem(description: "not a 64-bit little-endian ELF file") }
        let type = bytes.le16(16), machine = bytes.le16(18)
        guard machine == x86_64 else { throw Problem(description: "ELF machine \(machine), not x86-64") }
        guard type == executable else { throw Problem(description: "ELF type \(type), not an executable (a PV guest is linked static, ET_EXEC)") }
        let notes: [ELFNotes.Note]
        do throws(ELFNotes.Failure) { notes = try ELFNotes.all(bytes) } catch { throw Problem(description: error.description) }
        let name = Array(TERN_ELFNOTE_NAME.utf8)
        guard let note = notes.first(where: { $0.name == name && $0.type == UInt32(TERN_ELFNOTE_ABI_VERSION) }) else {
            throw Problem(description: "not a Tern guest (no Tern ELF note; docs/porting.md)")
        }
        guard note.desc.count == abiVersionSize else {
            throw Problem(description: "its Tern ELF note is \(note.desc.count) bytes, not a \(abiVersionSize)-byte ABI version")
        }
        let version = note.desc.le32(0)
        guard version >> 16 == UInt32(TERN_ABI_MAJOR) else {
            throw Problem(description: "built for Tern ABI \(ABIVersion.text(version)); this toolstack speaks \(ABIVersion.text(UInt32(TERN_ABI_VERSION)))")
        }
        return version
    }
}

/// TERN_ABI_VERSION = (major << 16) | minor, for people: "0.7".
public enum ABIVersion {
    public static func text(_ version: UInt32) -> String { "\(version >> 16).\(version & 0xFFFF)" }
}
