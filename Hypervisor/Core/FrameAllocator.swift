/// Physical frame allocator: one bit per 4 KiB frame (1 = free) over
/// [0, frameCount * 4 KiB). Frames start out used; `addUsable` frees the
/// loader's usable ranges and `reserve` takes ranges out for good (the
/// image, modules, low memory, firmware, the bitmap itself). Reservations
/// are remembered so that freeing a reserved frame is caught as a bug.
///
/// The bitmap lives in memory the caller provides (`bitmapPlacement` finds
/// a spot for it at boot), so the allocator itself needs no heap.
public struct FrameAllocator {
    public static let frameSize: UInt64 = 4096
    public static let frameShift: UInt64 = 12
    static let bitsPerWord = 64

    public enum FreeError: Error, Equatable {
        case misaligned(UInt64)
        case outOfRange(UInt64)
        case reserved(UInt64)
        case doubleFree(UInt64)
        /// Never usable RAM (a hole or firmware area in the memory map).
        case notUsable(UInt64)
    }

    /// A reserved range and why (for the boot log).
    public struct Reservation {
        public var range: PhysicalRange
        public var reason: StaticString
    }

    /// SAFETY: `bitmapBytes(frameCount:)` bytes the caller gave us and no one
    /// else uses; every index below is a frame number < frameCount, / 64.
    private var bitmap: UnsafeMutablePointer<UInt64>
    public let frameCount: Int
    public private(set) var freeFrames = 0
    public private(set) var reservations: [Reservation] = []
    /// The usable ranges added, so that freeing a frame from a hole is caught.
    public private(set) var usableRanges: [PhysicalRange] = []
    /// Lowest word that may still hold a free bit: allocation scans start here.
    private var searchHint = 0

    /// Bytes of bitmap needed to track `frameCount` frames, whole words.
    public static func bitmapBytes(frameCount: Int) -> Int {
        (frameCount + bitsPerWord - 1) / bitsPerWord * 8
    }

    /// `bitmap` must hold `bitmapBytes(frameCount:)` bytes; it is cleared.
    public init(bitmap: UnsafeMutablePointer<UInt64>, frameCount: Int) {
        self.bitmap = bitmap
        self.frameCount = frameCount
        bitmap.update(repeating: 0, count: FrameAllocator.bitmapBytes(frameCount: frameCount) / 8)
    }

    // MARK: Setting up

    /// Marks the whole frames inside `range` free, except reserved ones.
    public mutating func addUsable(_ range: PhysicalRange) {
        let aligned = range.alignedInward(to: FrameAllocator.frameSize)
        if !aligned.isEmpty { usableRanges.append(aligned) }
        addFree(aligned)
    }

    /// Frees the frames of an aligned range, except reserved ones.
    private mutating func addFree(_ aligned: PhysicalRange) {
        var pieces = [aligned]
        for reservation in reservations {
            var rest: [PhysicalRange] = []
            for piece in pieces {
                let split = piece.subtracting(reservation.range)
                if !split.before.isEmpty { rest.append(split.before) }
                if !split.after.isEmpty { rest.append(split.after) }
            }
            pieces = rest
        }
        for piece in pieces { setRange(frames(in: piece), free: true) }
    }

    /// Takes every frame touching `range` out of the free set, for good.
    public mutating func reserve(_ range: PhysicalRange, reason: StaticString) {
        let covering = range.alignedOutward(to: FrameAllocator.frameSize)
        guard !covering.isEmpty else { return }
        reservations.append(Reservation(range: covering, reason: reason))
        setRange(frames(in: covering), free: false)
    }

    /// The bitmap is now reached at another address (the hypervisor moved
    /// from the early identity map to the direct map). Same contents.
    public mutating func bitmapMoved(to newAddress: UnsafeMutablePointer<UInt64>) {
        bitmap = newAddress
    }

    /// The bitmap's physical extent, for whoever must map or reserve it.
    public var bitmapByteCount: Int { FrameAllocator.bitmapBytes(frameCount: frameCount) }

    // MARK: Allocating

