import XCTest
@testable import TernCore

/// The pure half of each vCPU's own x87/SSE/AVX state (ExtendedState) and
/// what CPUID shows of it (CPUIDPolicy): Machine/GuestFPU.swift switches
/// the registers with these decisions.
final class ExtendedStateTests: XCTestCase {
    let x87 = ExtendedState.x87, sse = ExtendedState.sse, avx = ExtendedState.avx
    let opmask: UInt64 = 1 << 5, zmmHigh256: UInt64 = 1 << 6, zmmHigh16: UInt64 = 1 << 7
    let amxTile: UInt64 = 1 << 18, pkru: UInt64 = 1 << 9

    func testManagedComponentsKeepWhatFitsAFrame() {
        // QEMU's EPYC: x87, SSE, AVX.
        XCTAssertEqual(ExtendedState.managedComponents(supported: x87 | sse | avx), 0x7)
        // AVX-512 comes as its three components; AMX and PKRU are never switched.
        XCTAssertEqual(ExtendedState.managedComponents(supported: 0x7 | opmask | zmmHigh256 | zmmHigh16 | pkru | amxTile), 0xE7)
        // AVX-512 without all three, or without AVX, is dropped.
        XCTAssertEqual(ExtendedState.managedComponents(supported: 0x7 | opmask | zmmHigh256), 0x7)
        XCTAssertEqual(ExtendedState.managedComponents(supported: x87 | sse | opmask | zmmHigh256 | zmmHigh16), 0x3)
        // x87 and SSE always (FXSAVE covers them even if leaf 0xD says less).
        XCTAssertEqual(ExtendedState.managedComponents(supported: 0), 0x3)
    }

    func testXCR0ValuesFollowXSETBVsRules() {
        let managed: UInt64 = 0xE7
        for good: UInt64 in [x87, x87 | sse, x87 | sse | avx, 0xE7] {
            XCTAssertTrue(ExtendedState.isValidXCR0(good, managed: managed), "0x\(String(good, radix: 16))")
        }
        let bad: [UInt64] = [
            0,                        // x87 must be set
            sse | avx,                // ... even with others
            x87 | avx,                // AVX without SSE
            x87 | sse | opmask | zmmHigh256 | zmmHigh16,   // AVX-512 without AVX
            0x7 | opmask,             // AVX-512 not whole
            0x7 | amxTile,            // not managed
            0x7 | 1 << 63,            // reserved
        ]
        for value in bad {
            XCTAssertFalse(ExtendedState.isValidXCR0(value, managed: managed), "0x\(String(value, radix: 16))")
        }
        // Nothing beyond what this CPU has managed.
        XCTAssertFalse(ExtendedState.isValidXCR0(0xE7, managed: 0x7))
    }

    func testANewVCPUStartsInTheResetState() {
        var area = [UInt8](repeating: 0xAA, count: 4096)
        area.withUnsafeMutableBytes { ExtendedState.initialize($0) }
        XCTAssertEqual(UInt16(area[0]) | UInt16(area[1]) << 8, 0x037F, "FCW as after FNINIT")
        XCTAssertEqual(area[24..<28].map { UInt32($0) }.enumerated().reduce(0) { $0 | $1.element << (8 * UInt32($1.offset)) },
                       0x1F80, "MXCSR: exceptions masked")
        // Everything else zero: no register value of anyone's, XSTATE_BV and
        // XCOMP_BV 0 (every component initial, standard format).
        var rest = area
        rest.replaceSubrange(0..<2, with: [0, 0])
        rest.replaceSubrange(24..<28, with: [0, 0, 0, 0])
        XCTAssertTrue(rest.allSatisfy { $0 == 0 })
    }

    // MARK: CPUID

    let host = CPUIDPolicy.Registers(eax: 0x0002_0007, ebx: 0x340, ecx: 0x2B00, edx: 0)
    let limits = CPUIDPolicy.ExtendedStateLimits(components: 0x7, bytes: 0x340)

    func testLeafDNamesOnlyTheSwitchedComponents() {
        let r = CPUIDPolicy.filter(leaf: 0xD, subleaf: 0, host: host, extendedState: limits)
        XCTAssertEqual(r.eax, 0x7, "AMX (bit 17) hidden")
        XCTAssertEqual(r.edx, 0)
        XCTAssertEqual(r.ecx, 0x340, "the largest area is Tern's")
        XCTAssertEqual(r.ebx, 0x340, "the size for the XCR0 in force stays the CPU's")
        let amx = CPUIDPolicy.Registers(eax: 0x2000, ebx: 0xAC0, ecx: 0, edx: 0)
        XCTAssertEqual(CPUIDPolicy.filter(leaf: 0xD, subleaf: 17, host: amx, extendedState: limits), .init(eax: 0, ebx: 0, ecx: 0, edx: 0))
        let avx = CPUIDPolicy.Registers(eax: 0x100, ebx: 0x240, ecx: 0, edx: 0)
        XCTAssertEqual(CPUIDPolicy.filter(leaf: 0xD, subleaf: 2, host: avx, extendedState: limits), avx)
        // Subleaf 1 (XSAVEOPT and friends) is the CPU's.
        XCTAssertEqual(CPUIDPolicy.filter(leaf: 0xD, subleaf: 1, host: host, extendedState: limits), host)
    }

    func testOSXSAVEIsTheGuestsOwnCR4Bit() {
        let osxsave: UInt32 = 1 << 27
        let leaf1 = CPUIDPolicy.Registers(eax: 0, ebx: 0, ecx: osxsave | 1 << 26, edx: 0)
        XCTAssertEqual(CPUIDPolicy.filter(leaf: 1, subleaf: 0, host: leaf1, guestCR4: 0).ecx & osxsave, 0,
                       "host has it on, guest has not: software must not try XGETBV")
        let off = CPUIDPolicy.Registers(eax: 0, ebx: 0, ecx: 1 << 26, edx: 0)
        XCTAssertEqual(CPUIDPolicy.filter(leaf: 1, subleaf: 0, host: off, guestCR4: ExtendedState.cr4OSXSAVE).ecx & osxsave, osxsave)
        XCTAssertEqual(CPUIDPolicy.filter(leaf: 1, subleaf: 0, host: leaf1, guestCR4: ExtendedState.cr4OSXSAVE).ecx & (1 << 26), 1 << 26,
                       "XSAVE itself stays")
    }
}
