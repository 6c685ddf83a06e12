import TernGuestC

/// `mode=scribble` and `mode=leakcheck`: what a guest leaves in its
/// memory must never reach the next guest that gets the same frames
/// (Tern zeroes them when it builds a guest: docs/architecture.md).
/// scribble writes a marker into every 8 bytes of its free memory (between
/// its image and its page tables, start info free_gpa..page_tables_gpa)
/// and powers off; leakcheck reads the same range of a new guest and counts
/// the words that are not zero and those that hold the marker.
enum MemoryLeakCheck {
    /// "TERNLEAK", little-endian.
    static let marker: UInt64 = 0x4B41_454C_4E52_4554
    static let wordSize: UInt64 = 8

    static func freeRange() -> (start: UInt64, end: UInt64) {
        // SAFETY: the start-info page (StartInfo.current), mapped for life.
        let info = StartInfo.current.page.pointee
        return ((info.free_gpa + wordSize - 1) & ~(wordSize - 1), info.page_tables_gpa & ~(wordSize - 1))
    }

    static func scribble() -> Int64 {
        let (start, end) = freeRange()
        var address = start
        while address < end {
            // SAFETY: identity-mapped free memory of this guest, below its page tables.
            tern_guest_write64(address, marker)
            address += wordSize
        }
        print("hostile: scribbled \((end - start) >> 20) MiB of free memory with the marker")
        return Int64(TERN_SHUTDOWN_POWEROFF)
    }

    static func check() -> Int64 {
        let (start, end) = freeRange()
        var nonzero: UInt64 = 0, marked: UInt64 = 0
        var address = start
        while address < end {
            // SAFETY: identity-mapped free memory of this guest, below its page tables.
            let word = tern_guest_read64(address)
            if word != 0 { nonzero += 1 }
            if word == marker { marked += 1 }
            address += wordSize
        }
        print("hostile: leakcheck: \((end - start) >> 20) MiB of free memory, \(nonzero) words not zero, \(marked) with the marker")
        return Int64(TERN_SHUTDOWN_POWEROFF)
    }
}
