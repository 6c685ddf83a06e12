/// What `tern logd` does with the lines of Tern's log: each guest line goes
/// to the kept file of its domain's instance (KeptLogs). An instance begins
/// at its `(tern) dN NAME: created` line, which starts a new NAME.log; the
/// id's lines go there until the next created line of that id.
public struct ConsoleKeeper {
    public let logs: KeptLogs
    /// The name whose NAME.log each id's lines go to now.
    var current: [UInt32: String] = [:]

    public init(logs: KeptLogs) { self.logs = logs }

    /// The domain with that id in Tern's domain list now.
    public typealias Lookup = (UInt32) -> DomainRow?

    /// The file name for lines of an id logd cannot name: the domain had
    /// gone before logd read any line of it that names it. No domain name
    /// has a "+".
    public static func unnamed(_ domid: UInt32) -> String { "unknown+d\(domid)" }

    /// Keeps `lines`, in log order. `readOn` reads the lines Tern logged
    /// since (they are kept too): a created line's instance gets its
    /// created_ns from the domain list only when no later created line of
    /// that id was logged before the list was read, which proves the list
    /// showed this instance and not a later one.
    public mutating func keep(_ lines: [LogLine], lookup: Lookup, readOn: () -> [LogLine]) {
        var queue = lines
        var i = 0
        while i < queue.count {
            let line = queue[i]
            i += 1
            if let created = line.created {
                let isLater: (LogLine) -> Bool = { $0.created?.domid == created.domid }
                var row: DomainRow?
                if !queue[i...].contains(where: isLater) {
                    row = lookup(created.domid)
                    let since = readOn()
                    queue += since
                    if since.contains(where: isLater) || row?.name != created.name { row = nil }
                }
                if row?.privileged == true {   // Dom0: its console is not in Tern's log
                    current[created.domid] = nil
                    continue
                }
                logs.startInstance(KeptLogHeader(domid: created.domid, name: created.name,
                                                 createdNanoseconds: row?.createdNanoseconds, position: line.position))
                current[created.domid] = created.name
            } else if let guest = line.guest {
                let name = current[guest.domid] ?? adopt(guest.domid, at: line.position, lookup: lookup)
                current[guest.domid] = name
                logs.append(guest.text, to: name)
            }
        }
    }

    /// The file for lines of an id whose created line logd did not read
    /// (it started after Tern's ring had overwritten it, or Tern's info
    /// lines are off): the domain the list shows with that id, continuing
    /// its NAME.log if that is this instance's (logd restarted).
    mutating func adopt(_ domid: UInt32, at position: UInt64, lookup: Lookup) -> String {
        guard let row = lookup(domid) else {
            let name = ConsoleKeeper.unnamed(domid)
            logs.startInstance(KeptLogHeader(domid: domid, name: name, createdNanoseconds: nil, position: position))
            return name
        }
        if logs.header(at: logs.path(row.name))?.isInstance(row) != true {
            logs.startInstance(KeptLogHeader(domid: domid, name: row.name, createdNanoseconds: row.createdNanoseconds, position: position))
        }
        return row.name
    }
}
