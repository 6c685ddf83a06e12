import TernABI

/// What `tern list -l` and `tern info NAME` show of a domain beyond `tern
/// list`: its weight, uptime, why it stopped, what it was asked. `now` is
/// Tern's system time (tern_system_info.uptime_ns), the clock of
/// created_ns and stopped_ns.
extension DomainRow {
    /// Seconds since it was created.
    public func uptime(now: UInt64) -> UInt64 { now >= createdNanoseconds ? now - createdNanoseconds : 0 }

    static let none = "-"

    /// `tern list -l`: `tern list`'s columns, then Weight, Up(s), Reason
    /// (why it stopped) and Request (a shutdown request not yet acted on);
    /// the name column as wide as the longest name.
    public static func longTable(_ rows: [DomainRow], now: UInt64) -> String {
        let nameWidth = max("Name".count, rows.map(\.name.count).max() ?? 0)
        let reasonWidth = StopWords.reasons.map(\.name.count).max()!
        func line(_ c: [String]) -> String {
            pad(c[0], 4, right: true) + "  " + pad(c[1], nameWidth) + "  " + pad(c[2], 8) + "  " + pad(c[3], 8, right: true) + "  "
                + pad(c[4], 5, right: true) + "  " + pad(c[5], 9, right: true) + "  " + pad(c[6], 6, right: true) + "  "
                + pad(c[7], 9, right: true) + "  " + pad(c[8], reasonWidth) + "  " + c[9]
        }
        var lines = [line(["ID", "Name", "State", "Mem(MiB)", "VCPUs", "Time(s)", "Weight", "Up(s)", "Reason", "Request"])]
        for row in rows {
            lines.append(line(["\(row.id)", row.name, row.stateName, "\(row.memoryBytes >> 20)", "\(row.vcpus)", row.cpuTime, "\(row.weight)",
                               seconds(row.uptime(now: now)), row.stoppedWord, row.requestWord]))
        }
        return lines.map { String($0.reversed().drop { $0 == " " }.reversed()) }.joined(separator: "\n")
    }

    /// Why it stopped, or "-" while it runs.
    var stoppedWord: String { stopReason == UInt32(TERN_STOP_NONE) ? DomainRow.none : StopWords.reason(stopReason) }

    /// The shutdown request pending, or "-".
    var requestWord: String {
        shutdownRequest == UInt32(TERN_SHUTDOWN_REQUEST_NONE) ? DomainRow.none : StopWords.request(shutdownRequest)
    }

    /// `tern info NAME`: one `key: value` a line, as `tern info`'s.
    public func details(now: UInt64) -> String {
        var lines = ["domain: d\(id) \(name)" + (privileged ? " (privileged)" : ""), "state: \(stateName)"]
        if stopReason != UInt32(TERN_STOP_NONE) {
            let ago = now >= stoppedNanoseconds ? now - stoppedNanoseconds : 0
            lines.append("stopped: \(StopWords.reason(stopReason)) (\(StopWords.meaning(stopReason))), \(DomainRow.seconds(ago)) s ago")
        }
        if shutdownRequest != UInt32(TERN_SHUTDOWN_REQUEST_NONE) {
            lines.append("shutdown request: \(StopWords.request(shutdownRequest)), not acted on yet")
        }
        lines += ["memory: \(memoryBytes >> 20) MiB", "vcpus: \(vcpus)", "weight: \(weight)", "cpu time: \(cpuTime) s",
                  "uptime: \(DomainRow.seconds(uptime(now: now))) s"]
        return lines.joined(separator: "\n")
    }
}
