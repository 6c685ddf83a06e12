import Glibc
import TernABI
import TernSyscalls
import TernToolstack

/// The steps a backend supervisor (`tern block-backend`, `tern
/// network-backend`) takes before its WorkerSupervisor loop, the same for
/// a disk and an interface: its word to whoever started it ("ready" or
/// "error: ..." on the status descriptor), its record claimed
/// (BackendRecord), the signals it waits on, and its device added to the
/// guest with Dom0's end of the event channel bound.
struct SupervisorSteps {
    let log: BackendLog
    let domain: UInt32
    /// Where "ready" or "error: ..." goes, once (then it is closed).
    let statusFD: Int32?
    /// "ready" once the device is in the guest's device page (an attach
    /// to a running guest), not before (`tern create`: the guest is paused).
    let readyWhenAdded: Bool
    /// TERN_DEVICE_BLOCK or TERN_DEVICE_NET, and its number in the guest.
    let type: Int32
    let devid: UInt16
    /// "disk", "interface": for errors and the log.
    let what: String
    /// How errors name it: "a disk xvdb", "an interface 1".
    let name: String

    /// Waiting for a Linux guest's core module to attach its device page.
    static let attachPollMicroseconds: UInt32 = 50_000

    func report(_ line: String) {
        guard let statusFD else { return }
        Files.send(line + "\n", to: statusFD)
        close(statusFD)
    }

    /// /dev/tern, or nil if it cannot be opened (reported).
    func openDevice() -> ControlDevice? {
        do throws(ControlDevice.Failure) { return try ControlDevice() } catch {
            report("error: \(error)")
            return nil
        }
    }

    /// Claims the record of `served` (the domain must be running); nil
    /// when refused (reported).
    func claim<Device: RecordedDevice>(_ served: Device, on device: ControlDevice) -> BackendRecordLock? {
        guard let created = ((try? device.domains()) ?? []).first(where: { $0.id == domain && !$0.isStopped })?.createdNanoseconds else {
            report("error: domain \(domain) is not running")
            return nil
        }
        switch BackendRecordLock.claim(BackendRecord(domid: domain, created: created, pid: getpid(), device: served)) {
        case .success(let held): return held
        case .failure(let refusal):
            report("error: \(refusal)")
            return nil
        }
    }

    /// SIGTERM (a detach, or Dom0's shutdown) and SIGCHLD (the worker
    /// ended) as a signalfd; the worker inherits SIGTERM blocked and reads
    /// it itself. Nil if it cannot be had (reported).
    func signals() -> Int32? {
        let signals = [SIGTERM, SIGCHLD].withUnsafeBufferPointer { tern_signals_as_fd($0.baseAddress, Int32($0.count)) }
        guard signals >= 0 else {
            report("error: cannot take signals: \(String(cString: strerror(-signals)))")
            return nil
        }
        return signals
    }

    enum Added {
        /// In the guest's device page; Dom0's end of its channel bound.
        case added(ControlDevice.AddedDevice, EventChannel)
        /// Given up (or detached before the guest took it): the exit status.
        case ended(Int32)
    }

    /// Adds the device to the guest, waiting for a Linux guest's core
    /// module to attach its device page (unless `readyWhenAdded`: a
    /// running guest that cannot take it now will not later), then binds
    /// Dom0's end of its event channel. `setState`: the record's state.
    func add(on device: ControlDevice, signals: Int32, setState: (String) -> Void) -> Added {
        var added: ControlDevice.AddedDevice?
        while added == nil {
            do throws(ControlDevice.Failure) {
                added = try device.addDevice(type: type, devid: devid, frontend: domain)
                if readyWhenAdded { report("ready") }
            } catch {
                if readyWhenAdded {
                    report("error: cannot add the \(what) to the guest: \(addFailure(error))")
                    return .ended(1)
                }
                if case .tern(let code) = error, code == -Int64(TERN_EAGAIN), device.isLive(domid: domain) {
                    setState("waiting for the guest")
                    if tern_signal_take(signals) == SIGTERM {
                        log.info("detached before the guest took the \(what)")
                        return .ended(0)
                    }
                    usleep(SupervisorSteps.attachPollMicroseconds)
                    continue
                }
                if device.isLive(domid: domain) { log.warning("cannot add the \(what): \(addFailure(error))") }
                return .ended(1)
            }
        }
        guard let added else { return .ended(1) }
        do throws(ControlDevice.Failure) { return .added(added, try device.bindInterdomain(domid: domain, port: added.port)) } catch {
            log.warning("cannot bind the \(what)'s event channel: \(error)")
            remove(from: device)
            return .ended(1)
        }
    }

    /// Why TERN_HC_DEVICE_ADD refused, in the device's words.
    func addFailure(_ error: ControlDevice.Failure) -> String {
        guard case .tern(let code) = error else { return "\(error)" }
        switch -code {
        case Int64(TERN_EAGAIN): return "it has no device page (a Linux guest without tern_guest.ko?)"
        case Int64(TERN_ENOSPC): return "no free device slot (a guest has \(GuestConfig.maxSplitDevices) for disks and interfaces)"
        case Int64(TERN_EEXIST): return "it already has \(name)"
        default: return "\(error)"
        }
    }

    func remove(from device: ControlDevice) {
        try? device.removeDevice(type: type, devid: devid, frontend: domain)
    }

    /// The loop that runs the worker; the device leaves the guest when it ends.
    func supervisor(on device: ControlDevice, signals: Int32, onRestart: String) -> WorkerSupervisor {
        WorkerSupervisor(log: log, device: device, domain: domain, signals: signals, what: what, onRestart: onRestart) {
            remove(from: device)
        }
    }
}
