import TernNet
import TernToolstack

/// The guest's granted pages for the network data path, through Dom0's
/// grant mappings (GrantPages: kept when the frontend grants persistently,
/// else mapped for one packet and unmapped when it is done).
final class MappedGuestPages: GuestPages {
    let pages: GrantPages
    var temporary: [UnsafeMutableRawPointer] = []

    init(_ pages: GrantPages) { self.pages = pages }

    func page(_ ref: UInt32, writable: Bool) -> UnsafeMutableRawPointer? {
        try? pages.page(ref, backendWrites: writable, temporary: &temporary)
    }

    func release(_ page: UnsafeMutableRawPointer) {
        guard let index = temporary.firstIndex(of: page) else { return }   // kept (persistent)
        var one = [temporary.remove(at: index)]
        pages.release(&one)
    }
}
