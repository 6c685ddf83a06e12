import ArgumentParser
import TernABI
import TernToolstack

struct SchedCredit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sched-credit",
        abstract: "Show every domain's scheduler weight (like xl sched-credit); -d DOMAIN -w WEIGHT sets one.",
        discussion: "A domain's weight is its share of the CPU against the others' (Dom0's too); the config's `weight` sets it at create.")
    @Option(name: [.customShort("d"), .long], help: "Domain id or name: show (or with -w set) its weight only.") var domain: String?
    @Option(name: [.customShort("w"), .long], help: ArgumentHelp("Its new weight, 1 to \(GuestConfig.maxWeight).", valueName: "weight"))
    var weight: UInt64?

    func validate() throws {
        guard let weight else { return }
        if domain == nil { throw ValidationError("-w needs -d DOMAIN: whose weight to set") }
        if let problem = Weights.problem(weight) { throw ValidationError(problem) }
    }

    func run() throws {
        let device = try openDevice()
        guard let domain else {
            do throws(ControlDevice.Failure) { Output.out(Weights.table(try device.domains()) + "\n") } catch { throw fail(error.description) }
            return
        }
        var row = try resolve(domain, on: device)
        if let weight {
            if let why = row.refusal(TERN_DOMCTL_SET_WEIGHT) { throw fail("d\(row.id) \(row.name): \(why)") }
            do throws(ControlDevice.Failure) { try device.control(row.id, TERN_DOMCTL_SET_WEIGHT, value: weight) } catch {
                throw fail("d\(row.id) \(row.name): \(error.description)")
            }
            row = try resolve("\(row.id)", on: device)
        }
        Output.out(Weights.table([row]) + "\n")
    }
}
