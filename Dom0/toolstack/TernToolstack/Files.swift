import Glibc

/// Whole-file reads and appends with plain system calls (no Foundation).
public enum Files {
    public enum Failure: Error { case cannotOpen(Int32), cannotRead(Int32) }

    public static func read(_ path: String) -> Result<[UInt8], Failure> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(.cannotOpen(errno)) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            // SAFETY: read(2) writes at most chunk.count bytes into chunk's storage.
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return .failure(.cannotRead(errno)) }
            if n == 0 { return .success(bytes) }
            bytes += chunk[0..<n]
        }
    }

    /// At most the first `count` bytes of `path`.
    public static func readPrefix(_ path: String, count: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: count)
        // SAFETY: read(2) writes at most bytes.count bytes into bytes' storage.
        let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        return n >= 0 ? Array(bytes[..<n]) : nil
    }

    /// Appends `text` to `path` (created 0644 if missing).
    public static func append(_ text: String, to path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var bytes = Array(text.utf8)
        // SAFETY: write(2) reads bytes.count bytes from bytes' storage.
        _ = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// Writes all of `text` to an open descriptor (a pipe).
    public static func send(_ text: String, to fd: Int32) {
        var bytes = Array(text.utf8)
        // SAFETY: write(2) reads bytes.count bytes from bytes' storage.
        _ = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }

    /// The first line read from `fd` (without its newline), or what came
    /// before end of file; nil if nothing came within the time.
    public static func firstLine(from fd: Int32, timeoutMilliseconds: Int32) -> String? {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 1, timeoutMilliseconds) > 0 else { return nil }
            let n = Glibc.read(fd, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 || byte == UInt8(ascii: "\n") { break }
            bytes.append(byte)
        }
        return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self)
    }

    /// The names in a directory (without "." and ".."); empty if it cannot be read.
    public static func names(in directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            // SAFETY: readdir's entry is valid until the next readdir or
            // closedir on `dir`; d_name is copied out here, before either.
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public static func errorText(_ code: Int32) -> String {
        guard let s = strerror(code) else { return "error \(code)" }
        return String(cString: s)
    }
}

/// Writes to standard output and standard error without buffering surprises.
public enum Output {
    public static func out(_ text: String) { write(1, text) }
    public static func err(_ text: String) { write(2, text) }

    static func write(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            // SAFETY: write(2) reads the remaining bytes of `bytes`' storage.
            let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n <= 0 { if errno == EINTR { continue }; return }
            done += n
        }
    }
}

/// Monotonic time and sleeping.
public enum Clock {
    public static func microseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
    }

    public static func sleep(milliseconds: UInt32) { usleep(milliseconds * 1000) }
}
