import TernABI

/// The segments of an INDIRECT request live in indirect pages, shared
/// memory like the ring: copied out once (volatile), then checked as
/// copies (`RequestValidator.validate(_:segments:)`), never read again
/// (the blkback fix "read from indirect descriptors only once").
public enum IndirectSegments {
    public static let perPage = Int(TERN_BLKIF_SEGMENTS_PER_INDIRECT_PAGE)

    /// Indirect pages that hold `count` segments.
    public static func pagesNeeded(forSegments count: Int) -> Int { (count + perPage - 1) / perPage }

    /// The first `request.segmentCount` segments from `pages`, the mapped
    /// indirect pages in the order of `request.pageRefs`; nil when fewer
    /// pages are given than the request needs. Each page must be a mapped,
    /// readable TERN_BLKIF_PAGE_SIZE bytes, 8-byte aligned.
    public static func copy(for request: IndirectRequest, from pages: [UnsafeRawPointer]) -> [BlockSegment]? {
        let count = request.segmentCount
        guard pages.count >= pagesNeeded(forSegments: count) else { return nil }
        var raw = [tern_blkif_segment](repeating: tern_blkif_segment(), count: count)
        raw.withUnsafeMutableBufferPointer { copy in
            var copied = 0
            for page in pages where copied < count {
                let chunk = min(perPage, count - copied)
                // SAFETY: `page` is a mapped indirect page (the caller's
                // contract): perPage 8-byte segments, chunk <= perPage of
                // them read, once, volatile; `copy` has room for `count`,
                // copied + chunk <= count. Any bytes are a valid segment.
                tern_blkif_copy_segments(copy.baseAddress! + copied,
                                         page.assumingMemoryBound(to: tern_blkif_segment.self), UInt32(chunk))
                copied += chunk
            }
        }
        return raw.map(BlockSegment.init)
    }
}
