import XCTest
@testable import TernToolstack

/// `disk = [ ... ]` (docs/toolstack.md "Disks"): xl's disk spec, the
/// subset Tern serves, and its errors with file, line and key.
final class DiskSpecTests: XCTestCase {
    func spec(_ text: String) -> Result<DiskSpec, DiskSpec.Problem> {
        do throws(DiskSpec.Problem) { return .success(try DiskSpec.parse(text)) } catch { return .failure(error) }
    }

    func problem(_ text: String) -> String {
        switch spec(text) {
        case .success: return "no problem"
        case .failure(let p): return p.description
        }
    }

    func testPositionalAndKeyedForms() throws {
        XCTAssertEqual(try spec("/var/lib/tern/disks/web.img,xvda,rw").get(),
                       DiskSpec(target: "/var/lib/tern/disks/web.img", vdev: "xvda", readOnly: false))
        XCTAssertEqual(try spec("/d.img,xvdb,ro").get().readOnly, true)
        XCTAssertEqual(try spec("/d.img,xvdb,r").get().readOnly, true)
        XCTAssertEqual(try spec("/d.img,xvdb,w").get().readOnly, false)
        XCTAssertEqual(try spec("/d.img,xvdc").get().readOnly, false, "rw when left out, as xl")
        XCTAssertEqual(try spec("vdev=xvdz, access=ro, target=/a,b.img").get(), DiskSpec(target: "/a,b.img", vdev: "xvdz", readOnly: true),
                       "target= takes the rest, commas and all (xl)")
        XCTAssertEqual(try spec("/d.img,xvdz").get().devid, 25)
        XCTAssertEqual(try spec("/d.img,xvda").get().devid, 0)
        XCTAssertEqual(try spec("/d.img , xvda , ro").get().text, "/d.img,xvda,ro")
    }

    func testProblemsSayWhatIsWrong() {
        XCTAssertEqual(problem("/d.img,hda,rw"), "vdev \"hda\" is not xvda..xvdz")
        XCTAssertEqual(problem("/d.img,xvda1,rw"), "vdev \"xvda1\" is not xvda..xvdz")
        XCTAssertEqual(problem("/d.img,xvda,rx"), "access \"rx\" is not rw or ro")
        XCTAssertEqual(problem("d.img,xvda"), "\"d.img\": the target must be an absolute path")
        XCTAssertEqual(problem("/d.img"), "\"/d.img\": no vdev (xvda..xvdz)")
        XCTAssertEqual(problem(""), "\"\": no target (the disk image's path)")
        XCTAssertEqual(problem("/d.img,xvda,rw,disk"), "\"/d.img,xvda,rw,disk\": at most TARGET,VDEV,ACCESS (Tern does not take xl's format or devtype here)")
        XCTAssertEqual(problem("format=raw,/d.img,xvda"), "unknown disk key \"format\" (Tern knows target, vdev, access)")
    }

    func testTheConfigKeyListsDisksAndNamesTheLine() throws {
        let base = "name = \"web\"\nkernel = \"/k\"\n"
        let config = try GuestConfig.parse(base + "disk = [ \"/a.img,xvda,rw\", \"/b.img,xvdb,ro\" ]\n", file: "g.cfg")
        XCTAssertEqual(config.disks.map(\.text), ["/a.img,xvda,rw", "/b.img,xvdb,ro"])
        XCTAssertEqual(try GuestConfig.parse(base, file: "g.cfg").disks, [], "no disk key: no disks")
        func error(_ line: String) -> String {
            do throws(ConfigError) { _ = try GuestConfig.parse(base + line, file: "g.cfg"); return "no error" } catch { return error.description }
        }
        XCTAssertEqual(error("disk = [ \"/a.img,xvda\", \"/b.img,xvda\" ]"), "g.cfg:3: disk: xvda is named twice")
        XCTAssertEqual(error("disk = [ \"/a.img,xvda\", \"/a.img,xvdb\" ]"), "g.cfg:3: disk: /a.img is named twice")
        XCTAssertEqual(error("disk = [ \"/a.img,sda\" ]"), "g.cfg:3: disk: vdev \"sda\" is not xvda..xvdz")
        XCTAssertEqual(error("disk = \"/a.img,xvda\""), "g.cfg:3: disk: must be a list [ \"PATH,xvda,rw\", ... ]")
    }

    func testTheSavedTextParsesBackEvenWithACommaInTheTarget() throws {
        for text in ["/d/web.img,xvda,rw", "vdev=xvdc,access=ro,target=/d/a,b.img"] {
            let spec = try DiskSpec.parse(text)
            XCTAssertEqual(spec.text, text)
            XCTAssertEqual(try DiskSpec.parse(spec.text), spec)
        }
    }
}
