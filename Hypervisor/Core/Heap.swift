/// The hypervisor's heap: first-fit over one region, with a 16-byte header
/// per block and coalescing on free. It backs Swift's allocations on bare
/// metal (posix_memalign/free in Hypervisor/Runtime/runtime.c), so it must
/// never allocate itself: it works on raw memory only.
///
/// Frees are checked: a pointer that is not the start of a live block
/// (foreign, interior, already freed) is reported, never trusted.
/// Allocation is O(blocks): fine for boot and control paths; hot paths
/// (exit handlers, the scheduler) must not allocate at all.
public struct Heap {
    public static let headerSize = 16
    public static let minimumAlignment = 16
    /// Smallest block worth splitting off: a header plus 16 bytes.
    static let minimumBlock = 32
    /// Tags in a block header's second word.
    static let freeTag: UInt64 = 0x7465_726E_4652_4545   // "ternFREE"
    static let usedTag: UInt64 = 0x7465_726E_5553_4544   // "ternUSED"

    public enum FreeError: Error, Equatable {
        case notFromHeap(UInt)
        case notABlock(UInt)
        case doubleFree(UInt)
    }

    private let base: UnsafeMutableRawPointer
    public let size: Int
    public private(set) var bytesInUse = 0
    public private(set) var peakBytesInUse = 0
    public private(set) var liveBlocks = 0

    /// Manages [base, base+size); `base` 16-aligned, size a multiple of 16.
    public init(base: UnsafeMutableRawPointer, size: Int) {
        precondition(UInt(bitPattern: base) % UInt(Heap.minimumAlignment) == 0 && size % Heap.minimumAlignment == 0
                     && size >= Heap.minimumBlock)
        self.base = base
        self.size = size
        setHeader(at: 0, size: size, tag: Heap.freeTag)
    }

    /// `size` bytes aligned to `alignment` (a power of two), or nil.
    public mutating func allocate(size requested: Int, alignment requestedAlignment: Int) -> UnsafeMutableRawPointer? {
        guard requested >= 0, requestedAlignment > 0, requestedAlignment & (requestedAlignment - 1) == 0,
              requested <= size else { return nil }
        let alignment = max(requestedAlignment, Heap.minimumAlignment)
        let payloadSize = max(16, (requested + 15) & ~15)
        var offset = 0
        while offset < size {
            let (blockSize, tag) = header(at: offset)
            if tag == Heap.freeTag {
                // Place the payload at the first aligned spot, leaving any
                // gap in front as a free block of its own (or none at all).
                // Aligned as an address, not as an offset: the base itself
                // is only guaranteed 16-aligned.
                var payload = alignedOffset(offset + Heap.headerSize, to: alignment)
                if payload - Heap.headerSize != offset && payload - Heap.headerSize - offset < Heap.minimumBlock {
                    payload = alignedOffset(offset + Heap.minimumBlock + Heap.headerSize, to: alignment)
                }
                let start = payload - Heap.headerSize
                let needed = Heap.headerSize + payloadSize
                if start + needed <= offset + blockSize {
                    if start != offset {
                        setHeader(at: offset, size: start - offset, tag: Heap.freeTag)
                    }
                    var used = offset + blockSize - start
                    if used - needed >= Heap.minimumBlock {
                        setHeader(at: start + needed, size: used - needed, tag: Heap.freeTag)
                        used = needed
                    }
                    setHeader(at: start, size: used, tag: Heap.usedTag)
                    bytesInUse += used
                    peakBytesInUse = max(peakBytesInUse, bytesInUse)
                    liveBlocks += 1
                    return base + payload
                }
            }
            offset += blockSize
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
        // Walk the blocks so that a forged header inside a payload can
        // never pass for a block.
        var offset = 0
        var previousFree: Int?
        while offset < size {
            let (blockSize, tag) = header(at: offset)
            if offset == target {
                guard tag == Heap.usedTag else { throw .doubleFree(address) }
                bytesInUse -= blockSize
                liveBlocks -= 1
                var mergedStart = offset, mergedSize = blockSize
                let next = offset + blockSize
                if next < size, header(at: next).tag == Heap.freeTag { mergedSize += header(at: next).size }
                if let previous = previousFree {
                    mergedSize += offset - previous
                    mergedStart = previous
                }
                setHeader(at: mergedStart, size: mergedSize, tag: Heap.freeTag)
                return
            }
            if offset > target { break }
            // Inside a free block: that memory was freed already (possibly
            // merged with its neighbour since).
            if tag == Heap.freeTag && target < offset + blockSize { throw .doubleFree(address) }
            previousFree = tag == Heap.freeTag ? offset : nil
            offset += blockSize
        }
        throw .notABlock(address)
    }

    /// Size of the largest block `allocate` could return (alignment 16).
    public var largestFreeBlock: Int {
        var best = 0, offset = 0
        while offset < size {
            let (blockSize, tag) = header(at: offset)
            if tag == Heap.freeTag { best = max(best, blockSize - Heap.headerSize) }
            offset += blockSize
        }
        return best
    }

    /// The smallest offset >= `offset` whose address is `alignment`-aligned.
    private func alignedOffset(_ offset: Int, to alignment: Int) -> Int {
        let address = UInt(bitPattern: base) + UInt(offset)
        let aligned = (address + UInt(alignment) - 1) & ~(UInt(alignment) - 1)
        return offset + Int(aligned - address)
    }

    private func header(at offset: Int) -> (size: Int, tag: UInt64) {
        // SAFETY: offsets come from the block chain, inside [0, size).
        let words = (base + offset).assumingMemoryBound(to: UInt64.self)
        return (Int(words[0]), words[1])
    }

    private func setHeader(at offset: Int, size blockSize: Int, tag: UInt64) {
        // SAFETY: as above; a header is 16 bytes at a 16-aligned offset.
        let words = (base + offset).assumingMemoryBound(to: UInt64.self)
        words[0] = UInt64(blockSize)
        words[1] = tag
    }
}
