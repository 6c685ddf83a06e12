import TernABI

/// What kind of guest a kernel image is (tern/control.h, TERN_KIND_*): a
/// Tern PV guest (its Tern note names the ABI it was built for) or a Linux
/// kernel with a PVH entry (Xen's XEN_ELFNOTE_PHYS32_ENTRY note, which
/// Linux's vmlinux carries).
public enum GuestImage: Equatable {
    case pv(abiVersion: UInt32)
    case linux(pvhEntry: UInt32)

    public var isLinux: Bool { if case .linux = self { return true } else { return false } }

    /// For `tern create -n`: "Tern ABI 0.9" or "a Linux PVH kernel".
    public var description: String {
        switch self {
        case .pv(let version): return "Tern ABI \(ABIVersion.text(version))"
        case .linux: return "a Linux PVH kernel"
        }
    }
}

/// The look at a guest kernel before anything is asked of Tern: an x86-64
/// little-endian ELF executable (ELF specification, e_ident and
/// e_type/e_machine) that carries the Tern note (tern/elfnote.h) of an ABI
/// this toolstack speaks, or a PVH entry note (a Linux vmlinux). Tern
/// checks the loading part fully; this gives the user a clear message
/// early, and refuses what only looks like a guest (a Linux static program
/// is an x86-64 ET_EXEC too).
public enum ELFCheck {
    static let xenNoteName: [UInt8] = Array("Xen".utf8)
    static let pvhEntryNoteType: UInt32 = 18   // XEN_ELFNOTE_PHYS32_ENTRY (Xen's public/elfnote.h)
    static let pvhEntrySize = 4                // its desc: a u32 physical address
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

    /// The kind of guest an image is: a PVH entry note makes it a Linux
    /// kernel (a Tern guest never has one), else it must be a Tern guest
    /// (guestABIVersion).
    public static func guestImage(_ bytes: [UInt8]) throws(Problem) -> GuestImage {
        do throws(Problem) { return .pv(abiVersion: try guestABIVersion(bytes)) } catch {
            let notes = (try? ELFNotes.all(bytes)) ?? []
            guard notes.first(where: { $0.name == Array(TERN_ELFNOTE_NAME.utf8) }) == nil,
                  let entry = notes.first(where: { $0.name == xenNoteName && $0.type == pvhEntryNoteType }) else { throw error }
            guard entry.desc.count >= pvhEntrySize else {
                throw Problem(description: "its PVH entry note is \(entry.desc.count) bytes, not a \(pvhEntrySize)-byte address")
            }
            return .linux(pvhEntry: entry.desc.le32(0))
        }
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
            throw Problem(description: "not a Tern guest (no Tern ELF note) nor a Linux vmlinux (no PVH entry note); docs/porting.md")
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
