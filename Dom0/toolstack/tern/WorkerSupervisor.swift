import Glibc
import TernSyscalls
import TernToolstack

/// A backend supervisor's loop once its device is added (`tern
/// block-backend`, `tern network-backend`): it starts the worker (which
/// serves the device with descriptors the supervisor keeps open), passes
/// SIGTERM on to it (a detach: the worker finishes what it took and ends),
/// kills a worker that has not ended `drainSeconds` after that, and starts
/// the worker again if it dies of a signal (at most `restarts` times in
/// `restartWindowSeconds`, then it gives up). The device is removed from
/// the guest when the supervisor ends while the guest lives.
struct WorkerSupervisor {
    let log: BackendLog
    let device: ControlDevice
    let domain: UInt32
    /// The signalfd of SIGTERM and SIGCHLD (blocked before any worker starts).
    let signals: Int32
    /// "disk", "interface": for the log.
    let what: String
    /// What a restarted worker does about the work in flight, for the log.
    let onRestart: String
    let remove: () -> Void

    static let restarts = 5
    static let restartWindowSeconds: time_t = 60
    /// How long a detach waits for the worker to finish (a disk operation
    /// that hangs longer is abandoned: the worker is killed).
    static let drainSeconds: time_t = 10
    static let wakeMilliseconds: Int32 = 1000

    /// Runs workers (`spawn` starts one: its pid, or -errno) until one ends
    /// by itself or by a detach; the supervisor's exit status.
    func run(spawn: () -> Int32) -> Int32 {
        var starts: [time_t] = []
        var detachDeadline: time_t?
        while true {
            let now = time(nil)
            starts = starts.filter { now - $0 < WorkerSupervisor.restartWindowSeconds } + [now]
            guard starts.count <= WorkerSupervisor.restarts + 1 else {
                log.warning("the backend died \(WorkerSupervisor.restarts + 1) times in \(WorkerSupervisor.restartWindowSeconds) s: " +
                            "giving up on this \(what)")
                remove()
                return 1
            }
            let pid = spawn()
            guard pid > 0 else {
                log.warning("cannot start the backend: \(String(cString: strerror(-pid)))")
                remove()
                return 1
            }
            if detachDeadline != nil { kill(pid, SIGTERM) }
            let status = waitForWorker(pid, detachDeadline: &detachDeadline)
            let signal = status & 0x7F   // WTERMSIG: the low 7 bits, 0 for a normal exit
            guard device.isLive(domid: domain) else { return 0 }
            if signal == 0 || detachDeadline != nil {
                // Detached (or the worker gave up): the guest loses the device.
                remove()
                if detachDeadline != nil { log.info("removed from the guest") }
                return signal == 0 ? (status >> 8) & 0xFF : 0
            }
            log.warning("the backend died (signal \(signal)): starting it again; \(onRestart)")
        }
    }

    /// Waits for worker `pid` to end (its wait status); SIGTERM meanwhile
    /// is passed on (a detach), and a worker that has not ended
    /// `drainSeconds` after it is killed.
    func waitForWorker(_ pid: pid_t, detachDeadline: inout time_t?) -> Int32 {
        var status: Int32 = 0
        while true {
            var ended = waitpid(pid, &status, WNOHANG)
            while ended < 0 && errno == EINTR { ended = waitpid(pid, &status, WNOHANG) }
            if ended == pid || ended < 0 { return status }
            var fds = [pollfd(fd: signals, events: Int16(POLLIN), revents: 0)]
            _ = poll(&fds, 1, WorkerSupervisor.wakeMilliseconds)
            while case let signal = tern_signal_take(signals), signal != 0 {
                if signal == SIGTERM && detachDeadline == nil {
                    detachDeadline = time(nil) + WorkerSupervisor.drainSeconds
                    kill(pid, SIGTERM)
                }
            }
            if let deadline = detachDeadline, time(nil) >= deadline {
                log.warning("the backend did not finish within \(WorkerSupervisor.drainSeconds) s of the detach: killed")
                kill(pid, SIGKILL)
                detachDeadline = .max   // (once)
            }
        }
    }
}
