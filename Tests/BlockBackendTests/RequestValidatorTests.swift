import XCTest
import TernABI
@testable import TernBlock

/// Every check of RequestValidator: one rejection each, with the status
/// the frontend sees, and the commands valid requests become.
final class RequestValidatorTests: XCTestCase {
    let disk = BlockDiskProperties(sectors: 2048, readOnly: false, features: [.flush, .discard, .secureDiscard],
                                   maxIndirectSegments: 1024)!
    let readOnlyDisk = BlockDiskProperties(sectors: 2048, readOnly: true, features: [.flush, .discard],
                                           maxIndirectSegments: 256)!
    let plainDisk = BlockDiskProperties(sectors: 2048, readOnly: false)!
    let bigSectorDisk = BlockDiskProperties(sectors: 2048, sectorSize: 4096, readOnly: false, features: [.discard])!

    func rejection(_ request: BlockRequestCopy, on disk: BlockDiskProperties? = nil) -> RequestRejection? {
        RequestValidator(disk: disk ?? self.disk).validate(request).failure
    }

    func testValidReadAndWriteBecomeTransfers() throws {
        let segments = [Make.segment(100, 0, 7), Make.segment(101, 2, 5), Make.segment(102, 0, 0)]
        let read = try XCTUnwrap(RequestValidator(disk: disk).validate(
            Make.copy(TERN_BLKIF_OP_READ, sector: 16, segments: segments)).success)
        XCTAssertEqual(read, .transfer(BlockTransfer(direction: .read, startSector: 16, segments: segments,
                                                     sectorCount: 13, durable: false)))
        let write = RequestValidator(disk: disk).validate(Make.copy(TERN_BLKIF_OP_WRITE, sector: 2040,
                                                                    segments: [Make.segment()]))
        XCTAssertEqual(write.success, .transfer(BlockTransfer(direction: .write, startSector: 2040,
                                                              segments: [Make.segment()], sectorCount: 8,
                                                              durable: false)),
                       "ending exactly at the disk's end")
        XCTAssertNotNil(RequestValidator(disk: readOnlyDisk).validate(
            Make.copy(TERN_BLKIF_OP_READ, segments: [Make.segment()])).success, "reads of a read-only disk")
    }

    func testSegmentCounts() {
        XCTAssertEqual(rejection(Make.copy(TERN_BLKIF_OP_READ, segments: [])),
                       .badSegmentCount(count: 0, allowed: 1...11))
        XCTAssertEqual(rejection(Make.copy(TERN_BLKIF_OP_WRITE, segments: [], count: 12)),
                       .badSegmentCount(count: 12, allowed: 1...11))
        XCTAssertEqual(rejection(Make.copy(TERN_BLKIF_OP_READ, segments: [], count: 255)),
                       .badSegmentCount(count: 255, allowed: 1...11))
        XCTAssertEqual(rejection(Make.copy(TERN_BLKIF_OP_FLUSH_DISKCACHE, segments: [], count: 12)),
                       .badSegmentCount(count: 12, allowed: 0...11))
        let eleven = Array(repeating: Make.segment(), count: 11)
        XCTAssertNotNil(RequestValidator(disk: disk).validate(Make.copy(TERN_BLKIF_OP_WRITE, segments: eleven)).success)
    }

    func testSegmentSectorsReversedOrOutsideThePage() {
        XCTAssertEqual(rejection(Make.copy(TERN_BLKIF_OP_READ, segments: [Make.segment(), Make.segment(1, 5, 2)])),
                       .badSegmentSectors(segment: 1, first: 5, last: 2))
        XCTAssertEqual(rejection(Make.copy(TERN_BLKIF_OP_READ, segments: [Make.segment(1, 0, 8)])),
                       .badSegmentSectors(segment: 0, first: 0, last: 8))
        XCTAssertEqual(rejection(Make.copy(TERN_BLKIF_OP_WRITE, segments: [Make.segment(1, 255, 255)])),
                       .badSegmentSectors(segment: 0, first: 255, last: 255))
    }

    func testSectorRangeInsideTheDiskWithoutWrapping() {
        XCTAssertEqual(rejection(Make.copy(TERN_BLKIF_OP_READ, sector: 2041, segments: [Make.segment()])),
                       .beyondDisk(start: 2041, count: 8, diskSectors: 2048))
        XCTAssertEqual(rejection(Make.copy(TERN_BLKIF_OP_READ, sector: UInt64.max - 3, segments: [Make.segment()])),
                       .beyondDisk(start: UInt64.max - 3, count: 8, diskSectors: 2048), "start + count wraps")
        XCTAssertEqual(rejection(Make.discard(sector: 8, count: UInt64.max)),
                       .beyondDisk(start: 8, count: UInt64.max, diskSectors: 2048))
        XCTAssertEqual(rejection(Make.discard(sector: 2048, count: 1)),
                       .beyondDisk(start: 2048, count: 1, diskSectors: 2048))
    }

