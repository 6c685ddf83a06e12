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
        if fds[0].revents & Int16(POLLIN) != 0 { take() }
        return true
    }

    /// Takes the notifications so far (poll said the fd is readable).
    func take() {
        var count: UInt32 = 0
        _ = read(fd, &count, MemoryLayout<UInt32>.size)
    }
}

/// Waiting for Tern's log to grow: on TERN_VIRQ_CONSOLE when tern.ko has
/// event channels, else by sleeping (Dom0's timer is coarse while it is
/// idle under Tern: a 1 ms sleep can last the 10 ms tick). `tern logd`
/// also watches TERN_VIRQ_DOMAIN_DIED (a domain stopped).
public struct LogWaiter {
    let channels: [(virq: Int32, channel: EventChannel)]

    public init(_ device: ControlDevice, alsoWatching virqs: [Int32] = []) {
        channels = ([TERN_VIRQ_CONSOLE] + virqs).compactMap { virq in device.watch(virq: virq).map { (virq, $0) } }
    }

    /// Returns once the log may have grown, after at most `milliseconds`,
    /// or when `input` (a file descriptor) has something to read: the
    /// VIRQs that were notified (none on a timeout, on input, or without
    /// event channels).
    @discardableResult
    public func wait(milliseconds: Int32, input: Int32? = nil) -> [Int32] {
        var fds = channels.map { pollfd(fd: $0.channel.fd, events: Int16(POLLIN), revents: 0) }
        if let input { fds.append(pollfd(fd: input, events: Int16(POLLIN), revents: 0)) }
        if fds.isEmpty {
            usleep(UInt32(milliseconds) * 1000)
            return []
        }
        guard poll(&fds, nfds_t(fds.count), milliseconds) > 0 else { return [] }
        var notified: [Int32] = []
        for (i, watched) in channels.enumerated() where fds[i].revents & Int16(POLLIN) != 0 {
            watched.channel.take()
            notified.append(watched.virq)
        }
        return notified
    }
}
