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
    public internal(set) var held: [HeldMapping] = []

    public struct HeldMapping: Equatable {
        public var slot: Int
        public var mapping: GrantMapping
    }
    /// Mappings other domains hold of this domain's grants.
    public internal(set) var mappedByOthers = 0
    /// Per mapped ref of this domain: how many mappings (to clear IN_USE).
    var refsInUse: [UInt32] = []
    var refUseCounts: [Int] = []

    public init() {}

    public mutating func setUp(gpa: UInt64, entries: UInt32, windowGPA: UInt64, windowFrames: Int) {
        self.gpa = gpa
        self.entries = entries
        self.windowGPA = windowGPA
        self.windowFrames = windowFrames
    }

    public var mapsHeld: Int { held.count }

    public func mapping(at slot: Int) -> GrantMapping? { held.first { $0.slot == slot }?.mapping }

    /// The window slot for a page-aligned `gpa`, if it is in the window.
    public func windowSlot(of gpa: UInt64) -> Int? {
        guard gpa >= windowGPA, gpa % FrameAllocator.frameSize == 0 else { return nil }
        let slot = (gpa - windowGPA) / FrameAllocator.frameSize
        return slot < UInt64(windowFrames) ? Int(slot) : nil
    }

    public func slotGPA(_ slot: Int) -> UInt64 { windowGPA + UInt64(slot) * FrameAllocator.frameSize }

    mutating func hold(_ mapping: GrantMapping, at slot: Int) { held.append(HeldMapping(slot: slot, mapping: mapping)) }
    mutating func drop(slot: Int) -> GrantMapping? {
        guard let i = held.firstIndex(where: { $0.slot == slot }) else { return nil }
        return held.remove(at: i).mapping
    }

    /// Counts a mapping of `ref` by another domain; true if it is the
    /// ref's first (set TERN_GRANT_IN_USE).
    mutating func lend(_ ref: UInt32) -> Bool {
        mappedByOthers += 1
        if let i = refsInUse.firstIndex(of: ref) { refUseCounts[i] += 1; return false }
        refsInUse.append(ref)
        refUseCounts.append(1)
        return true
    }

    /// Counts a foreign mapping of one of this domain's frames (no entry).
    mutating func lendForeign() { mappedByOthers += 1 }
    mutating func giveBackForeign() { mappedByOthers -= 1 }

    /// Counts an unmapping of `ref`; true if it was the ref's last (clear
    /// TERN_GRANT_IN_USE).
    mutating func giveBack(_ ref: UInt32) -> Bool {
        mappedByOthers -= 1
        guard let i = refsInUse.firstIndex(of: ref) else { return false }
        refUseCounts[i] -= 1
        guard refUseCounts[i] == 0 else { return false }
        refsInUse.remove(at: i)
        refUseCounts.remove(at: i)
        return true
    }

    mutating func move(to gpa: UInt64, entries: UInt32) {
        self.gpa = gpa
        self.entries = entries
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
