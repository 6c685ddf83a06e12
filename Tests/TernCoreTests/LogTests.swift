import XCTest
@testable import TernCore

/// What the log wrote since the last reset (tests run one at a time).
nonisolated(unsafe) private var capturedLog: [UInt8] = []

private let captureSink: LogSink = { pointer, count in
    guard let pointer, count > 0 else { return }
    capturedLog.append(contentsOf: UnsafeRawBufferPointer(start: pointer, count: count))
}

final class LogTests: XCTestCase {
    private var savedThreshold: LogLevel = .info
    private var savedSink: LogSink?

    override func setUp() {
        super.setUp()
        savedThreshold = Log.threshold
        savedSink = Log.sink
        Log.threshold = .info
        Log.sink = captureSink
        capturedLog = []
    }

    override func tearDown() {
        Log.threshold = savedThreshold
        Log.sink = savedSink
        capturedLog = []
        super.tearDown()
    }

    private var output: String { String(decoding: capturedLog, as: UTF8.self) }

    /// The text of one message, without the prefix and newline.
    private func render(_ message: LogMessage) -> String {
        message.withBytes { String(decoding: $0, as: UTF8.self) }
    }

    func testPrefixAndLevelTags() {
        Log.threshold = .debug
        Log.error("one")
        Log.warning("two")
        Log.info("three")
        Log.debug("four")
        XCTAssertEqual(output, "(tern) ERROR: one\n(tern) WARNING: two\n(tern) three\n(tern) debug: four\n")
    }

    func testDefaultThresholdHidesDebug() {
        Log.debug("hidden")
        Log.info("shown")
        XCTAssertEqual(output, "(tern) shown\n")
    }

    func testThresholdFiltering() {
        Log.threshold = .error
        Log.warning("w")
        Log.info("i")
        Log.debug("d")
        Log.error("e")
        XCTAssertEqual(output, "(tern) ERROR: e\n")
        capturedLog = []
        Log.threshold = .warning
        Log.info("i")
        Log.warning("w")
        XCTAssertEqual(output, "(tern) WARNING: w\n")
        XCTAssertTrue(Log.isEnabled(.error))
        XCTAssertFalse(Log.isEnabled(.info))
    }

    func testAlwaysIgnoresTheThreshold() {
        Log.threshold = .error
        Log.always("panic: \(3) frames")
        XCTAssertEqual(output, "(tern) panic: 3 frames\n")
    }

    func testNoSinkWritesNothing() {
        Log.sink = nil
        Log.error("lost")
        Log.always("lost")
        XCTAssertEqual(capturedLog, [])
    }

    func testEmptyMessage() {
        Log.info("")
        XCTAssertEqual(output, "(tern) \n")
    }

    func testDecimalInterpolation() {
        XCTAssertEqual(render("n=\(0) \(42) \(UInt64.max)"), "n=0 42 18446744073709551615")
        XCTAssertEqual(render("\(-17) \(Int8(-128)) \(Int64.min)"), "-17 -128 -9223372036854775808")
        XCTAssertEqual(render("\(UInt8(255)),\(Int32.max)"), "255,2147483647")
    }

    func testHexInterpolation() {
        XCTAssertEqual(render("\(hex: 0xBEEF)"), "0xbeef")
        XCTAssertEqual(render("\(hex: 0)"), "0x0")
        XCTAssertEqual(render("\(hex: UInt64.max)"), "0xffffffffffffffff")
        XCTAssertEqual(render("\(hex: UInt32(0x2A), digits: 8)"), "0x0000002a")
        XCTAssertEqual(render("\(hex: 0x1234_5678_9A, digits: 8)"), "0x123456789a", "digits is a minimum")
        XCTAssertEqual(render("\(hex: 0x20_0000, digits: 16)"), "0x0000000000200000")
    }

