import TernABI

/// A granted frame mapped into a domain's grant window.
public struct GrantMapping: Equatable {
    public var granter: UInt16
    public var ref: UInt32
    public var hostFrame: UInt64
    public var readOnly: Bool
    /// TERN_GRANT_MAP_FOREIGN: `ref` is a frame number, no entry involved.
    public var foreign = false
}

/// Tern's side of a domain's grant table (tern/grant.h, docs/abi.md
/// "Grant tables"). The entries themselves live in the domain's own memory
/// and are read at every use; Tern keeps only what must not be trusted to
/// the guest: where the table is, the mappings this domain holds (one per
/// grant-window page) and how many of its own grants others have mapped
/// (while any are, its memory outlives it).
public struct GrantTable {
    /// Guest-physical address and size of the entry array; 0 entries: none.
    public internal(set) var gpa: UInt64 = 0
    public internal(set) var entries: UInt32 = 0
    /// The grant window: where this domain's mappings go, one per page.
    /// Only the pages in use are listed (a few per domain, usually), so an
    /// idle domain costs the hypervisor's heap nothing here.
    public internal(set) var windowGPA: UInt64 = 0
    public internal(set) var windowFrames = 0
    /// The mappings it holds, densely (any order), and per window slot its
    /// index there + 1 (0: free), made at the first mapping: finding,
    /// adding and dropping one cost the same with one mapping or hundreds.
    public private(set) var held: [HeldMapping] = []
    private var heldIndex: [UInt16] = []

    public struct HeldMapping: Equatable {
        public var slot: Int
        public var mapping: GrantMapping
    }
    /// Mappings other domains hold of this domain's grants.
    public internal(set) var mappedByOthers = 0
    /// Per ref of this domain mapped by others: how many mappings (to
    /// clear IN_USE at the last).
    private var refUses = GrantRefCounts()

    public init() {}

    public mutating func setUp(gpa: UInt64, entries: UInt32, windowGPA: UInt64, windowFrames: Int) {
        self.gpa = gpa
        self.entries = entries
        self.windowGPA = windowGPA
        self.windowFrames = windowFrames
    }

    public var mapsHeld: Int { held.count }

    public func mapping(at slot: Int) -> GrantMapping? {
        guard slot >= 0, slot < heldIndex.count, heldIndex[slot] != 0 else { return nil }
        return held[Int(heldIndex[slot]) - 1].mapping
    }

    /// Whether another domain maps this domain's grant `ref`.
    public func isMapped(_ ref: UInt32) -> Bool { refUses.count(of: ref) != 0 }

    /// The window slot for a page-aligned `gpa`, if it is in the window.
    public func windowSlot(of gpa: UInt64) -> Int? {
        guard gpa >= windowGPA, gpa % FrameAllocator.frameSize == 0 else { return nil }
        let slot = (gpa - windowGPA) / FrameAllocator.frameSize
        return slot < UInt64(windowFrames) ? Int(slot) : nil
    }

    public func slotGPA(_ slot: Int) -> UInt64 { windowGPA + UInt64(slot) * FrameAllocator.frameSize }

    /// Records a mapping at a free `slot` of the window (the caller checked both).
    mutating func hold(_ mapping: GrantMapping, at slot: Int) {
        if heldIndex.isEmpty { heldIndex = [UInt16](repeating: 0, count: windowFrames) }
        held.append(HeldMapping(slot: slot, mapping: mapping))
        heldIndex[slot] = UInt16(held.count)
    }

    /// Forgets the mapping at `slot`: the last one takes its place.
    mutating func drop(slot: Int) -> GrantMapping? {
        guard slot >= 0, slot < heldIndex.count, heldIndex[slot] != 0 else { return nil }
        let i = Int(heldIndex[slot]) - 1
        let mapping = held[i].mapping
        let last = held.removeLast()
        if i < held.count {
            held[i] = last
            heldIndex[last.slot] = UInt16(i + 1)
        }
        heldIndex[slot] = 0
        return mapping
    }

    /// Counts a mapping of `ref` by another domain; true if it is the
    /// ref's first (set TERN_GRANT_IN_USE).
    mutating func lend(_ ref: UInt32) -> Bool {
        mappedByOthers += 1
        return refUses.increment(ref)
    }

    /// Counts a foreign mapping of one of this domain's frames (no entry).
    mutating func lendForeign() { mappedByOthers += 1 }
    mutating func giveBackForeign() { mappedByOthers -= 1 }

    /// Counts an unmapping of `ref`; true if it was the ref's last (clear
    /// TERN_GRANT_IN_USE).
    mutating func giveBack(_ ref: UInt32) -> Bool {
        mappedByOthers -= 1
        return refUses.decrement(ref)
    }

    /// The table moved (only while none of its grants is mapped).
    mutating func move(to gpa: UInt64, entries: UInt32) {
        self.gpa = gpa
        self.entries = entries
        refUses.removeAll()
    }
}

/// One entry of a grant table as read from the granter's memory.
struct GrantEntry {
    var flags: UInt16
    var domid: UInt16
    var frame: UInt32

    static let size = UInt64(MemoryLayout<tern_grant_entry>.size)

    var grantsAccess: Bool { UInt32(flags) & TERN_GRANT_ACCESS != 0 }
    var readOnly: Bool { UInt32(flags) & TERN_GRANT_READONLY != 0 }
}
