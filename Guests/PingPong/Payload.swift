/// The 4 KiB payloads of ping's map and copy modes (and the victim's
/// read-only page): message `sequence` fills a page with 512 words, word j
/// = PingPong.value(of: sequence) &+ j &* stride; its checksum is the
/// wrapping sum of the words.
enum Payload {
    static let words = Page.size / MemoryLayout<UInt64>.size
    /// 2^64 divided by the golden ratio: neighbouring words differ in many bits.
    static let stride: UInt64 = 0x9E37_79B9_7F4A_7C15

    static func word(_ index: Int, of sequence: UInt64) -> UInt64 {
        PingPong.value(of: sequence) &+ UInt64(index) &* stride
    }

    /// Writes message `sequence`'s payload into `page`; returns its checksum.
    static func fill(_ page: UnsafeMutableRawPointer, sequence: UInt64) -> UInt64 {
        // SAFETY: callers pass a whole page of their own (or a writable mapping).
        let words = page.assumingMemoryBound(to: UInt64.self)
        var sum: UInt64 = 0
        for j in 0..<Payload.words {
            let value = word(j, of: sequence)
            words[j] = value
            sum &+= value
        }
        return sum
    }

    /// The checksum of the payload in `page`.
    static func checksum(_ page: UnsafeRawPointer) -> UInt64 {
        // SAFETY: callers pass a whole mapped page.
        let words = page.assumingMemoryBound(to: UInt64.self)
        var sum: UInt64 = 0
        for j in 0..<Payload.words { sum &+= words[j] }
        return sum
    }

    /// True if `page` holds exactly message `sequence`'s payload.
    static func matches(_ page: UnsafeRawPointer, sequence: UInt64) -> Bool {
        // SAFETY: callers pass a whole mapped page.
        let words = page.assumingMemoryBound(to: UInt64.self)
        for j in 0..<Payload.words where words[j] != word(j, of: sequence) { return false }
        return true
    }
}
