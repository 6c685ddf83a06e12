/// The parts of an ELF64 executable Tern needs to load a guest: its entry
/// point and its PT_LOAD segments (System V gABI, "ELF header" and "Program
/// header"). Everything is bounds-checked; a bad image is a named error.
public struct ELFImage {
    public struct Segment: Equatable {
        public var fileOffset: UInt64
        public var fileSize: UInt64
        public var address: UInt64   // p_paddr: where the segment goes in guest-physical memory
        public var memorySize: UInt64
    }

    public enum Error: Swift.Error, Equatable {
        case tooSmall(Int)
        case notELF
        case not64BitLittleEndian
        case notX86_64(UInt16)
        case notExecutable(UInt16)
        case badProgramHeaders(offset: UInt64, count: UInt16, entrySize: UInt16)
        case segmentOutsideFile(index: Int)
        case segmentFileLargerThanMemory(index: Int)
        case segmentWraps(index: Int)
        case noLoadableSegment
        case tooManySegments(Int)
    }

    static let headerSize = 64
    static let programHeaderSize: UInt16 = 56
    static let machineX86_64: UInt16 = 62
    static let typeExecutable: UInt16 = 2
    static let segmentLoad: UInt32 = 1
    static let segmentNote: UInt32 = 4
    public static let maxSegments = 16
    /// XEN_ELFNOTE_PHYS32_ENTRY in a "Xen" note: the 32-bit physical entry
    /// of a kernel that supports the PVH boot protocol (Xen's
    /// public/elfnote.h; Linux emits it even when built without Xen).
    static let pvhEntryNoteType: UInt32 = 18

    public var entry: UInt64
    public var segments: [Segment] = []
    /// The PVH entry point, if the image has one (Linux: Dom0's kernel).
    public var pvhEntry: UInt32?

    /// The lowest and one-past-highest guest-physical byte the image covers.
    public var span: PhysicalRange {
        var low = UInt64.max, high: UInt64 = 0
        for s in segments {
            low = min(low, s.address)
            high = max(high, s.address + s.memorySize)
        }
        return PhysicalRange(start: low, end: high)
    }

    public init(parsing file: UnsafeRawBufferPointer) throws(Error) {
        guard file.count >= ELFImage.headerSize else { throw .tooSmall(file.count) }
        guard file[0] == 0x7F, file[1] == UInt8(ascii: "E"), file[2] == UInt8(ascii: "L"), file[3] == UInt8(ascii: "F") else {
            throw .notELF
        }
        guard file[4] == 2, file[5] == 1 else { throw .not64BitLittleEndian }  // ELFCLASS64, ELFDATA2LSB
        let type = UInt16(file[16]) | UInt16(file[17]) << 8
        let machine = UInt16(file[18]) | UInt16(file[19]) << 8
        guard machine == ELFImage.machineX86_64 else { throw .notX86_64(machine) }
        guard type == ELFImage.typeExecutable else { throw .notExecutable(type) }
        entry = file.u64(at: 24)!
        let phoff = file.u64(at: 32)!
        let phentsize = UInt16(file[54]) | UInt16(file[55]) << 8
        let phnum = UInt16(file[56]) | UInt16(file[57]) << 8
        let tableSize = UInt64(phnum) * UInt64(ELFImage.programHeaderSize)
        guard phentsize == ELFImage.programHeaderSize, phoff <= UInt64(file.count),
              tableSize <= UInt64(file.count) - phoff else {
            throw .badProgramHeaders(offset: phoff, count: phnum, entrySize: phentsize)
        }
        for index in 0..<Int(phnum) {
            let at = Int(phoff) + index * Int(ELFImage.programHeaderSize)
            let type = file.u32(at: at)!
            if type == ELFImage.segmentNote {
                let offset = file.u64(at: at + 8)!, size = file.u64(at: at + 32)!
                if offset <= UInt64(file.count), size <= UInt64(file.count) - offset {
                    let notes = UnsafeRawBufferPointer(rebasing: file[Int(offset)..<Int(offset + size)])
                    pvhEntry = pvhEntry ?? ELFImage.pvhEntry(inNotes: notes)
                }
                continue
            }
            guard type == ELFImage.segmentLoad else { continue }
            let segment = Segment(fileOffset: file.u64(at: at + 8)!, fileSize: file.u64(at: at + 32)!,
                                  address: file.u64(at: at + 24)!, memorySize: file.u64(at: at + 40)!)
            guard segment.fileOffset <= UInt64(file.count),
                  segment.fileSize <= UInt64(file.count) - segment.fileOffset else { throw .segmentOutsideFile(index: index) }
            guard segment.fileSize <= segment.memorySize else { throw .segmentFileLargerThanMemory(index: index) }
            guard segment.address.addingReportingOverflow(segment.memorySize).overflow == false else {
                throw .segmentWraps(index: index)
            }
            guard segments.count < ELFImage.maxSegments else { throw .tooManySegments(Int(phnum)) }
            if segment.memorySize > 0 { segments.append(segment) }
        }
        guard !segments.isEmpty else { throw .noLoadableSegment }
    }

