import Testing

@testable import MCDUtils

@Suite("MessagePack encoding")
struct MessagePackRoundTripTests {
  private func roundTrip(_ value: SessionValue) throws -> SessionValue {
    try CodecSamples.decodePayload(CodecSamples.encodePayload(value))
  }

  @Test func everyCaseRoundTrips() throws {
    let cases: [SessionValue] = [
      nil, true, false, 0, -1, .int(Int64.max), .int(Int64.min), 0.0, -0.5, .double(.infinity),
      .double(-.greatestFiniteMagnitude), "", "ascii", "ünïcödé 😀", .bytes([]), .bytes([0, 255]),
      [], [nil, [1, [2]]], [:], ["k": ["nested": [1, "x"]]], CodecSamples.everyCase,
    ]
    for value in cases {
      #expect(try roundTrip(value) == value)
    }
  }

  @Test func notANumberKeepsItsBitPattern() throws {
    let bytes = try CodecSamples.encodePayload(.double(.nan))
    #expect(bytes == [0xCB, 0x7F, 0xF8, 0, 0, 0, 0, 0, 0])
    let decoded = try CodecSamples.decodePayload(bytes)
    #expect(decoded.doubleValue?.isNaN == true)
  }

  /// Values and their encodings as the MessagePack specification gives them.
  static let specCases: [(SessionValue, String)] =
    [
      (.nil, "c0"), (.bool(false), "c2"), (.bool(true), "c3"),
      (.double(1.5), "cb3ff8000000000000"), (.string(""), "a0"), (.string("a"), "a161"),
      (.bytes([1, 2]), "c4020102"), (.array([]), "90"), (.array([.int(1), .int(2)]), "920102"),
      (.map([:]), "80"), (.map(["b": .int(1), "a": .int(2)]), "82a16102a16201"),
      (.map(["schema": .int(0), "compact": .bool(true)]), "82a7636f6d70616374c3a6736368656d6100"),
    ] + integerCases.map { (SessionValue.int($0.0), $0.1) }

  static let integerCases: [(Int64, String)] = [
    (0, "00"), (127, "7f"), (128, "cc80"), (255, "ccff"), (256, "cd0100"), (65535, "cdffff"),
    (65536, "ce00010000"), (4_294_967_295, "ceffffffff"), (4_294_967_296, "cf0000000100000000"),
    (Int64.max, "cf7fffffffffffffff"), (-1, "ff"), (-32, "e0"), (-33, "d0df"), (-128, "d080"),
    (-129, "d1ff7f"), (-32768, "d18000"), (-32769, "d2ffff7fff"), (Int64(Int32.min), "d280000000"),
    (Int64(Int32.min) - 1, "d3ffffffff7fffffff"), (Int64.min, "d38000000000000000"),
  ]

  @Test(arguments: specCases)
  func encodesToTheSpecBytes(value: SessionValue, hex: String) throws {
    #expect(CodecSamples.hex(try CodecSamples.encodePayload(value)) == hex)
  }

  @Test(arguments: [
    (31, "bf"), (32, "d920"), (255, "d9ff"), (256, "da0100"), (65535, "daffff"),
    (65536, "db00010000"),
  ])
  func stringLengthBoundariesUseTheSmallestHeader(count: Int, header: String) throws {
    let value = SessionValue.string(String(repeating: "x", count: count))
    let bytes = try CodecSamples.encodePayload(value)
    #expect(CodecSamples.hex(Array(bytes.prefix(header.count / 2))) == header)
    #expect(bytes.count == header.count / 2 + count)
    #expect(try CodecSamples.decodePayload(bytes) == value)
  }

  @Test(arguments: [
    (0, "c400"), (255, "c4ff"), (256, "c50100"), (65535, "c5ffff"), (65536, "c600010000"),
  ])
  func byteStringLengthBoundariesUseTheSmallestHeader(count: Int, header: String) throws {
    let value = SessionValue.bytes([UInt8](repeating: 0xAB, count: count))
    let bytes = try CodecSamples.encodePayload(value)
    #expect(CodecSamples.hex(Array(bytes.prefix(header.count / 2))) == header)
    #expect(try CodecSamples.decodePayload(bytes) == value)
  }

