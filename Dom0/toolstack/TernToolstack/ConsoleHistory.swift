/// What `tern console` shows of a guest's past: the console lines of one
/// instance (DomainInstances), each once, without Tern's `(dN) ` prefix.
public enum ConsoleHistory {
    /// The past lines of `row`, a domain in the list now. From Tern's log
    /// when `lines` (all it holds) has the instance's created line: exact.
    /// Else the log began after the instance did (its ring overwrote the
    /// start): logd's file of the instance (`kept`, if its header is this
    /// instance), which holds its lines up to `keptUpTo` (logd's progress),
    /// then the log's lines of the id from there. Without either, the log's
    /// lines of the id: all of them are this instance's.
    public static func of(_ row: DomainRow, lines: [LogLine], kept: KeptLogs.Kept?, keptUpTo: UInt64?) -> [String] {
        if let start = DomainInstances.start(of: row.id, named: row.name, in: lines) {
            return DomainInstances.output(of: start, in: lines)
        }
        let since: UInt64
        var past: [String] = []
        if let kept, let keptUpTo, kept.header.isInstance(row) {
            past = kept.lines
            since = keptUpTo
        } else {
            since = 0
        }
        return past + lines.compactMap { line in
            guard line.position >= since, let guest = line.guest, guest.domid == row.id else { return nil }
            return String(guest.text)
        }
    }

    /// A domain no longer in the list, as typed (an id or a name): its last
    /// instance that Tern's log holds from its created line on, as "dN
    /// NAME" and its lines; nil if the log does not hold one (then logd's
    /// file is all there is: KeptLogs.last).
    public static func gone(_ what: String, lines: [LogLine]) -> (label: String, lines: [String])? {
        guard let start = DomainInstances.last(what, in: lines) else { return nil }
        return ("d\(start.domid) \(start.name)", DomainInstances.output(of: start, in: lines))
    }

    /// The console's own note when the instance `row` has stopped, in
    /// brackets: `now` is it as the domain list shows it now (nil: gone).
    /// Tern keeps some stopped domains until destroyed: then how it ended.
    public static func endNote(_ row: DomainRow, now: DomainRow?) -> String {
        guard let now, now.isKeptStopped else { return "[d\(row.id) \(row.name): stopped]\n" }
        return "[d\(row.id) \(row.name): \(now.stateName) (\(StopWords.reason(now.stopReason))), kept until destroyed]\n"
    }
}