    func testAlignmentToA4096ByteSector() {
        XCTAssertEqual(rejection(Make.copy(TERN_BLKIF_OP_READ, sector: 4, segments: [Make.segment()]), on: bigSectorDisk),
                       .misaligned(sector: 4, count: 8, sectorSize: 4096))
        XCTAssertEqual(rejection(Make.copy(TERN_BLKIF_OP_READ, sector: 8, segments: [Make.segment(1, 1, 7)]),
                                 on: bigSectorDisk),
                       .misaligned(sector: 1, count: 7, sectorSize: 4096))
        XCTAssertEqual(rejection(Make.discard(sector: 8, count: 3), on: bigSectorDisk),
                       .misaligned(sector: 8, count: 3, sectorSize: 4096))
        XCTAssertNotNil(RequestValidator(disk: bigSectorDisk).validate(
            Make.copy(TERN_BLKIF_OP_WRITE, sector: 8, segments: [Make.segment()])).success)
    }

    func testWritesFlushesAndDiscardsRefusedOnAReadOnlyDisk() {
        let write = UInt8(TERN_BLKIF_OP_WRITE), flush = UInt8(TERN_BLKIF_OP_FLUSH_DISKCACHE)
        XCTAssertEqual(rejection(Make.copy(TERN_BLKIF_OP_WRITE, segments: [Make.segment()]), on: readOnlyDisk),
                       .writeToReadOnly(operation: write))
        XCTAssertEqual(rejection(Make.copy(TERN_BLKIF_OP_FLUSH_DISKCACHE, segments: []), on: readOnlyDisk),
                       .writeToReadOnly(operation: flush))
        XCTAssertEqual(rejection(Make.copy(TERN_BLKIF_OP_FLUSH_DISKCACHE, segments: [Make.segment()]), on: readOnlyDisk),
                       .writeToReadOnly(operation: flush))
        XCTAssertEqual(rejection(Make.discard(sector: 0, count: 8), on: readOnlyDisk),
                       .writeToReadOnly(operation: UInt8(TERN_BLKIF_OP_DISCARD)))
        XCTAssertEqual(rejection(Make.indirect(TERN_BLKIF_OP_WRITE, segments: 1), on: readOnlyDisk),
                       .writeToReadOnly(operation: UInt8(TERN_BLKIF_OP_INDIRECT)))
    }

    func testUnknownAndNotOfferedOperationsAnswerNotSupported() {
        for code: UInt8 in [UInt8(TERN_BLKIF_OP_RESERVED_1), 7, 0x80, 255] {
            let request = Make.copy(TERN_BLKIF_OP_READ, segments: [Make.segment()])
            var raw = request.request
            raw.operation = code
            XCTAssertEqual(rejection(BlockRequestCopy(raw)), .unknownOperation(code))
        }
        XCTAssertEqual(rejection(Make.copy(TERN_BLKIF_OP_WRITE_BARRIER, segments: [Make.segment()])),
                       .notOffered(.writeBarrier))
        XCTAssertEqual(rejection(Make.copy(TERN_BLKIF_OP_FLUSH_DISKCACHE, segments: []), on: plainDisk),
                       .notOffered(.flush))
        XCTAssertEqual(rejection(Make.discard(sector: 0, count: 8), on: plainDisk), .notOffered(.discard))
        XCTAssertEqual(rejection(Make.discard(sector: 0, count: 8, flag: UInt8(TERN_BLKIF_DISCARD_SECURE)),
                                 on: bigSectorDisk), .notOffered(.secureDiscard))
        XCTAssertEqual(rejection(Make.indirect(TERN_BLKIF_OP_READ, segments: 1), on: plainDisk), .notOffered(.indirect))
        XCTAssertEqual(RequestRejection.unknownOperation(4).status, .notSupported)
        XCTAssertEqual(RequestRejection.notOffered(.flush).status, .notSupported)
        XCTAssertEqual(RequestRejection.writeToReadOnly(operation: 1).status, .error)
        XCTAssertEqual(RequestRejection.beyondDisk(start: 0, count: 1, diskSectors: 0).status, .error)
    }

    func testFlushAndDiscardCommands() {
        XCTAssertEqual(RequestValidator(disk: disk).validate(Make.copy(TERN_BLKIF_OP_FLUSH_DISKCACHE, segments: [])).success,
                       .flush)
        XCTAssertEqual(RequestValidator(disk: disk).validate(
            Make.copy(TERN_BLKIF_OP_FLUSH_DISKCACHE, sector: 8, segments: [Make.segment()])).success,
                       .transfer(BlockTransfer(direction: .write, startSector: 8, segments: [Make.segment()],
                                               sectorCount: 8, durable: true)), "flush with data: a durable write")
        XCTAssertEqual(RequestValidator(disk: disk).validate(
            Make.discard(sector: 16, count: 64, flag: UInt8(TERN_BLKIF_DISCARD_SECURE))).success,
                       .discard(BlockDiscard(startSector: 16, sectorCount: 64, secure: true)))
        XCTAssertEqual(rejection(Make.discard(sector: 0, count: 8, flag: 2)), .badDiscardFlags(2))
    }

