import ArgumentParser
import TernABI
import TernToolstack

struct Shutdown: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask a guest to power off (-w: and wait until it has); --force stops it now.",
        discussion: """
            The guest hears the request (TERN_VIRQ_SHUTDOWN) and powers off when it is ready; then its on_poweroff \
            applies (docs/toolstack.md, "Life cycle"). A guest that does not listen is refused: `tern destroy` stops it.
            """)
    @Argument(help: "Domain id or name.") var domain: String
    @Flag(name: [.customShort("w"), .long], help: "Wait until it has stopped.") var wait = false
    @Option(help: ArgumentHelp("How long -w waits (default \(StopRequest.defaultTimeoutSeconds)).", valueName: "seconds")) var timeout: UInt32?
    @Flag(name: [.customShort("f"), .long], help: "Do not ask: Tern stops it now, as if it powered off.") var force = false

    func validate() throws { try StopRequest.validate(wait: wait, timeout: timeout) }

    func run() throws {
        try StopRequest(domain: domain, operation: force ? TERN_DOMCTL_SHUTDOWN : TERN_DOMCTL_REQUEST_POWEROFF,
                        wait: wait, timeoutSeconds: timeout ?? StopRequest.defaultTimeoutSeconds).run()
    }
}

struct Reboot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask a guest to reboot (-w: and wait until it has stopped).",
        discussion: """
            The guest hears the request (TERN_VIRQ_SHUTDOWN) and stops for a reboot when it is ready; then its \
            on_reboot applies: with "restart" (the default), `tern logd` creates it again under the same name \
            (docs/toolstack.md, "Life cycle").
            """)
    @Argument(help: "Domain id or name.") var domain: String
    @Flag(name: [.customShort("w"), .long], help: "Wait until it has stopped (not until it is back).") var wait = false
    @Option(help: ArgumentHelp("How long -w waits (default \(StopRequest.defaultTimeoutSeconds)).", valueName: "seconds")) var timeout: UInt32?

    func validate() throws { try StopRequest.validate(wait: wait, timeout: timeout) }

    func run() throws {
        try StopRequest(domain: domain, operation: TERN_DOMCTL_REQUEST_REBOOT, wait: wait, timeoutSeconds: timeout ?? StopRequest.defaultTimeoutSeconds).run()
    }
}

/// One domain asked to stop (or stopped at once, --force), and with -w
/// the wait for it: the domain list, looked at on each
/// TERN_VIRQ_DOMAIN_DIED notification and every `pollMilliseconds`.
struct StopRequest {
    var domain: String
    var operation: Int32
    var wait: Bool
    var timeoutSeconds: UInt32

    static let defaultTimeoutSeconds: UInt32 = 30
    static let pollMilliseconds: Int32 = 200

    static func validate(wait: Bool, timeout: UInt32?) throws {
        guard let timeout else { return }
        if !wait { throw ValidationError("--timeout is how long -w waits: give -w too") }
        if timeout == 0 { throw ValidationError("--timeout: at least 1 second") }
    }

    func run() throws {
        let device = try openDevice()
        let row = try resolve(domain, on: device)
        if let why = row.refusal(operation) { throw fail("d\(row.id) \(row.name): \(why)") }
        // Bound before asking, so that its stop is not missed.
        let died = wait ? device.watch(virq: TERN_VIRQ_DOMAIN_DIED) : nil
        do throws(ControlDevice.Failure) { try device.control(row.id, operation) } catch {
            throw fail(ShutdownRequests.refused(row, error))
        }
        guard wait else { return }
        let deadline = Clock.microseconds() + UInt64(timeoutSeconds) * 1_000_000
        while true {
            let rows: [DomainRow]
            do throws(ControlDevice.Failure) { rows = try device.domains() } catch { throw fail(error.description) }
            if case .stopped(let now) = ShutdownRequests.progress(row, in: rows) {
                Output.out(ShutdownRequests.stopped(row, now: now) + "\n")
                return
            }
            guard Clock.microseconds() < deadline else { throw fail(ShutdownRequests.timedOut(row, seconds: timeoutSeconds)) }
            if let died { died.wait(milliseconds: StopRequest.pollMilliseconds) } else { Clock.sleep(milliseconds: UInt32(StopRequest.pollMilliseconds)) }
        }
    }
}