    /// The lowest free frame's address, now in use; nil when none is left.
    public mutating func allocate() -> UInt64? {
        allocate(below: UInt64.max)
    }

    /// The lowest free frame whose whole page lies below `limit`.
    public mutating func allocate(below limit: UInt64) -> UInt64? {
        let words = (frameCount + FrameAllocator.bitsPerWord - 1) / FrameAllocator.bitsPerWord
        var word = searchHint
        while word < words {
            let bits = bitmap[word]
            if bits != 0 {
                let frame = word * FrameAllocator.bitsPerWord + bits.trailingZeroBitCount
                let address = UInt64(frame) << FrameAllocator.frameShift
                guard frame < frameCount, address < limit, limit - address >= FrameAllocator.frameSize else {
                    return nil
                }
                setFree(frame, false)
                searchHint = word
                return address
            }
            word += 1
        }
        searchHint = words
        return nil
    }

    /// `count` contiguous free frames (the first `alignmentFrames`-aligned
    /// run found from the bottom), now in use; nil if there is no such run.
    /// For hardware structures that span pages (SVM permission maps).
    public mutating func allocateContiguous(count: Int, alignmentFrames: Int = 1) -> UInt64? {
        guard count > 0, alignmentFrames > 0 else { return nil }
        let bits = FrameAllocator.bitsPerWord
        if count % bits == 0 && alignmentFrames % bits == 0 {
            // Whole words: a run is free when its words are all ones.
            let words = count / bits, step = alignmentFrames / bits
            var word = searchHint / step * step   // no free frame below the hint
            while (word + words) * bits <= frameCount {
                var free = true
                for w in word..<(word + words) where bitmap[w] != UInt64.max { free = false; break }
                if free {
                    setRange((word * bits)..<((word + words) * bits), free: false)
                    return UInt64(word * bits) << FrameAllocator.frameShift
                }
                word += step
            }
            return nil
        }
        // From the lowest word that may hold a free frame, skipping whole
        // used words (a bit-by-bit walk over a mostly used bitmap costs
        // milliseconds per create under TCG).
        var start = searchHint * bits
        while start + count <= frameCount {
            if start % bits == 0, bitmap[start / bits] == 0 {
                start += bits
                continue
            }
            if start % alignmentFrames != 0 {
                start += alignmentFrames - start % alignmentFrames
                continue
            }
            var run = 0
            while run < count && isFree(start + run) { run += 1 }
            if run == count {
                setRange(start..<(start + count), free: false)
                return UInt64(start) << FrameAllocator.frameShift
            }
            start += run + 1
        }
        return nil
    }

    /// `count` contiguous free frames as high in memory as possible, now in
    /// use (to move boot modules out of the way of fixed load addresses).
    public mutating func allocateContiguousFromTop(count: Int) -> UInt64? {
        guard count > 0, count <= frameCount else { return nil }
        var end = frameCount   // candidate run is [end - count, end)
        while end - count >= 0 {
            var run = 0
            while run < count && isFree(end - 1 - run) { run += 1 }
            if run == count {
                setRange((end - count)..<end, free: false)
                return UInt64(end - count) << FrameAllocator.frameShift
            }
            end -= run + 1
        }
        return nil
    }

    /// Ends a reservation made with `reserve` for exactly `range`: its
    /// frames that are usable RAM and not otherwise reserved become free.
    /// False if there was no such reservation.
    @discardableResult
    public mutating func unreserve(_ range: PhysicalRange) -> Bool {
        let covering = range.alignedOutward(to: FrameAllocator.frameSize)
        guard let index = reservations.firstIndex(where: { $0.range == covering }) else { return false }
        reservations.remove(at: index)
        for usable in usableRanges where usable.overlaps(covering) {
            addFree(PhysicalRange(start: max(usable.start, covering.start), end: min(usable.end, covering.end)))
        }
        return true
    }

