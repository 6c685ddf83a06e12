/// Tern's console history: the last `capacity` bytes written to its
/// console (its log and the DomUs' console lines), kept for Dom0's
/// `TERN_HC_LOG_READ` (`xl dmesg`). Positions count bytes since boot, so a
/// reader resumes where it stopped and learns what it missed.
/// The storage is given by the caller (a static area on bare metal, so the
/// first log line is kept too, before the heap exists).
public struct ConsoleRing {
    public let storage: UnsafeMutableRawBufferPointer
    /// Bytes written since boot: the position of the next byte.
    public private(set) var end: UInt64 = 0

    /// `storage.count` must be a power of two.
    public init(storage: UnsafeMutableRawBufferPointer) {
        precondition(storage.count > 0 && storage.count & (storage.count - 1) == 0, "ring size must be a power of two")
        self.storage = storage
    }

    public var capacity: UInt64 { UInt64(storage.count) }
    /// The position of the oldest byte still held.
    public var start: UInt64 { end > capacity ? end - capacity : 0 }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        // Only the last `capacity` bytes of a long write can survive it.
        var remaining = bytes.count > storage.count ? UnsafeRawBufferPointer(rebasing: bytes[(bytes.count - storage.count)...]) : bytes
        end &+= UInt64(bytes.count - remaining.count)
        while !remaining.isEmpty {
            let offset = Int(end & (capacity - 1))
            let n = min(remaining.count, storage.count - offset)
            // SAFETY: offset < capacity (masked) and n <= storage.count - offset,
            // so the target is inside storage; n <= remaining.count.
            UnsafeMutableRawBufferPointer(rebasing: storage[offset..<(offset + n)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: remaining[0..<n]))
            remaining = UnsafeRawBufferPointer(rebasing: remaining[n...])
            end &+= UInt64(n)
        }
    }

    public struct Span: Equatable {
        /// First position the span covers (the one asked for, or the oldest
        /// byte held if that was overwritten).
        public var position: UInt64
        public var count: Int
        /// Bytes between the position asked for and `position`, overwritten.
        public var lost: UInt64
    }

    /// Which bytes a read of up to `maximum` bytes from `position` gets;
    /// nil if `position` lies in the future.
    public func span(from position: UInt64, maximum: Int) -> Span? {
        guard position <= end else { return nil }
        let first = max(position, start)
        return Span(position: first, count: Int(min(UInt64(maximum), end - first)), lost: first - position)
    }

    /// The span's bytes as at most two contiguous pieces of the storage, in
    /// order (the second is empty unless the span wraps).
    public func pieces(of span: Span) -> (UnsafeRawBufferPointer, UnsafeRawBufferPointer) {
        let offset = Int(span.position & (capacity - 1))
        let first = min(span.count, storage.count - offset)
        let whole = UnsafeRawBufferPointer(storage)
        return (UnsafeRawBufferPointer(rebasing: whole[offset..<(offset + first)]),
                UnsafeRawBufferPointer(rebasing: whole[0..<(span.count - first)]))
    }
}