  @Test(arguments: [
    (15, "9f"), (16, "dc0010"), (65535, "dcffff"), (65536, "dd00010000"),
  ])
  func arrayCountBoundariesUseTheSmallestHeader(count: Int, header: String) throws {
    let value = SessionValue.array(Array(repeating: .int(1), count: count))
    let bytes = try CodecSamples.encodePayload(value)
    #expect(CodecSamples.hex(Array(bytes.prefix(header.count / 2))) == header)
    #expect(try CodecSamples.decodePayload(bytes) == value)
  }

  @Test(arguments: [
    (15, "8f"), (16, "de0010"), (65535, "deffff"), (65536, "df00010000"),
  ])
  func mapCountBoundariesUseTheSmallestHeader(count: Int, header: String) throws {
    var entries: [String: SessionValue] = [:]
    entries.reserveCapacity(count)
    for index in 0..<count { entries[String(index)] = SessionValue.nil }
    let value = SessionValue.map(entries)
    let bytes = try CodecSamples.encodePayload(value)
    #expect(CodecSamples.hex(Array(bytes.prefix(header.count / 2))) == header)
    #expect(try CodecSamples.decodePayload(bytes) == value)
  }

  @Test func readsEveryIntegerWidthTheSpecAllows() throws {
    let cases: [(String, Int64)] = [
      ("cc05", 5), ("cd0005", 5), ("ce00000005", 5), ("cf0000000000000005", 5),
      ("d0fb", -5), ("d1fffb", -5), ("d2fffffffb", -5), ("d3fffffffffffffffb", -5),
      ("d005", 5), ("e5", -27),
    ]
    for (hex, expected) in cases {
      #expect(try CodecSamples.decodePayload(CodecSamples.bytes(hex: hex)) == .int(expected))
    }
  }

  @Test func readsFloat32AsDouble() throws {
    #expect(try CodecSamples.decodePayload(CodecSamples.bytes(hex: "ca3fc00000")) == 1.5)
  }

  @Test func readsNonMinimalLengthHeaders() throws {
    #expect(try CodecSamples.decodePayload(CodecSamples.bytes(hex: "db0000000161")) == "a")
    #expect(try CodecSamples.decodePayload(CodecSamples.bytes(hex: "dd0000000101")) == [1])
    #expect(try CodecSamples.decodePayload(CodecSamples.bytes(hex: "de0001a16101")) == ["a": 1])
  }

  @Test func equalMapsEncodeToEqualBytesWhateverTheirInsertionOrder() throws {
    var first: [String: SessionValue] = [:]
    var second: [String: SessionValue] = [:]
    let keys = (0..<200).map { "key-\($0)" }
    for key in keys { first[key] = .string(key) }
    for key in keys.reversed() { second[key] = .string(key) }
    #expect(try CodecSamples.encodePayload(.map(first)) == CodecSamples.encodePayload(.map(second)))
  }

  @Test func mapKeysAreSortedByUTF8BytesNotByUnicodeOrder() throws {
    // "A" + combining ring (41 cc 8a) sorts before "À" (c3 80) by bytes, but after it in
    // Swift's canonical string order.
    let value: SessionValue = ["\u{C0}": 2, "A\u{30A}": 1, "aa": 3, "Z": 4, "a": 5, "😀": 6]
    let bytes = try CodecSamples.encodePayload(value)
    let expected =
      "86" + "a341cc8a01" + "a15a04" + "a16105" + "a2616103" + "a2c38002" + "a4f09f988006"
    #expect(CodecSamples.hex(bytes) == expected)
  }

  @Test func writingTooDeepAValueThrowsNestingTooDeep() {
    var value: SessionValue = 1
    for _ in 0...ValueFormat.maximumDepth { value = [value] }
    #expect(throws: SessionValueFormatError.self) { try CodecSamples.encodePayload(value) }
  }

  @Test func theDeepestAllowedValueRoundTrips() throws {
    var value: SessionValue = 1
    for _ in 0..<ValueFormat.maximumDepth { value = ["k": value] }
    #expect(try roundTrip(value) == value)
  }
}
