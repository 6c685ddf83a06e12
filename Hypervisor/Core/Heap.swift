/// The hypervisor's heap: address-ordered first fit over one region, with
/// a 16-byte header per block and coalescing on free. It backs Swift's
/// allocations on bare metal (posix_memalign/free in
/// Hypervisor/Runtime/runtime.c), so it must never allocate itself: it
/// works on raw memory only.
///
/// Free blocks are chained through their payloads (next and previous
/// offsets) in bins by size (powers of two), each bin in address order, so
/// an allocation looks only at free blocks that may be large enough: small
/// holes between long-lived objects are not walked past again and again;
/// a map
/// with one bit per 16 bytes marks where blocks start, so a free finds its
/// block and its neighbours without walking the heap. With 200 guests'
/// objects live, walking every block on each allocation and free (as this
/// heap first did) made creating a guest cost time in proportion to the
/// guests already running.
///
/// Frees are checked: a pointer that is not the start of a live block
/// (foreign, interior, already freed) is reported, never trusted; the map,
/// not a header found in memory, says where blocks start, so a forged
/// header inside a payload never passes for a block.
public struct Heap {
    public static let headerSize = 16
    public static let minimumAlignment = 16
    /// Smallest block worth splitting off: a header plus the two links.
    static let minimumBlock = 32
    /// Tags in a block header's second word.
    static let freeTag: UInt64 = 0x7465_726E_4652_4545   // "ternFREE"
    static let usedTag: UInt64 = 0x7465_726E_5553_4544   // "ternUSED"
    static let none = -1
    static let granule = 16

    public enum FreeError: Error, Equatable {
        case notFromHeap(UInt)
        case notABlock(UInt)
        case doubleFree(UInt)
    }

    private let base: UnsafeMutableRawPointer
    public let size: Int
    /// One bit per granule: a block starts there.
    private let startMap: UnsafeMutablePointer<UInt64>
    /// Per bin, its lowest free block, or `none` (kept after the map, in
    /// the same caller-given memory). Bin b holds free blocks of 2^(b+5) up
    /// to 2^(b+6) - 1 bytes (the last bin: any larger).
    private let bins: UnsafeMutablePointer<Int>
    static let binCount = 16
    public private(set) var bytesInUse = 0
    public private(set) var peakBytesInUse = 0
    public private(set) var liveBlocks = 0

    /// Words the start map of a heap of `size` bytes needs (the bins' heads
    /// included).
    public static func startMapWords(forSize size: Int) -> Int { mapWords(forSize: size) + binCount + 1 }
    static func mapWords(forSize size: Int) -> Int { (size / granule + 63) / 64 }

    /// Manages [base, base+size); `base` 16-aligned, size a multiple of 16;
    /// `startMap` has startMapWords(forSize: size) words, zeroed here unless
    /// `mapIsZeroed` (the hypervisor's is in .bss: zeroing 8 KiB again would
    /// cost the boot 8 us, a fifth of its console phase).
    public init(base: UnsafeMutableRawPointer, size: Int, startMap: UnsafeMutablePointer<UInt64>, mapIsZeroed: Bool = false) {
        precondition(UInt(bitPattern: base) % UInt(Heap.minimumAlignment) == 0 && size % Heap.minimumAlignment == 0
                     && size >= Heap.minimumBlock)
        self.base = base
        self.size = size
        self.startMap = startMap
        // SAFETY: the caller's startMap has startMapWords(forSize:) words:
        // the map's mapWords(forSize:), then the bins' binCount + 1.
        if !mapIsZeroed { startMap.initialize(repeating: 0, count: Heap.mapWords(forSize: size)) }
        bins = UnsafeMutableRawPointer(startMap + Heap.mapWords(forSize: size)).bindMemory(to: Int.self, capacity: Heap.binCount + 1)
        bins.initialize(repeating: Heap.none, count: Heap.binCount)
        bins[Heap.binCount] = 0   // bit b: bin b is not empty
        setHeader(at: 0, size: size, tag: Heap.freeTag)
        setStart(0, true)
        insertFree(0)
    }

    /// `size` bytes aligned to `alignment` (a power of two), or nil.
    public mutating func allocate(size requested: Int, alignment requestedAlignment: Int) -> UnsafeMutableRawPointer? {
        guard requested >= 0, requestedAlignment > 0, requestedAlignment & (requestedAlignment - 1) == 0,
              requested <= size else { return nil }
        let alignment = max(requestedAlignment, Heap.minimumAlignment)
        let payloadSize = max(16, (requested + 15) & ~15)
        // The non-empty bins from the request's own up, lowest first.
        var candidates = UInt(bitPattern: bins[Heap.binCount]) & ~((UInt(1) << UInt(Heap.bin(ofSize: Heap.headerSize + payloadSize))) - 1)
        while candidates != 0 {
            let bin = candidates.trailingZeroBitCount
            candidates &= candidates - 1
            if let found = allocate(inBin: bin, payloadSize: payloadSize, alignment: alignment) { return found }
        }
        return nil
    }

