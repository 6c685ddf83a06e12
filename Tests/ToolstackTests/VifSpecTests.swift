import XCTest
@testable import TernToolstack

/// `vif = [ ... ]`: the subset of xl's vif spec Tern serves (mac, bridge,
/// rate), a stable default address, and errors that say what is wrong.
final class VifSpecTests: XCTestCase {
    func testKeysAndDefaults() throws {
        XCTAssertEqual(try VifSpec.parse(""), VifSpec(mac: nil, bridge: "br0", rate: nil))
        let spec = try VifSpec.parse(" mac=02:54:00:AB:cd:01 , bridge=xenbr1,rate=10Mb/s")
        XCTAssertEqual(spec.mac, [0x02, 0x54, 0x00, 0xAB, 0xCD, 0x01])
        XCTAssertEqual(spec.bridge, "xenbr1")
        XCTAssertEqual(spec.rate, VifSpec.Rate(bytesPerSecond: 1_250_000, intervalMicroseconds: 50_000))
        XCTAssertEqual(spec.rate?.bytesPerInterval, 62_500)
    }

    func testRatesAsXlWritesThem() throws {
        func rate(_ text: String) throws -> VifSpec.Rate? { try VifSpec.parse("rate=\(text)").rate }
        XCTAssertEqual(try rate("5MB/s@20ms"), VifSpec.Rate(bytesPerSecond: 5_000_000, intervalMicroseconds: 20_000))
        XCTAssertEqual(try rate("1GB/s"), VifSpec.Rate(bytesPerSecond: 1_000_000_000, intervalMicroseconds: 50_000))
        XCTAssertEqual(try rate("100Kb/s@1s"), VifSpec.Rate(bytesPerSecond: 12_500, intervalMicroseconds: 1_000_000))
        XCTAssertEqual(try rate("800b/s@250us"), VifSpec.Rate(bytesPerSecond: 100, intervalMicroseconds: 250))
        XCTAssertEqual(try rate("4096B/s"), VifSpec.Rate(bytesPerSecond: 4096, intervalMicroseconds: 50_000))
    }

    func testProblemsSayWhatIsWrong() {
        func problem(_ text: String) -> String {
            do { _ = try VifSpec.parse(text); return "parsed" } catch { return "\(error)" }
        }
        XCTAssertEqual(problem("model=e1000"), "unknown vif key \"model\" (Tern knows mac, bridge, rate)")
        XCTAssertEqual(problem("br0"), "\"br0\" is not key=value (Tern knows mac, bridge, rate)")
        XCTAssertEqual(problem("mac=02:54:00:12:34"), "mac \"02:54:00:12:34\" is not six hex octets (02:54:00:12:34:56)")
        XCTAssertEqual(problem("mac=02:54:00:12:34:zz"), "mac \"02:54:00:12:34:zz\" is not six hex octets (02:54:00:12:34:56)")
        XCTAssertEqual(problem("mac=01:00:5e:00:00:01"), "mac 01:00:5e:00:00:01 is a multicast address (the first octet's low bit)")
        XCTAssertEqual(problem("mac=00:00:00:00:00:00"), "mac 00:00:00:00:00:00 is all zero")
        XCTAssertEqual(problem("bridge=a-very-long-bridge-name"), "bridge \"a-very-long-bridge-name\" is not an interface name (1-15 of A-Z a-z 0-9 . _ -)")
        XCTAssertEqual(problem("bridge=br0,bridge=br1"), "bridge is given twice")
        XCTAssertEqual(problem("rate=10Mb"), "rate \"10Mb\" is not RATE/s (10Mb/s, 5MB/s@20ms)")
        XCTAssertEqual(problem("rate=10Xb/s"), "rate \"10Xb/s\": RATE is a number and B, KB, MB, GB (bytes) or b, Kb, Mb, Gb (bits)")
        XCTAssertEqual(problem("rate=0MB/s"), "rate \"0MB/s\": RATE is a number and B, KB, MB, GB (bytes) or b, Kb, Mb, Gb (bits)")
        XCTAssertEqual(problem("rate=1MB/s@0ms"), "rate interval \"0ms\" is not 1 us to 10 s (us, ms, s)")
        XCTAssertEqual(problem("rate=1MB/s@11s"), "rate interval \"11s\" is not 1 us to 10 s (us, ms, s)")
    }

    func testTheDefaultAddressIsStableLocalAndUnicast() {
        let a = VifSpec.defaultMAC(guest: "web", index: 0)
        XCTAssertEqual(a, VifSpec.defaultMAC(guest: "web", index: 0), "the same guest keeps its address")
        XCTAssertNotEqual(a, VifSpec.defaultMAC(guest: "web", index: 1))
        XCTAssertNotEqual(a, VifSpec.defaultMAC(guest: "db", index: 0))
        XCTAssertEqual(a[0], 0x02, "locally administered (bit 1), unicast (bit 0 clear)")
        XCTAssertEqual(a.count, 6)
        XCTAssertEqual(VifSpec.macText([0x02, 0x0a, 0xff, 0, 1, 0x10]), "02:0a:ff:00:01:10")
    }

    func testTheSavedTextParsesBack() throws {
        for text in ["bridge=br0", "mac=02:54:00:12:34:56,bridge=xenbr1,rate=5MB/s@20ms", "rate=10Mb/s"] {
            let spec = try VifSpec.parse(text)
            XCTAssertEqual(try VifSpec.parse(spec.text), spec, text)
        }
    }

    func testTheConfigKeyCountsDeviceSlotsAndAddresses() throws {
        let head = "name = \"g\"\nkernel = \"/k.elf\"\n"
        let two = try GuestConfig.parse(head + "vif = [ \"bridge=br0\", \"rate=1MB/s\" ]\n", file: "g.cfg")
        XCTAssertEqual(two.vifs.count, 2)
        func error(_ text: String) -> String {
            do { _ = try GuestConfig.parse(head + text, file: "g.cfg"); return "parsed" } catch { return error.description }
        }
        XCTAssertEqual(error("vif = \"bridge=br0\"\n"), "g.cfg:3: vif: must be a list [ \"bridge=br0\", ... ]")
        XCTAssertEqual(error("vif = [ \"mac=02:00:00:00:00:01\", \"mac=02:00:00:00:00:01\" ]\n"), "g.cfg:3: vif: mac 02:00:00:00:00:01 is given twice")
        XCTAssertEqual(error("vif = [ \"colour=red\" ]\n"), "g.cfg:3: vif: unknown vif key \"colour\" (Tern knows mac, bridge, rate)")
        let disks = (0..<5).map { "\"/d\($0).img,xvd\(["a", "b", "c", "d", "e"][$0])\"" }.joined(separator: ", ")
        XCTAssertEqual(error("disk = [ \(disks) ]\nvif = [ \"\", \"\", \"\" ]\n"), "g.cfg:4: vif: 5 disks and 3 interfaces: a guest has 7 device slots")
        let eight = (0..<8).map { "\"/d\($0).img,xvd\(["a", "b", "c", "d", "e", "f", "g", "h"][$0])\"" }.joined(separator: ", ")
        XCTAssertEqual(error("disk = [ \(eight) ]\n"), "g.cfg:3: disk: 8 disks and 0 interfaces: a guest has 7 device slots")
    }
}
