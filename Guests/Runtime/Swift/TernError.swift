/// A failed hypercall: the negated TERN_E* error it returned (abi.h). The
/// SDK uses the same numbers for its own refusals (-TERN_ENOTCONN when a
/// channel's peer left, -TERN_ENOSPC when a table of its own is full).
public struct TernError: Error, Equatable {
    /// Negative: -TERN_EPERM is -1, -TERN_EINVAL is -22, ...
    public let code: Int64

    public init(code: Int64) { self.code = code }
    public init(_ errno: Int32) { code = -Int64(errno) }

    /// `result` when it is a success (>= 0); otherwise throws it.
    @discardableResult
    public static func check(_ result: Int64) throws(TernError) -> Int64 {
        guard result >= 0 else { throw TernError(code: result) }
        return result
    }
}