    /// Whether `file` is an ELF image with a PVH entry note: what makes a
    /// created guest a Linux guest (tern/control.h, TERN_KIND_LINUX).
    public static func hasPVHEntry(_ file: UnsafeRawBufferPointer) -> Bool {
        do throws(Error) { return try ELFImage(parsing: file).pvhEntry != nil } catch { return false }
    }

    /// Walks ELF notes (namesz u32, descsz u32, type u32, name, desc; name
    /// and desc padded to 4 bytes) for a "Xen" PHYS32_ENTRY note. A
    /// malformed note ends the walk; it never reads outside `notes`.
    static func pvhEntry(inNotes notes: UnsafeRawBufferPointer) -> UInt32? {
        var at = 0
        while let nameSize = notes.u32(at: at), let descSize = notes.u32(at: at + 4), let type = notes.u32(at: at + 8) {
            let nameStart = at + 12
            let descStart = nameStart + (Int(nameSize) + 3) & ~3
            let next = descStart + (Int(descSize) + 3) & ~3
            guard nameSize <= 64, descSize <= 1 << 16, next <= notes.count else { return nil }
            let name = UnsafeRawBufferPointer(rebasing: notes[nameStart..<(nameStart + Int(nameSize))])
            if type == pvhEntryNoteType && name.count == 4 && name.prefix(3).elementsEqual("Xen".utf8) && descSize >= 4 {
                return notes.u32(at: descStart)
            }
            at = next
        }
        return nil
    }
}

extension ELFImage.Error {
    /// What is wrong with the image, for the log.
    public var message: LogMessage {
        switch self {
        case .tooSmall(let n): return "\(n) bytes is too small"
        case .notELF: return "no ELF magic"
        case .not64BitLittleEndian: return "not 64-bit little-endian"
        case .notX86_64(let m): return "machine \(m), not x86-64"
        case .notExecutable(let t): return "type \(t), not an executable"
        case .badProgramHeaders: return "bad program header table"
        case .segmentOutsideFile(let i): return "segment \(i) outside the file"
        case .segmentFileLargerThanMemory(let i): return "segment \(i) file size exceeds memory size"
        case .segmentWraps(let i): return "segment \(i) wraps around"
        case .noLoadableSegment: return "no loadable segment"
        case .tooManySegments(let n): return "\(n) segments"
        }
    }
}

extension ELFImage {
    /// Copies each loadable segment of `image` (the bytes this ELF was
    /// parsed from) to its physical address in `memory`, and zeroes the
    /// rest of each segment (.bss) when `zeroingBSS` (memory not known to
    /// be zero). False if a segment is not all in `memory`.
    public func copySegments<M: PhysicalMemory>(
        of image: UnsafeRawBufferPointer, into memory: GuestMemory<M>, zeroingBSS: Bool
    ) -> Bool {
        for segment in segments {
            let bytes = UnsafeRawBufferPointer(
                rebasing: image[Int(segment.fileOffset)..<Int(segment.fileOffset + segment.fileSize)])
            guard memory.copyToGuest(at: segment.address, from: bytes) else { return false }
            guard !zeroingBSS || memory.zero(at: segment.address + segment.fileSize,
                                             count: segment.memorySize - segment.fileSize) else { return false }
        }
        return true
    }
}