    func testBytesInterpolation() {
        XCTAssertEqual(render("\(bytes: 0)"), "0 B")
        XCTAssertEqual(render("\(bytes: 1023)"), "1023 B")
        XCTAssertEqual(render("\(bytes: 1024)"), "1 KiB")
        XCTAssertEqual(render("\(bytes: 1536)"), "1 KiB")
        XCTAssertEqual(render("\(bytes: (1 << 20) - 1)"), "1023 KiB")
        XCTAssertEqual(render("\(bytes: 3 << 20)"), "3 MiB")
        XCTAssertEqual(render("\(bytes: 1 << 30)"), "1 GiB")
        XCTAssertEqual(render("\(bytes: 16 << 30)"), "16 GiB")
        XCTAssertEqual(render("\(bytes: (1 << 30) + (1 << 20))"), "1025 MiB", "GiB only when whole")
    }

    func testTextInterpolationReplacesNonPrintables() {
        let raw: [UInt8] = [UInt8(ascii: "a"), 0x09, UInt8(ascii: "b"), 0x7F, UInt8(ascii: " "), 0x80, 0x00, 0x1F, UInt8(ascii: "~")]
        let message: LogMessage = raw.withUnsafeBytes { "[\(text: $0)]" }
        XCTAssertEqual(render(message), "[a?b? ???~]")
    }

    func testWidthPadding() {
        XCTAssertEqual(render("|\("abc", width: 6)|"), "|abc   |")
        XCTAssertEqual(render("|\("toolong", width: 3)|"), "|toolong|")
        XCTAssertEqual(render("|\(UInt64(42), width: 5)|"), "|   42|")
        XCTAssertEqual(render("|\(UInt64(0), width: 3)|"), "|  0|")
        XCTAssertEqual(render("|\(UInt64(123456), width: 3)|"), "|123456|")
    }

    func testNestedMessage() {
        let inner: LogMessage = "inner \(7)"
        XCTAssertEqual(render("outer (\(inner))"), "outer (inner 7)")
    }

    func testLineOfExactlyCapacityIsNotCut() {
        let full = [UInt8](repeating: UInt8(ascii: "x"), count: LogMessage.capacity)
        let message: LogMessage = full.withUnsafeBytes { "\(text: $0)" }
        XCTAssertEqual(render(message), String(repeating: "x", count: LogMessage.capacity))
    }

    func testOverlongLineIsCutWithAnEllipsis() {
        let long = [UInt8](repeating: UInt8(ascii: "x"), count: 300)
        let message: LogMessage = long.withUnsafeBytes { "start \(text: $0) end \(42)" }
        let text = render(message)
        XCTAssertEqual(text.utf8.count, LogMessage.capacity)
        XCTAssertEqual(text, "start " + String(repeating: "x", count: LogMessage.capacity - 9) + "...")
        Log.info(message)
        XCTAssertEqual(output, "(tern) " + text + "\n")
    }

    func testOneByteOverCapacityIsCut() {
        let long = [UInt8](repeating: UInt8(ascii: "y"), count: LogMessage.capacity + 1)
        let message: LogMessage = long.withUnsafeBytes { "\(text: $0)" }
        XCTAssertEqual(render(message), String(repeating: "y", count: LogMessage.capacity - 3) + "...")
    }

    /// An error's text sits next to its type; a builder's error nests the ELF one.
    func testErrorMessagesNestTheELFError() {
        XCTAssertEqual(render(DomainBuilder.Error.badImage(.notX86_64(3)).message),
                       "not a loadable x86-64 ELF executable (machine 3, not x86-64)")
        XCTAssertEqual(render(Dom0Builder.Error.badImage(.notELF).message),
                       "kernel is not a loadable x86-64 ELF (no ELF magic)")
        XCTAssertEqual(render(DomainBuilder.Error.outOfMemory(neededFrames: 5, freeFrames: 2).message),
                       "out of memory: needs 5 frames, 2 free")
    }

    func testHasPrefix() {
        Array("tsc_early_khz=1000".utf8).withUnsafeBytes {
            XCTAssertTrue($0.hasPrefix("tsc_early_khz="))
            XCTAssertTrue($0.hasPrefix(""))
            XCTAssertFalse($0.hasPrefix("tsc_early_khz=10000"))
            XCTAssertFalse($0.hasPrefix("tsc_khz="))
        }
    }
}
