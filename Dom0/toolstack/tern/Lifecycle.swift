import Glibc
import TernABI
import TernToolstack

/// What becomes of a guest after it stops (docs/toolstack.md, "Life
/// cycle"), run by `tern logd` each time it wakes. Tern keeps a stopped
/// domain whose config says `restart` or `preserve` for that end; here the
/// `restart` ones are destroyed and created again from the config `tern
/// create` saved (SavedConfig), under the same name, at most
/// RestartHistory.limit times a minute per name; each stopped domain gets
/// one line, on stderr and in Dom0's kernel log (`dmesg`).
final class Lifecycle {
    let device: ControlDevice
    let died: EventChannel?             // TERN_VIRQ_DOMAIN_DIED: look at once
    var history = RestartHistory()
    var handled: Set<Instance> = []     // kept domains already acted on
    var lastLook: UInt64?

    /// A domain's id names it only with its creation time (ids are reused).
    struct Instance: Hashable {
        var id: UInt32
        var created: UInt64
        init(_ row: DomainRow) { (id, created) = (row.id, row.createdNanoseconds) }
    }

    /// Without a domain-died notification, how often logd's wake-ups look.
    static let lookMicroseconds: UInt64 = 1_000_000
    /// How long a restart waits for the old domain to go (others may
    /// still map its grants: docs/abi.md "Domain control").
    static let goneMilliseconds: UInt32 = 2000
    static let goneStepMilliseconds: UInt32 = 50
    static let kernelLog = "/dev/kmsg"
    static let kernelLogLevel = "<5>"   // KERN_NOTICE: in `dmesg`, not on a quiet console

    init(_ device: ControlDevice) {
        self.device = device
        died = device.watch(virq: TERN_VIRQ_DOMAIN_DIED)
    }

    /// logd woke (its log grew, or its wait timed out): acts on domains
    /// that stopped since it last looked.
    func wake() {
        let notified = died?.wait(milliseconds: 0) ?? false
        let now = Clock.microseconds()
        if !notified, let last = lastLook, now - last < Lifecycle.lookMicroseconds { return }
        lastLook = now
        guard let rows = try? device.domains() else { return }
        handled = handled.filter { instance in rows.contains { Instance($0) == instance } }
        for row in rows where row.isKeptStopped && !handled.contains(Instance(row)) {
            handled.insert(Instance(row))
            act(on: row)
        }
    }

    func act(on row: DomainRow) {
        let saved = Lifecycle.savedConfig(row.name)
        let decision = RestartDecision.decide(row, saved: saved, recentRestarts: history.count(row.name, now: Clock.microseconds()))
        var outcome = RestartDecision.Outcome.done
        switch decision {
        case .destroy:
            do throws(ControlDevice.Failure) { try device.control(row.id, TERN_DOMCTL_DESTROY) } catch { outcome = .failed(error.description) }
        case .restart:
            history.record(row.name, now: Clock.microseconds())
            outcome = restart(row)
        case .nothing, .preserve, .tooManyRestarts, .noSavedConfig:
            break
        }
        if let line = decision.line(row, outcome) { Lifecycle.say(line) }
    }

    /// Destroys the stopped domain and creates it again from its saved
    /// config; the config and kernel are checked before anything is destroyed.
    func restart(_ row: DomainRow) -> RestartDecision.Outcome {
        let guest: (plan: CreatePlan, image: [UInt8], ramdisk: [UInt8]?)
        do throws(GuestLoad.Problem) { guest = try GuestLoad.check(SavedConfig.path(row.name)) } catch { return .failed(error.message) }
        do throws(ControlDevice.Failure) { try device.control(row.id, TERN_DOMCTL_DESTROY) } catch { return .failed(error.description) }
        var waited: UInt32 = 0
        while (try? device.domains())?.contains(where: { Instance($0) == Instance(row) }) ?? false {
            guard waited < Lifecycle.goneMilliseconds else { return .failed("still dying (other domains map its memory)") }
            Clock.sleep(milliseconds: Lifecycle.goneStepMilliseconds)
            waited += Lifecycle.goneStepMilliseconds
        }
        do throws(GuestLoad.Problem) {
            return .restarted(try GuestStart.start(guest.plan.config, image: guest.image, ramdisk: guest.ramdisk, device: device).domid)
        } catch {
            return .failed(error.message)
        }
    }

    static func savedConfig(_ name: String) -> Result<GuestConfig, SavedConfigProblem> {
        let path = SavedConfig.path(name)
        switch Files.read(path) {
        case .failure(let e): return .failure(SavedConfigProblem("\(path): \(describe(e))"))
        case .success(let bytes):
            do throws(ConfigError) { return .success(try GuestConfig.parse(String(decoding: bytes, as: UTF8.self), file: path)) } catch {
                return .failure(SavedConfigProblem(error.description))
            }
        }
    }

    /// One line on stderr and in Dom0's kernel log.
    static func say(_ line: String) {
        Output.err("tern logd: \(line)\n")
        Files.append("\(kernelLogLevel)tern logd: \(line)\n", to: kernelLog)
    }
}