    /// Returns a frame. Freeing a frame that is misaligned, out of range,
    /// reserved or already free is an error, and changes nothing.
    public mutating func free(_ address: UInt64) throws(FreeError) {
        guard address & (FrameAllocator.frameSize - 1) == 0 else { throw .misaligned(address) }
        let frame64 = address >> FrameAllocator.frameShift
        guard frame64 < UInt64(frameCount) else { throw .outOfRange(address) }
        let frame = Int(frame64)
        guard !isReserved(frame) else { throw .reserved(address) }
        guard usableRanges.contains(where: { $0.contains(address) }) else { throw .notUsable(address) }
        guard !isFree(frame) else { throw .doubleFree(address) }
        setFree(frame, true)
        searchHint = min(searchHint, frame / FrameAllocator.bitsPerWord)
    }

    public func isFree(address: UInt64) -> Bool {
        let frame = address >> FrameAllocator.frameShift
        return frame < UInt64(frameCount) && isFree(Int(frame))
    }

    // MARK: Placing the bitmap

    /// Where to put the bitmap for `frameCount` frames: the lowest
    /// page-aligned spot inside a usable region that avoids every range in
    /// `avoid`. nil when no region has room.
    public static func bitmapPlacement(frameCount: Int, map: MemoryMap, avoid: [PhysicalRange]) -> UInt64? {
        let size = UInt64(bitmapBytes(frameCount: frameCount)).roundedUp(to: frameSize)
        for i in 0..<map.count where map[i].kind == .usable {
            let region = map[i].range.alignedInward(to: frameSize)
            var candidate = region.start
            var moved = true
            // Step past any avoided range the candidate overlaps, until it
            // fits in the region or overlaps nothing.
            while moved {
                moved = false
                guard region.end >= candidate, region.end - candidate >= size else { break }
                let spot = PhysicalRange(start: candidate, end: candidate + size)
                for range in avoid where range.overlaps(spot) {
                    candidate = range.end.roundedUp(to: frameSize)
                    moved = true
                }
                if !moved { return candidate }
            }
        }
        return nil
    }

    // MARK: Bits

    private func isFree(_ frame: Int) -> Bool {
        bitmap[frame / FrameAllocator.bitsPerWord] & (1 << UInt64(frame % FrameAllocator.bitsPerWord)) != 0
    }

    private mutating func setFree(_ frame: Int, _ free: Bool) {
        let mask: UInt64 = 1 << UInt64(frame % FrameAllocator.bitsPerWord)
        if free {
            bitmap[frame / FrameAllocator.bitsPerWord] |= mask
            freeFrames += 1
        } else {
            bitmap[frame / FrameAllocator.bitsPerWord] &= ~mask
            freeFrames -= 1
        }
    }

    /// Sets a run of frames free or used a word at a time, counting only
    /// the bits that change.
    private mutating func setRange(_ frames: Range<Int>, free: Bool) {
        var frame = frames.lowerBound
        while frame < frames.upperBound {
            let word = frame / FrameAllocator.bitsPerWord
            let bit = frame % FrameAllocator.bitsPerWord
            let run = min(FrameAllocator.bitsPerWord - bit, frames.upperBound - frame)
            let mask: UInt64 = (run == FrameAllocator.bitsPerWord ? UInt64.max : (1 << UInt64(run)) - 1) << UInt64(bit)
            let old = bitmap[word]
            let new = free ? old | mask : old & ~mask
            let changed = (old ^ new).nonzeroBitCount
            freeFrames += free ? changed : -changed
            bitmap[word] = new
            frame += run
        }
        if free { searchHint = min(searchHint, frames.lowerBound / FrameAllocator.bitsPerWord) }
    }

    private func isReserved(_ frame: Int) -> Bool {
        let address = UInt64(frame) << FrameAllocator.frameShift
        for reservation in reservations where reservation.range.contains(address) { return true }
        return false
    }

    /// The frame indices of a page-aligned `range` that the bitmap covers.
    private func frames(in range: PhysicalRange) -> Range<Int> {
        let first = min(range.start >> FrameAllocator.frameShift, UInt64(frameCount))
        let last = min(range.end >> FrameAllocator.frameShift, UInt64(frameCount))
        return first < last ? Int(first)..<Int(last) : 0..<0
    }
}