    /// First fit in one bin's chain.
    private mutating func allocate(inBin bin: Int, payloadSize: Int, alignment: Int) -> UnsafeMutableRawPointer? {
        var offset = first(bin)
        while offset != Heap.none {
            let (blockSize, _) = header(at: offset)
            // Place the payload at the first aligned spot, leaving any gap
            // in front as a free block of its own (or none at all). Aligned
            // as an address, not as an offset: the base itself is only
            // guaranteed 16-aligned.
            var payload = alignedOffset(offset + Heap.headerSize, to: alignment)
            if payload - Heap.headerSize != offset && payload - Heap.headerSize - offset < Heap.minimumBlock {
                payload = alignedOffset(offset + Heap.minimumBlock + Heap.headerSize, to: alignment)
            }
            let start = payload - Heap.headerSize
            let needed = Heap.headerSize + payloadSize
            if start + needed <= offset + blockSize {
                removeFree(offset)
                if start != offset {
                    // The gap in front stays free, in its own bin.
                    setHeader(at: offset, size: start - offset, tag: Heap.freeTag)
                    setStart(start, true)
                    insertFree(offset)
                }
                var used = offset + blockSize - start
                if used - needed >= Heap.minimumBlock {
                    setHeader(at: start + needed, size: used - needed, tag: Heap.freeTag)
                    setStart(start + needed, true)
                    insertFree(start + needed)
                    used = needed
                }
                setHeader(at: start, size: used, tag: Heap.usedTag)
                bytesInUse += used
                peakBytesInUse = max(peakBytesInUse, bytesInUse)
                liveBlocks += 1
                return base + payload
            }
            offset = link(at: offset).next
        }
        return nil
    }

    /// Returns a block. Anything but a live block's pointer is an error
    /// and changes nothing.
    public mutating func free(_ pointer: UnsafeMutableRawPointer) throws(FreeError) {
        let address = UInt(bitPattern: pointer)
        let start = UInt(bitPattern: base)
        guard address >= start + UInt(Heap.headerSize), address < start + UInt(size) else { throw .notFromHeap(address) }
        let target = Int(address - start) - Heap.headerSize
        guard target % Heap.granule == 0, isStart(target) else {
            // Inside a free block: that memory was freed already (possibly
            // merged with its neighbour since).
            if let containing = previousStart(before: target + 1), header(at: containing).tag == Heap.freeTag {
                throw .doubleFree(address)
            }
            throw .notABlock(address)
        }
        let (blockSize, tag) = header(at: target)
        guard tag == Heap.usedTag else {
            if tag == Heap.freeTag { throw .doubleFree(address) }
            throw .notABlock(address)
        }
        bytesInUse -= blockSize
        liveBlocks -= 1
        var mergedSize = blockSize
        let next = target + blockSize
        if next < size, header(at: next).tag == Heap.freeTag {
            mergedSize += header(at: next).size
            removeFree(next)
            setStart(next, false)
        }
        if let previous = previousStart(before: target), header(at: previous).tag == Heap.freeTag {
            // The previous free block grows over this one (maybe into another bin).
            removeFree(previous)
            setHeader(at: previous, size: header(at: previous).size + mergedSize, tag: Heap.freeTag)
            setStart(target, false)
            insertFree(previous)
        } else {
            setHeader(at: target, size: mergedSize, tag: Heap.freeTag)
            insertFree(target)
        }
    }

    /// Size of the largest block `allocate` could return (alignment 16).
    public var largestFreeBlock: Int {
        var best = 0
        for bin in 0..<Heap.binCount {
            var offset = first(bin)
            while offset != Heap.none {
                best = max(best, header(at: offset).size - Heap.headerSize)
                offset = link(at: offset).next
            }
        }
        return best
    }

    /// Walks every block (for tests; O(blocks)): they tile the heap, the map
    /// marks exactly their starts, the chain lists exactly the free ones in
    /// address order with matching back links, and no two free blocks touch.
    func isConsistent() -> Bool {
        var offset = 0, previousWasFree = false, starts = 0, free = 0
        while offset < size {
            let (blockSize, tag) = header(at: offset)
            guard blockSize >= Heap.headerSize, blockSize % Heap.granule == 0, isStart(offset),
                  tag == Heap.freeTag || tag == Heap.usedTag, !(previousWasFree && tag == Heap.freeTag) else { return false }
            starts += 1
            if tag == Heap.freeTag { free += 1 }
            previousWasFree = tag == Heap.freeTag
            offset += blockSize
        }
        var chained = 0
        for bin in 0..<Heap.binCount {
            var at = first(bin), previous = Heap.none
            while at != Heap.none {
                guard at > previous, header(at: at).tag == Heap.freeTag, Heap.bin(ofSize: header(at: at).size) == bin,
                      link(at: at).previous == previous else { return false }
                chained += 1
                previous = at
                at = link(at: at).next
            }
        }
        var mapped = 0
        for word in 0..<Heap.mapWords(forSize: size) { mapped += startMap[word].nonzeroBitCount }
        return offset == size && chained == free && mapped == starts
    }

