import TernABI

/// `tern top` and `tern uptime`: what each domain used between two looks
/// at the domain list, and how long each has been up, from Tern's own
/// clock (system time: TERN_HC_SYSTEM_INFO's uptime_ns, the domains'
/// created_ns and stopped_ns), never Dom0's.
public enum DomainUsage {
    /// One look at Tern: its domains and its clock.
    public struct Sample: Equatable {
        public var rows: [DomainRow]
        public var now: UInt64
        public init(rows: [DomainRow], now: UInt64) {
            self.rows = rows
            self.now = now
        }
    }

    /// Percent of one CPU each domain (by id) used from `before` to
    /// `after`; a domain that is new since `before` (another instance:
    /// its created_ns differs) counts from its creation.
    public static func cpuPercent(from before: Sample, to after: Sample) -> [UInt32: UInt64] {
        var percent: [UInt32: UInt64] = [:]
        for row in after.rows {
            let earlier = before.rows.first { $0.id == row.id && $0.createdNanoseconds == row.createdNanoseconds }
            let start = earlier == nil ? row.createdNanoseconds : before.now
            let used = row.cpuTimeNanoseconds &- (earlier?.cpuTimeNanoseconds ?? 0)
            let end = row.stoppedNanoseconds != 0 ? min(row.stoppedNanoseconds, after.now) : after.now
            let elapsed = end > start ? end - start : 0
            percent[row.id] = elapsed == 0 || used > row.cpuTimeNanoseconds ? 0 : used * 100 / elapsed
        }
        return percent
    }

    /// `tern top`'s screen: a summary line, then a row per domain, the
    /// busiest first.
    public static func top(_ sample: Sample, percent: [UInt32: UInt64], freeBytes: UInt64) -> String {
        let width = max(4, sample.rows.map(\.name.count).max() ?? 0)
        var text = "tern top: up \(duration(sample.now)), \(sample.rows.count) domains, \(freeBytes >> 20) MiB free\n"
        text += "  ID  " + "Name".padding(width) + "  State     CPU%   CPU(s)  Mem(MiB)  Weight\n"
        let ordered = sample.rows.sorted { (percent[$0.id] ?? 0, $1.id) > (percent[$1.id] ?? 0, $0.id) }
        for row in ordered {
            text += String(row.id).leftPadding(4) + "  " + row.name.padding(width) + "  " + row.stateName.padding(8)
            text += String(percent[row.id] ?? 0).leftPadding(6) + "  " + row.cpuTime.leftPadding(7)
            text += String(row.memoryBytes >> 20).leftPadding(10) + String(row.weight).leftPadding(8) + "\n"
        }
        return text
    }

    /// `tern uptime` (xl uptime): each domain's time since it was created
    /// (to when it stopped, for a stopped one Tern kept).
    public static func uptimeTable(_ sample: Sample) -> String {
        let width = max(4, sample.rows.map(\.name.count).max() ?? 0)
        var text = "Name".padding(width) + "    ID  Uptime\n"
        for row in sample.rows {
            let end = row.stoppedNanoseconds != 0 ? row.stoppedNanoseconds : sample.now
            let up = end > row.createdNanoseconds ? end - row.createdNanoseconds : 0
            var line = row.name.padding(width) + String(row.id).leftPadding(6) + "  " + duration(up)
            if row.stoppedNanoseconds != 0 { line += " (\(row.stateName))" }
            text += line + "\n"
        }
        return text
    }

    /// "1:02:03", or "2 days, 1:02:03" (as uptime(1)).
    public static func duration(_ nanoseconds: UInt64) -> String {
        let seconds = nanoseconds / 1_000_000_000
        let days = seconds / 86_400
        let clock = "\(seconds / 3600 % 24):" + two(seconds / 60 % 60) + ":" + two(seconds % 60)
        return days == 0 ? clock : "\(days) day\(days == 1 ? "" : "s"), " + clock
    }

    static func two(_ value: UInt64) -> String { value < 10 ? "0\(value)" : "\(value)" }
}

extension String {
    /// Padded with spaces on the right to `width` (never cut).
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    /// Padded with spaces on the left to `width` (never cut).
    func leftPadding(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
