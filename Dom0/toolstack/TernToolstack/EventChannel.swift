import Glibc
import TernABI

/// An event-channel file descriptor of /dev/tern (tern/ioctl.h): it
/// becomes readable when its port was notified; reading takes the count.
public final class EventChannel {
    public let fd: Int32

    init(fd: Int32) { self.fd = fd }
    deinit { close(fd) }

    /// Waits up to `milliseconds` for a notification (taking it), or for
    /// input on `alsoWatching` if given; true if either came.
    @discardableResult
    public func wait(milliseconds: Int32, alsoWatching other: Int32? = nil) -> Bool {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        if let other { fds.append(pollfd(fd: other, events: Int16(POLLIN), revents: 0)) }
        guard poll(&fds, nfds_t(fds.count), milliseconds) > 0 else { return false }
        if fds[0].revents & Int16(POLLIN) != 0 {
            var count: UInt32 = 0
            _ = read(fd, &count, MemoryLayout<UInt32>.size)
        }
        return true
    }
}

/// Waiting for Tern's log to grow: on TERN_VIRQ_CONSOLE when tern.ko has
/// event channels, else by sleeping (Dom0's timer is coarse while it is
/// idle under Tern: a 1 ms sleep can last the 10 ms tick).
public struct LogWaiter {
    let channel: EventChannel?

    public init(_ device: ControlDevice) { channel = device.watch(virq: TERN_VIRQ_CONSOLE) }

    /// Returns once the log may have grown, after at most `milliseconds`,
    /// or when `input` (a file descriptor) has something to read.
    public func wait(milliseconds: Int32, input: Int32? = nil) {
        if let channel {
            channel.wait(milliseconds: milliseconds, alsoWatching: input)
        } else if let input {
            var fds = pollfd(fd: input, events: Int16(POLLIN), revents: 0)
            _ = poll(&fds, 1, milliseconds)
        } else {
            usleep(UInt32(milliseconds) * 1000)
        }
    }
}
