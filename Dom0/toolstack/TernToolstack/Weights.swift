/// `tern sched-credit` (xl's name): every domain's scheduler weight, its
/// share of the CPU against the others' (TERN_DOMCTL_SET_WEIGHT sets one).
public enum Weights {
    /// What is wrong with `weight` as a new weight, if anything.
    public static func problem(_ weight: UInt64) -> String? {
        guard weight >= 1, weight <= GuestConfig.maxWeight else { return "-w \(weight): a weight is from 1 to \(GuestConfig.maxWeight)" }
        return nil
    }

    /// ID, name and weight of each domain; the name column as wide as the longest.
    public static func table(_ rows: [DomainRow]) -> String {
        let nameWidth = max("Name".count, rows.map(\.name.count).max() ?? 0)
        func line(_ id: String, _ name: String, _ weight: String) -> String {
            DomainRow.pad(id, 4, right: true) + "  " + DomainRow.pad(name, nameWidth) + "  " + DomainRow.pad(weight, 6, right: true)
        }
        return ([line("ID", "Name", "Weight")] + rows.map { line("\($0.id)", $0.name, "\($0.weight)") }).joined(separator: "\n")
    }
}
