/// How many mappings other domains hold of each of a domain's grant refs
/// (to set TERN_GRANT_IN_USE at the first and clear it at the last): an
/// open-addressing hash table, linear probing, backward-shift deletion, so
/// that lend and give back cost the same with one ref mapped or thousands
/// (a blkback maps 32 requests x 11 segments). Its size follows the refs
/// in use (at most the table's entries), not the table.
struct GrantRefCounts {
    private static let empty = UInt32.max
    private var keys: [UInt32] = []
    private var counts: [UInt32] = []
    private(set) var refsInUse = 0

    private var mask: Int { keys.count - 1 }

    private func slot(of ref: UInt32) -> (index: Int, found: Bool) {
        var i = Int(ref.multipliedReportingOverflow(by: 0x9E37_79B1).partialValue) & mask
        while keys[i] != GrantRefCounts.empty {
            if keys[i] == ref { return (i, true) }
            i = (i + 1) & mask
        }
        return (i, false)
    }

    func count(of ref: UInt32) -> UInt32 {
        guard !keys.isEmpty else { return 0 }
        let (i, found) = slot(of: ref)
        return found ? counts[i] : 0
    }

    /// One more mapping of `ref`; true if it is the first.
    mutating func increment(_ ref: UInt32) -> Bool {
        if keys.isEmpty || (refsInUse + 1) * 2 > keys.count { grow() }
        let (i, found) = slot(of: ref)
        if found {
            counts[i] += 1
            return false
        }
        keys[i] = ref
        counts[i] = 1
        refsInUse += 1
        return true
    }

    /// One mapping of `ref` fewer; true if it was the last. False for a
    /// ref with none (nothing changes).
    mutating func decrement(_ ref: UInt32) -> Bool {
        guard !keys.isEmpty else { return false }
        let (i, found) = slot(of: ref)
        guard found else { return false }
        counts[i] -= 1
        guard counts[i] == 0 else { return false }
        remove(at: i)
        refsInUse -= 1
        return true
    }

    /// Empties slot `hole`, then moves back each later entry of the same
    /// probe run that would not be found past the hole.
    private mutating func remove(at hole: Int) {
        var hole = hole
        var i = (hole + 1) & mask
        while keys[i] != GrantRefCounts.empty {
            let home = Int(keys[i].multipliedReportingOverflow(by: 0x9E37_79B1).partialValue) & mask
            // Entry i may fill the hole if its home is not in (hole, i].
            let distanceToHome = (i - home) & mask, distanceToHole = (i - hole) & mask
            if distanceToHome >= distanceToHole {
                keys[hole] = keys[i]
                counts[hole] = counts[i]
                hole = i
            }
            i = (i + 1) & mask
        }
        keys[hole] = GrantRefCounts.empty
        counts[hole] = 0
    }

    private mutating func grow() {
        let old = (keys, counts)
        let capacity = max(16, keys.count * 2)
        keys = [UInt32](repeating: GrantRefCounts.empty, count: capacity)
        counts = [UInt32](repeating: 0, count: capacity)
        for (i, key) in old.0.enumerated() where key != GrantRefCounts.empty {
            let (j, _) = slot(of: key)
            keys[j] = key
            counts[j] = old.1[i]
        }
    }

    /// Forgets every count (the table moved; none were mapped).
    mutating func removeAll() {
        keys = []
        counts = []
        refsInUse = 0
    }
}
