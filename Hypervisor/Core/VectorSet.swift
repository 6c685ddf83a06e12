/// 256 interrupt vectors as bits, in four words (no heap): a vCPU's queue
/// of device vectors, a virtual LAPIC's IRR, ISR and TMR, the physical
/// vectors in service for the device owner. The LAPIC reads it as eight
/// 32-bit registers (`register(_:)`, APM vol. 2, 16.6).
public struct VectorSet: Equatable {
    private var words = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
    public init() {}

    private func word(_ i: Int) -> UInt64 {
        switch i {
        case 0: return words.0
        case 1: return words.1
        case 2: return words.2
        default: return words.3
        }
    }

    private mutating func update(_ i: Int, _ change: (inout UInt64) -> Void) {
        switch i {
        case 0: change(&words.0)
        case 1: change(&words.1)
        case 2: change(&words.2)
        default: change(&words.3)
        }
    }

    public var isEmpty: Bool { words.0 | words.1 | words.2 | words.3 == 0 }

    public func contains(_ vector: UInt8) -> Bool { word(Int(vector / 64)) & (1 << UInt64(vector % 64)) != 0 }

    public mutating func insert(_ vector: UInt8) { update(Int(vector / 64)) { $0 |= 1 << UInt64(vector % 64) } }

    public mutating func remove(_ vector: UInt8) { update(Int(vector / 64)) { $0 &= ~(1 << UInt64(vector % 64)) } }

    /// The highest vector (the highest priority), if any.
    public var highest: UInt8? {
        for i in stride(from: 3, through: 0, by: -1) where word(i) != 0 {
            return UInt8(i * 64 + 63 - word(i).leadingZeroBitCount)
        }
        return nil
    }

    /// Removes and returns the highest vector, if any.
    public mutating func popHighest() -> UInt8? {
        guard let top = highest else { return nil }
        remove(top)
        return top
    }

    /// The 32-bit register `index` (0...7) of the set: vectors 32*index
    /// up to 32*index + 31.
    public func register(_ index: Int) -> UInt32 {
        UInt32(truncatingIfNeeded: word(index / 2) >> UInt64(32 * (index % 2)))
    }

    public static func == (a: VectorSet, b: VectorSet) -> Bool {
        a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2 && a.words.3 == b.words.3
    }
}
