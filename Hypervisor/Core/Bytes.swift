extension UnsafeRawBufferPointer {
    /// Byte-wise comparison with an ASCII literal, without String (whose
    /// Unicode machinery would pull tables into the hypervisor image).
    public func equals(_ text: StaticString) -> Bool {
        guard count == text.utf8CodeUnitCount else { return false }
        return text.withUTF8Buffer { literal in
            for i in 0..<count where self[i] != literal[i] { return false }
            return true
        }
    }

    /// Whether the bytes start with an ASCII literal (as `equals`, no String).
    public func hasPrefix(_ text: StaticString) -> Bool {
        let length = text.utf8CodeUnitCount
        return count >= length && UnsafeRawBufferPointer(rebasing: self[0..<length]).equals(text)
    }

    /// Little-endian fixed-width loads; nil when the read would leave the
    /// buffer (the caller turns that into a "truncated" error).
    public func u32(at offset: Int) -> UInt32? {
        guard offset >= 0, offset <= count - 4 else { return nil }
        return UInt32(self[offset]) | UInt32(self[offset + 1]) << 8
            | UInt32(self[offset + 2]) << 16 | UInt32(self[offset + 3]) << 24
    }

    public func u64(at offset: Int) -> UInt64? {
        guard let low = u32(at: offset), let high = u32(at: offset + 4) else { return nil }
        return UInt64(low) | UInt64(high) << 32
    }
}

/// Calls `body(token, offset, end)` for each space-separated token of a
/// command line, up to the first NUL; `body` returns false to stop. Shared
/// by Tern's own options and the boot modules' options.
public func forEachToken(in line: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer, Int, Int) -> Bool) {
    let space = UInt8(ascii: " ")
    var index = 0
    while index < line.count && line[index] != 0 {
        while index < line.count && line[index] == space { index += 1 }
        let start = index
        while index < line.count && line[index] != space && line[index] != 0 { index += 1 }
        if start == index { return }
        if !body(UnsafeRawBufferPointer(rebasing: line[start..<index]), start, index) { return }
    }
}
