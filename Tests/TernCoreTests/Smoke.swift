import XCTest
@testable import TernCore
final class SmokeTests: XCTestCase { func testNothing() {} }
