import Glibc
import XCTest
@testable import TernToolstack

/// What Dom0 knows of a guest's network interfaces (`tern network-list`,
/// `network-attach`, `network-detach`): a record per interface, its MAC
/// resolved, locked by its backend while it serves; and the saved config
/// following an attach and a detach with every address kept.
final class VifRecordTests: XCTestCase {
    let spec = try! VifSpec.parse("bridge=xenbr1,rate=10Mb/s")

    func testTheMacIsResolvedAndTheTextParsesBack() throws {
        let vif = GuestVif(devid: 2, spec: spec, guest: "web")
        XCTAssertEqual(vif.mac, VifSpec.defaultMAC(guest: "web", index: 2), "the address tern create gives interface 2")
        let record = VifRecord(domid: 4, created: 55, pid: 301, device: vif)
        XCTAssertEqual(record.text, "domain=4\ncreated=55\npid=301\ndevid=2\n" +
                       "vif=mac=\(VifSpec.macText(vif.mac)),bridge=xenbr1,rate=1250000B/s@50000us\n")
        XCTAssertEqual(VifRecord.parse(record.text), record)
        XCTAssertNil(VifRecord.parse("domain=4\ncreated=55\npid=301\ndevid=2\nvif=bridge=br0\n"), "a record always names its MAC")
        XCTAssertNil(VifRecord.parse("domain=4\ncreated=55\npid=301\ndevid=x\nvif=mac=02:00:00:00:00:01\n"))
        let given = GuestVif(devid: 0, spec: try VifSpec.parse("mac=02:00:00:00:00:07"), guest: "web")
        XCTAssertEqual(VifSpec.macText(given.mac), "02:00:00:00:00:07", "a given address is kept")
        XCTAssertEqual(GuestVif.tapName(domid: 4, devid: 2), "vif4.2")
    }

    func testAClaimedRecordIsListedInOrderUntilReleased() throws {
        let scratch = try Scratch(self)
        let dir = scratch.path("vifs")
        let one = VifRecord(domid: 3, created: 9, pid: getpid(), device: GuestVif(devid: 1, spec: spec, guest: "a"))
        let zero = VifRecord(domid: 3, created: 9, pid: getpid(), device: GuestVif(devid: 0, spec: spec, guest: "a"))
        let lockOne = try BackendRecordLock.claim(one, in: dir).get()
        let lockZero = try BackendRecordLock.claim(zero, in: dir).get()
        XCTAssertEqual(VifRecord.live(domid: 3, created: 9, in: dir), [zero, one])
        XCTAssertEqual(DiskRecord.live(domid: 3, created: 9, in: dir), [], "a disk's record is not an interface's")
        guard case .failure(.attached(let pid)) = BackendRecordLock.claim(one, in: dir) else { return XCTFail("claimed twice") }
        XCTAssertEqual(pid, getpid())
        VifRecord.setState("connected", domid: 3, key: "1", in: dir)
        XCTAssertEqual(VifRecord.state(domid: 3, key: "1", in: dir), "connected")
        lockOne.release()
        XCTAssertEqual(VifRecord.live(domid: 3, created: 9, in: dir), [zero])
        lockZero.release()
    }

    func testTheTable() throws {
        let a = VifRecord(domid: 7, created: 1, pid: 420, device: GuestVif(devid: 0, spec: try VifSpec.parse("mac=02:00:00:00:00:01"), guest: "web"))
        let b = VifRecord(domid: 7, created: 1, pid: 4242, device: GuestVif(devid: 1, spec: try VifSpec.parse("mac=02:00:00:00:00:02,rate=1KB/s@1s"), guest: "web"))
        let table = VifRecord.table([(guest: "web", record: a, state: "connected"), (guest: "web", record: b, state: nil)])
        let name = String(repeating: " ", count: GuestConfig.maxNameLength - 4)
        XCTAssertEqual(table, """
            Name\(name)  Idx  Mac                Bridge           Tap              Backend  State                  Rate
            web \(name)    0  02:00:00:00:00:01  br0              vif7.0               420  connected              -
            web \(name)    1  02:00:00:00:00:02  br0              vif7.1              4242  starting               1000B/s@1000000us
            """)
    }

    func testAttachAndDetachChangeTheSavedConfigKeepingEveryAddress() throws {
        let scratch = try Scratch(self)
        let dir = scratch.path("saved")
        let config = try GuestConfig.parse("name = \"web\"\nkernel = \"/k.elf\"\nvif = [ \"bridge=br0\", \"bridge=br1\" ]\n", file: "web.cfg")
        XCTAssertNil(SavedConfig.save(config, cwd: "/", in: dir))
        func saved() throws -> [VifSpec] {
            try GuestConfig.parse(String(decoding: try Files.read(SavedConfig.path("web", in: dir)).get(), as: UTF8.self), file: "x").vifs
        }
        let third = GuestVif(devid: 2, spec: spec, guest: "web").spec
        XCTAssertNil(SavedConfig.changeVifs(of: "web", in: dir) { $0.append(third) })
        XCTAssertEqual(try saved().map(\.mac), [VifSpec.defaultMAC(guest: "web", index: 0), VifSpec.defaultMAC(guest: "web", index: 1),
                                                third.mac], "the defaults written out")
        XCTAssertNil(SavedConfig.changeVifs(of: "web", in: dir) { $0.removeAll { $0.mac == VifSpec.defaultMAC(guest: "web", index: 0) } })
        XCTAssertEqual(try saved().map(\.mac), [VifSpec.defaultMAC(guest: "web", index: 1), third.mac],
                       "the second keeps its address in first place")
        XCTAssertEqual(try saved().map(\.bridge), ["br1", "xenbr1"])
        XCTAssertNil(SavedConfig.changeVifs(of: "nosuch", in: dir) { $0 = [] }, "no saved config: nothing to change")
    }
}
