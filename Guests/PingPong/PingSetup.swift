import TernGuestC

/// The words ping writes into the channel's control page after struct
/// tern_device_control (ChannelControl.protocolArea), for its backend.
/// Tern never reads them. All but the evtchn counters are written before
/// READY; a backend checks what it uses (a hostile frontend may lie).
enum SetupWord: Int {
    case mode             // PingMode
    case payloadPages     // map, copy: pages granted for payloads (<= PingSetup.maxPayloadPages)
    case readOnlyRef      // victim: a page granted read-only, holding Payload's pattern for the victim's domid
    case revokedRef       // victim: a grant ended before READY
    case foreignRef       // victim: a page granted to another domain (the victim itself)
    case foreignPort      // victim: a port allocated for another domain (the victim itself)
    case pings            // evtchn: round trips ping started (ping writes)
    case pongs            // evtchn: round trips the backend answered (the backend writes)
    case firstPayloadRef  // map, copy: payloadPages grant refs from here
}

struct PingSetup {
    static let maxPayloadPages = 64
    let words: UnsafeMutablePointer<UInt32>

    init(_ control: ChannelControl) {
        // SAFETY: the protocol area is the rest of the control page (4080
        // bytes); wordCount words take 288.
        words = control.protocolArea.bindMemory(to: UInt32.self, capacity: PingSetup.wordCount)
    }

    static let wordCount = SetupWord.firstPayloadRef.rawValue + maxPayloadPages

    // SAFETY (both accessors): word indices < wordCount (payload indices
    // are clamped), inside the area.
    subscript(_ word: SetupWord) -> UInt32 {
        get { tern_ring_load(words + word.rawValue) }
        nonmutating set { tern_ring_store(words + word.rawValue, newValue) }
    }

    /// Payload page `index`'s grant ref (index < maxPayloadPages).
    subscript(payloadRef index: Int) -> UInt32 {
        get { tern_ring_load(words + SetupWord.firstPayloadRef.rawValue + min(index, PingSetup.maxPayloadPages - 1)) }
        nonmutating set { tern_ring_store(words + SetupWord.firstPayloadRef.rawValue + min(index, PingSetup.maxPayloadPages - 1), newValue) }
    }

    /// The payload page count a backend may trust: at most maxPayloadPages.
    var payloadPages: Int { min(Int(self[.payloadPages]), PingSetup.maxPayloadPages) }
}
