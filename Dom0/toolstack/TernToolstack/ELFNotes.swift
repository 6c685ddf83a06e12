/// The notes of an ELF64 little-endian file, found through its program
/// headers (PT_NOTE segments; System V gABI, "Program Header" and "Note
/// Section"), read from bytes that may lie: every offset and size is
/// checked against the file before it is used, and nothing is read
/// outside it.
public enum ELFNotes {
    public struct Note: Equatable {
        public var name: [UInt8]   // without the NUL
        public var type: UInt32
        public var desc: [UInt8]
    }

    public enum Failure: Error, Equatable {
        case tooSmall(Int)
        case badProgramHeaders(offset: UInt64, count: UInt16, entrySize: UInt16)
        case noteSegmentOutsideFile(index: Int)
    }

    static let elfHeaderSize = 64
    static let programHeaderSize: UInt16 = 56
    static let segmentNote: UInt32 = 4      // PT_NOTE
    static let noteHeaderSize = 12          // namesz, descsz, type
    static let eightByteAlignment: UInt64 = 8

    /// Every well-formed note of every PT_NOTE segment, in file order. A
    /// note running past its segment ends that segment's walk (as Tern's
    /// own loader does); a table or segment outside the file is an error.
    public static func all(_ bytes: [UInt8]) throws(Failure) -> [Note] {
        guard bytes.count >= elfHeaderSize else { throw .tooSmall(bytes.count) }
        let phoff = bytes.le64(32), entrySize = bytes.le16(54), count = bytes.le16(56)
        let tableSize = UInt64(count) * UInt64(programHeaderSize)
        guard count == 0 || entrySize == programHeaderSize, phoff <= UInt64(bytes.count), tableSize <= UInt64(bytes.count) - phoff else {
            throw .badProgramHeaders(offset: phoff, count: count, entrySize: entrySize)
        }
        var notes: [Note] = []
        for index in 0..<Int(count) {
            let at = Int(phoff) + index * Int(programHeaderSize)
            guard bytes.le32(at) == segmentNote else { continue }
            let offset = bytes.le64(at + 8), size = bytes.le64(at + 32), align = bytes.le64(at + 48)
            guard offset <= UInt64(bytes.count), size <= UInt64(bytes.count) - offset else {
                throw .noteSegmentOutsideFile(index: index)
            }
            // gABI: 4-byte padding, except in segments aligned to 8 (GNU property notes).
            let padding = align == eightByteAlignment ? 8 : 4
            notes += walk(bytes[Int(offset)..<Int(offset + size)], padding: padding)
        }
        return notes
    }

    /// The notes in one segment's bytes, until the end or a malformed one.
    static func walk(_ segment: ArraySlice<UInt8>, padding: Int) -> [Note] {
        var notes: [Note] = []
        var at = segment.startIndex
        while segment.endIndex - at >= noteHeaderSize {
            let nameSize = UInt64(segment.le32(at)), descSize = UInt64(segment.le32(at + 4)), type = segment.le32(at + 8)
            let left = UInt64(segment.endIndex - at - noteHeaderSize)
            let paddedName = rounded(nameSize, padding), paddedDesc = rounded(descSize, padding)
            guard paddedName <= left, paddedDesc <= left - paddedName else { break }
            let nameStart = at + noteHeaderSize
            let descStart = nameStart + Int(paddedName)
            var name = Array(segment[nameStart..<(nameStart + Int(nameSize))])
            if name.last == 0 { name.removeLast() }
            notes.append(Note(name: name, type: type, desc: Array(segment[descStart..<(descStart + Int(descSize))])))
            at = descStart + Int(paddedDesc)
        }
        return notes
    }

    /// `size` rounded up to a multiple of `padding` (a power of two);
    /// sizes are at most 2^32, so this cannot overflow.
    static func rounded(_ size: UInt64, _ padding: Int) -> UInt64 {
        (size + UInt64(padding) - 1) & ~(UInt64(padding) - 1)
    }
}

extension ELFNotes.Failure: CustomStringConvertible {
    public var description: String {
        switch self {
        case .tooSmall(let n): return "\(n) bytes: too small to be an ELF file"
        case .badProgramHeaders(let offset, let count, let entrySize):
            return "bad program header table (\(count) entries of \(entrySize) bytes at offset \(offset))"
        case .noteSegmentOutsideFile(let index): return "note segment \(index) lies outside the file"
        }
    }
}

/// Little-endian reads at offsets the caller has checked to be inside.
extension Collection where Element == UInt8, Index == Int {
    func le16(_ at: Int) -> UInt16 { UInt16(self[at]) | UInt16(self[at + 1]) << 8 }
    func le32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(self[at + $1]) << (8 * $1) } }
    func le64(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(self[at + $1]) << (8 * $1) } }
}
