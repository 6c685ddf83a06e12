import Glibc

/// The backend's own memory that the disk reads into and writes from
/// (docs/blockback.md, "Data path"): direct I/O (O_DIRECT) needs buffers
/// the kernel can pin, and the guest's pages as Dom0 maps them (grant
/// mappings, PFN maps) cannot be. One buffer per ring slot, each as large
/// as a request's data, page-aligned; a write's data is copied in once
/// when the request is taken (what the guest changes afterwards is not
/// seen), a read's copied out once when the disk is done.
public final class BounceBuffers {
    public static let alignment = 4096
    public let count: Int
    public let bytesEach: Int
    let base: UnsafeMutableRawPointer
    var free: [Int]

    /// nil when the memory cannot be had.
    public init?(count: Int, bytesEach: Int) {
        var memory: UnsafeMutableRawPointer?
        guard count > 0, bytesEach > 0, bytesEach % BounceBuffers.alignment == 0,
              posix_memalign(&memory, BounceBuffers.alignment, count * bytesEach) == 0, let memory else { return nil }
        self.count = count
        self.bytesEach = bytesEach
        base = memory
        free = Array((0..<count).reversed())
    }

    deinit { Glibc.free(base) }

    /// A buffer not in use, or nil when every one is (no more than one per
    /// ring slot is ever needed).
    public func take() -> Int? { free.popLast() }

    public func give(_ index: Int) { free.append(index) }

    /// Buffer `index`'s first byte.
    public func address(_ index: Int) -> UnsafeMutableRawPointer {
        precondition(index >= 0 && index < count, "bounce buffer \(index) of \(count)")
        // SAFETY: index < count, so [base + index * bytesEach, + bytesEach)
        // lies inside the count * bytesEach bytes allocated in init.
        return base + index * bytesEach
    }
}