    // MARK: The free chains (one per bin, address order)

    /// The bin of a free block of `bytes` (>= minimumBlock).
    static func bin(ofSize bytes: Int) -> Int {
        min(binCount - 1, max(0, Int.bitWidth - 1 - bytes.leadingZeroBitCount - 5))
    }

    // SAFETY (both): bin < binCount, inside the bins' words (the mask is
    // the word after them).
    private func first(_ bin: Int) -> Int { bins[bin] }
    private func setFirst(_ bin: Int, _ offset: Int) {
        bins[bin] = offset
        let bit = 1 << bin
        bins[Heap.binCount] = offset == Heap.none ? bins[Heap.binCount] & ~bit : bins[Heap.binCount] | bit
    }

    /// Chains a free block (its header written) into its size's bin.
    private mutating func insertFree(_ offset: Int) {
        let bin = Heap.bin(ofSize: header(at: offset).size)
        var previous = Heap.none
        var next = first(bin)
        while next != Heap.none && next < offset {
            previous = next
            next = link(at: next).next
        }
        setLink(at: offset, next: next, previous: previous)
        if previous == Heap.none { setFirst(bin, offset) } else { setLink(at: previous, next: offset, previous: link(at: previous).previous) }
        if next != Heap.none { setLink(at: next, next: link(at: next).next, previous: offset) }
    }

    /// Unchains a free block; its header still has the size it was chained with.
    private mutating func removeFree(_ offset: Int) {
        let bin = Heap.bin(ofSize: header(at: offset).size)
        let (next, previous) = link(at: offset)
        if previous == Heap.none { setFirst(bin, next) } else { setLink(at: previous, next: next, previous: link(at: previous).previous) }
        if next != Heap.none { setLink(at: next, next: link(at: next).next, previous: previous) }
    }

    // MARK: The start map

    private func isStart(_ offset: Int) -> Bool {
        let g = offset / Heap.granule
        // SAFETY: g < size / 16, inside the map (startMapWords).
        return startMap[g / 64] & (UInt64(1) << UInt64(g % 64)) != 0
    }

    private func setStart(_ offset: Int, _ on: Bool) {
        let g = offset / Heap.granule
        let bit = UInt64(1) << UInt64(g % 64)
        // SAFETY: as in isStart.
        if on { startMap[g / 64] |= bit } else { startMap[g / 64] &= ~bit }
    }

    /// The start of the last block that starts below `offset` (0 <= offset
    /// <= size), a word of the map at a time; nil if none.
    private func previousStart(before offset: Int) -> Int? {
        guard offset > 0 else { return nil }
        let g = (offset - 1) / Heap.granule   // the last granule to consider
        var word = g / 64
        // SAFETY (map reads): word <= g / 64 < startMapWords.
        var bits = startMap[word] & (g % 64 == 63 ? UInt64.max : (UInt64(1) << UInt64(g % 64 + 1)) - 1)
        while bits == 0 {
            guard word > 0 else { return nil }
            word -= 1
            bits = startMap[word]
        }
        return (word * 64 + 63 - bits.leadingZeroBitCount) * Heap.granule
    }

    // MARK: Headers and links

    /// The smallest offset >= `offset` whose address is `alignment`-aligned.
    private func alignedOffset(_ offset: Int, to alignment: Int) -> Int {
        let address = UInt(bitPattern: base) + UInt(offset)
        let aligned = (address + UInt(alignment) - 1) & ~(UInt(alignment) - 1)
        return offset + Int(aligned - address)
    }

    private func header(at offset: Int) -> (size: Int, tag: UInt64) {
        // SAFETY: offsets are block starts (the map, the chain), inside [0, size).
        let words = (base + offset).assumingMemoryBound(to: UInt64.self)
        return (Int(words[0]), words[1])
    }

    private func setHeader(at offset: Int, size blockSize: Int, tag: UInt64) {
        // SAFETY: as above; a header is 16 bytes at a 16-aligned offset.
        let words = (base + offset).assumingMemoryBound(to: UInt64.self)
        words[0] = UInt64(blockSize)
        words[1] = tag
    }

    /// A free block's links: the words after its header (a free block is
    /// at least minimumBlock bytes, so they are its own).
    private func link(at offset: Int) -> (next: Int, previous: Int) {
        // SAFETY: a free block's bytes 16..<32, inside it.
        let words = (base + offset + Heap.headerSize).assumingMemoryBound(to: Int.self)
        return (words[0], words[1])
    }

    private func setLink(at offset: Int, next: Int, previous: Int) {
        // SAFETY: as in link(at:).
        let words = (base + offset + Heap.headerSize).assumingMemoryBound(to: Int.self)
        words[0] = next
        words[1] = previous
    }
}
