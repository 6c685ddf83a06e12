import Glibc
import XCTest
@testable import TernToolstack

/// What Dom0 knows of a guest's attached disks (`tern block-list`,
/// `block-detach`): a record per disk, locked by its backend while it
/// serves; a record nobody holds, or of an earlier guest with the same
/// id, is not listed.
final class DiskRecordTests: XCTestCase {
    let disk = try! DiskSpec.parse("vdev=xvdb,access=ro,target=/var/lib/tern/disks/a,b.img")

    func testTheTextParsesBackWithATargetHoldingCommas() throws {
        let record = DiskRecord(domid: 3, created: 123_456_789, pid: 4242, device: disk)
        XCTAssertEqual(record.text, "domain=3\ncreated=123456789\npid=4242\nvdev=xvdb\naccess=ro\ntarget=/var/lib/tern/disks/a,b.img\n")
        XCTAssertEqual(DiskRecord.parse(record.text), record)
        XCTAssertNil(DiskRecord.parse("domain=3\ncreated=1\npid=4"), "a torn record is none")
        XCTAssertNil(DiskRecord.parse(record.text.replacingOccurrences(of: "vdev=xvdb", with: "vdev=sda")))
    }

    func testAClaimedRecordIsListedUntilReleasedAndASecondClaimIsRefused() throws {
        let scratch = try Scratch(self)
        let dir = scratch.path("disks")
        let record = DiskRecord(domid: 3, created: 77, pid: getpid(), device: disk)
        let lock = try BackendRecordLock.claim(record, in: dir).get()
        XCTAssertEqual(DiskRecord.live(domid: 3, created: 77, in: dir), [record])
        XCTAssertEqual(DiskRecord.live(domid: 3, created: 78, in: dir), [], "another guest that had id 3 has no disks")
        XCTAssertEqual(DiskRecord.live(domid: 31, created: 77, in: dir), [], "d31 is not d3")
        guard case .failure(let refusal) = BackendRecordLock.claim(record, in: dir) else { return XCTFail("claimed twice") }
        XCTAssertEqual(refusal, .attached(pid: getpid()))
        XCTAssertEqual(refusal.description, "already attached (its backend is pid \(getpid()))")
        DiskRecord.setState("connected", domid: 3, key: "xvdb", in: dir)
        XCTAssertEqual(DiskRecord.state(domid: 3, key: "xvdb", in: dir), "connected")
        lock.release()
        XCTAssertEqual(DiskRecord.live(domid: 3, created: 77, in: dir), [])
        XCTAssertNil(DiskRecord.state(domid: 3, key: "xvdb", in: dir), "the state goes with the record")
        XCTAssertNoThrow(try BackendRecordLock.claim(record, in: dir).get().release(), "free again")
    }

    func testARecordLeftByAKilledBackendIsNotListed() throws {
        let scratch = try Scratch(self)
        let dir = scratch.path("disks")
        mkdir(dir, 0o755)
        let record = DiskRecord(domid: 5, created: 9, pid: 99999, device: disk)
        _ = scratch.write("disks/d5-xvdb", record.text)   // (nobody holds its lock)
        XCTAssertEqual(DiskRecord.live(domid: 5, created: 9, in: dir), [])
        let mine = DiskRecord(domid: 5, created: 9, pid: getpid(), device: disk)
        let lock = try BackendRecordLock.claim(mine, in: dir).get()
        XCTAssertEqual(DiskRecord.live(domid: 5, created: 9, in: dir), [mine], "the stale one is taken over")
        lock.release()
    }

    func testTheTable() {
        let a = DiskRecord(domid: 1, created: 1, pid: 311, device: try! DiskSpec.parse("/d/web.img,xvda"))
        let b = DiskRecord(domid: 1, created: 1, pid: 4012, device: disk)
        let table = DiskRecord.table([(guest: "web", record: a, state: "connected"), (guest: "web", record: b, state: nil)])
        let name = String(repeating: " ", count: GuestConfig.maxNameLength - 4)
        XCTAssertEqual(table, """
            Name\(name)  Vdev  Mode  Backend  State                  Target
            web \(name)  xvda  rw        311  connected              /d/web.img
            web \(name)  xvdb  ro       4012  starting               /var/lib/tern/disks/a,b.img
            """)
    }

    func testAttachAndDetachChangeTheSavedConfig() throws {
        let scratch = try Scratch(self)
        let dir = scratch.path("saved")
        let config = try GuestConfig.parse("name = \"web\"\nkernel = \"/k.elf\"\ndisk = [ \"/d/web.img,xvda\" ]\n", file: "web.cfg")
        XCTAssertNil(SavedConfig.save(config, cwd: "/", in: dir))
        XCTAssertNil(SavedConfig.changeDisks(of: "web", in: dir) { $0.append(self.disk) })
        var saved = try GuestConfig.parse(String(decoding: try Files.read(SavedConfig.path("web", in: dir)).get(), as: UTF8.self), file: "x")
        XCTAssertEqual(saved.disks.map(\.vdev), ["xvda", "xvdb"])
        XCTAssertEqual(saved.disks.last, disk)
        XCTAssertNil(SavedConfig.changeDisks(of: "web", in: dir) { $0.removeAll { $0.vdev == "xvda" } })
        saved = try GuestConfig.parse(String(decoding: try Files.read(SavedConfig.path("web", in: dir)).get(), as: UTF8.self), file: "x")
        XCTAssertEqual(saved.disks, [disk])
        XCTAssertNil(SavedConfig.changeDisks(of: "nosuch", in: dir) { $0 = [] }, "no saved config: nothing to change")
        _ = scratch.write("saved/bad.cfg", "name = \n")
        XCTAssertNotNil(SavedConfig.changeDisks(of: "bad", in: dir) { $0 = [] })
    }
}
