import Glibc
import TernABI
import TernSyscalls

/// What a backend's serving loop sleeps on between batches (BlockServer,
/// NetServer): the device's event channel (the guest notified), a domain's
/// death (TERN_VIRQ_DOMAIN_DIED: is it the guest?), the stop signal (a
/// detach: SIGTERM on a signalfd), and one more descriptor of the backend's
/// (the tap, the disk queue's completions).
public struct ServerWait {
    let device: ControlDevice
    let events: EventChannel
    let frontend: UInt32
    /// A guest that was destroyed is let go of at once (its memory no
    /// longer held by our mappings, a disk's image unlocked).
    let died: EventChannel?
    let stopFD: Int32?

    /// A quiet wait this long ends with a look whether the guest still exists.
    public static let quietMilliseconds: Int32 = 1000

    public init(device: ControlDevice, events: EventChannel, frontend: UInt32, stopFD: Int32?) {
        self.device = device
        self.events = events
        self.frontend = frontend
        self.stopFD = stopFD
        died = device.watch(virq: TERN_VIRQ_DOMAIN_DIED)
    }

    /// What ended a sleep.
    public struct Woken {
        /// False once the guest is found gone (looked up after a death, or
        /// after a quiet `quietMilliseconds`).
        public let guestLives: Bool
        /// The stop signal came.
        public let stop: Bool
        /// The guest's notifications taken.
        public let notifications: UInt32
    }

    /// Sleeps until the guest notifies, `other` is readable, a domain
    /// dies, the stop signal, or `milliseconds` pass (a shorter sleep, a
    /// rate limit's, ends without the look for the guest).
    public func sleep(alsoWaking other: Int32? = nil, milliseconds: Int32 = ServerWait.quietMilliseconds) -> Woken {
        var fds = [pollfd(fd: events.fd, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: died?.fd ?? -1, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: other ?? -1, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: stopFD ?? -1, events: Int16(POLLIN), revents: 0)]   // (poll skips fd -1)
        let ready = poll(&fds, nfds_t(fds.count), milliseconds)
        guard ready > 0 else {
            let lives = ready == 0 && milliseconds < ServerWait.quietMilliseconds ? true : guestExists()
            return Woken(guestLives: lives, stop: false, notifications: 0)
        }
        var stop = false
        if fds[3].revents & Int16(POLLIN) != 0, let stopFD, tern_signal_take(stopFD) != 0 { stop = true }
        let notifications = fds[0].revents & Int16(POLLIN) != 0 ? events.takeNow() : 0
        if fds[1].revents & Int16(POLLIN) != 0 {
            died?.takeNow()
            return Woken(guestLives: guestExists(), stop: stop, notifications: notifications)
        }
        return Woken(guestLives: true, stop: stop, notifications: notifications)
    }

    public func guestExists() -> Bool { device.isLive(domid: frontend) }
}
