import TernABI

/// Instances of a domain: ids are reused (a guest created after the
/// boot-time hello stopped may be d1 too) and a name comes back with each
/// create, so a console is one *instance*'s: the domain with that id and
/// `created_ns` in the domain list, whose life in Tern's log begins at its
/// `(tern) dN NAME: created` line. Nothing logged before that line is its.
extension DomainRow {
    /// The same instance: the same id and creation time.
    public func isSameInstance(as other: DomainRow) -> Bool {
        id == other.id && createdNanoseconds == other.createdNanoseconds
    }

    /// It stopped (Tern keeps it, shut down or crashed, until destroyed).
    public var hasStopped: Bool { state >= UInt32(TERN_DOMAIN_SHUTDOWN) }
}

public enum DomainInstances {
    /// Where an instance's life begins in the lines read: the index of its
    /// created line.
    public struct Start: Equatable {
        public var domid: UInt32
        public var name: String
        public var index: Int
    }

    /// The start of the current instance of `domid`, named `name`, if the
    /// lines hold it: the last created line of that id (a later instance
    /// would have needed this one gone). nil if the lines begin after it
    /// (Tern's ring overwrote it), or if the last one of that id is
    /// another name's (the caller's domain list is older than the lines).
    public static func start(of domid: UInt32, named name: String, in lines: [LogLine]) -> Start? {
        guard let last = lastCreated(in: lines, where: { $0.domid == domid }), last.name == name else { return nil }
        return last
    }

    /// The last instance the lines hold of what a user typed: a domain id
    /// ("3") or a name ("web").
    public static func last(_ what: String, in lines: [LogLine]) -> Start? {
        if DomainRow.isID(what) {
            guard let id = UInt32(what) else { return nil }
            return lastCreated(in: lines) { $0.domid == id }
        }
        return lastCreated(in: lines) { $0.name == what }
    }

    /// The console lines of the instance that starts at `start`: its
    /// domain's guest lines after its created line, up to the next
    /// created line of that id (the next instance's).
    public static func output(of start: Start, in lines: [LogLine]) -> [String] {
        var out: [String] = []
        for line in lines[(start.index + 1)...] {
            if let created = line.created, created.domid == start.domid { break }
            if let guest = line.guest, guest.domid == start.domid { out.append(String(guest.text)) }
        }
        return out
    }

    static func lastCreated(in lines: [LogLine], where matches: ((domid: UInt32, name: String)) -> Bool) -> Start? {
        for index in lines.indices.reversed() {
            if let created = lines[index].created, matches(created) { return Start(domid: created.domid, name: created.name, index: index) }
        }
        return nil
    }
}