    func testIndirectHeaderThenCopiedSegments() throws {
        XCTAssertEqual(rejection(Make.indirect(TERN_BLKIF_OP_FLUSH_DISKCACHE, segments: 1)),
                       .badIndirectOperation(UInt8(TERN_BLKIF_OP_FLUSH_DISKCACHE)))
        XCTAssertEqual(rejection(Make.indirect(TERN_BLKIF_OP_READ, segments: 0)),
                       .badSegmentCount(count: 0, allowed: 1...1024))
        XCTAssertEqual(rejection(Make.indirect(TERN_BLKIF_OP_READ, segments: 1025)),
                       .badSegmentCount(count: 1025, allowed: 1...1024))
        XCTAssertEqual(rejection(Make.indirect(TERN_BLKIF_OP_READ, segments: 8, sector: 3), on: bigSectorDisk),
                       .notOffered(.indirect))
        let validator = RequestValidator(disk: BlockDiskProperties(sectors: 1 << 20, readOnly: false,
                                                                   maxIndirectSegments: 1024)!)
        guard case .indirect(let header)? = validator.validate(Make.indirect(TERN_BLKIF_OP_WRITE, segments: 513,
                                                                             sector: 64)).success
        else { return XCTFail("a valid indirect header") }
        XCTAssertEqual(header, IndirectRequest(direction: .write, startSector: 64, segmentCount: 513, pageRefs: [201, 202]))
        let segments = Array(repeating: Make.segment(), count: 513)
        XCTAssertEqual(validator.validate(header, segments: segments).success?.sectorCount, 513 * 8 as UInt64)
        XCTAssertEqual(validator.validate(header, segments: Array(segments.prefix(512))).failure,
                       .indirectSegmentsMissing(expected: 513, copied: 512))
        var reversed = segments
        reversed[300] = Make.segment(1, 7, 6)
        XCTAssertEqual(validator.validate(header, segments: reversed).failure,
                       .badSegmentSectors(segment: 300, first: 7, last: 6))
        let nearEnd = IndirectRequest(direction: .read, startSector: (1 << 20) - 8, segmentCount: 2, pageRefs: [201])
        XCTAssertEqual(validator.validate(nearEnd, segments: [Make.segment(), Make.segment()]).failure,
                       .beyondDisk(start: (1 << 20) - 8, count: 16, diskSectors: 1 << 20))
    }

    func testRejectionsAreOneLine() {
        let all: [RequestRejection] = [
            .unknownOperation(4), .notOffered(.discard), .badSegmentCount(count: 12, allowed: 1...11),
            .badSegmentSectors(segment: 1, first: 5, last: 2), .misaligned(sector: 1, count: 8, sectorSize: 4096),
            .beyondDisk(start: 1, count: 2, diskSectors: 3), .writeToReadOnly(operation: 1), .badIndirectOperation(9),
            .badDiscardFlags(2), .indirectSegmentsMissing(expected: 2, copied: 1),
        ]
        for rejection in all {
            XCTAssertFalse(rejection.description.isEmpty)
            XCTAssertFalse(rejection.description.contains("\n"))
        }
        XCTAssertEqual(RequestRejection.beyondDisk(start: 2041, count: 8, diskSectors: 2048).description,
                       "sectors 2041 +8 beyond the disk's 2048")
    }

    func testDiskPropertiesThatCannotBeAdvertised() {
        XCTAssertNil(BlockDiskProperties(sectors: 8, sectorSize: 1024 + 512, readOnly: false))
        XCTAssertNil(BlockDiskProperties(sectors: 8, sectorSize: 256, readOnly: false))
        XCTAssertNil(BlockDiskProperties(sectors: 8, sectorSize: 8192, readOnly: false))
        XCTAssertNil(BlockDiskProperties(sectors: 8, sectorSize: 4096, physicalSectorSize: 512, readOnly: false))
        XCTAssertNil(BlockDiskProperties(sectors: 8, readOnly: false, maxIndirectSegments: 4097))
        XCTAssertNil(BlockDiskProperties(sectors: 8, readOnly: false, maxRingOrder: 3))
        XCTAssertNil(BlockDiskProperties(sectors: 8, readOnly: false, features: [.secureDiscard]))
        XCTAssertNil(BlockDiskProperties(sectors: 8, readOnly: false, features: BlockFeatures(rawValue: 1 << 9)))
        XCTAssertEqual(BlockDiskProperties(sectors: 8, sectorSize: 4096, readOnly: false)?.sectorsPerLogicalSector, 8)
    }
}
