import Foundation
import Testing

@testable import MCDUtils

private struct Cart: Codable, Equatable {
  var owner: String
  var items: [String: Int]
  var updated: Date
}

@Suite("Value format envelope")
struct ValueFormatTests {
  @Test func smallValueIsStoredPlainWithTheDocumentedHeader() throws {
    let (bytes, flags) = try ValueFormat.encode(["a": 1])
    #expect(flags == 0x4D43_0100)
    #expect(flags == ValueFormat.plainFlags)
    #expect(bytes == [0xC1, 0x4D, 0x43, 0x01, 0x81, 0xA1, 0x61, 0x01])
    #expect(try ValueFormat.decode(bytes, flags: flags) == ["a": 1])
  }

  @Test func largeCompressibleValueIsStoredCompressedAndSmaller() throws {
    let value: SessionValue = [
      "text": .string(String(repeating: "session data ", count: 2000)),
      "list": .array((0..<500).map { .int(Int64($0 % 7)) }),
    ]
    let raw = try CodecSamples.encodePayload(value)
    let (bytes, flags) = try ValueFormat.encode(value)
    #expect(flags == 0x4D43_0101)
    #expect(bytes.count < raw.count / 10)
    #expect(Array(bytes[..<4]) == [0xC1, 0x4D, 0x43, 0x01])
    let declared = bytes[4..<8].reduce(0) { $0 << 8 | Int($1) }
    #expect(declared == raw.count)
    #expect(try ValueFormat.decode(bytes, flags: flags) == value)
  }

  @Test func valueBelowTheThresholdIsNotCompressedEvenIfCompressible() throws {
    let value = SessionValue.string(String(repeating: "a", count: 4000))
    let (bytes, flags) = try ValueFormat.encode(value)
    #expect(flags == ValueFormat.plainFlags)
    #expect(bytes.count == 4 + 3 + 4000)
    #expect(try ValueFormat.decode(bytes, flags: flags) == value)
  }

  @Test func incompressibleValueAboveTheThresholdIsStoredPlain() throws {
    var random = CodecSplitMix64(seed: 42)
    let noise = (0..<20_000).map { _ in UInt8.random(in: 0...255, using: &random) }
    let (bytes, flags) = try ValueFormat.encode(.bytes(noise))
    #expect(flags == ValueFormat.plainFlags)
    #expect(try ValueFormat.decode(bytes, flags: flags) == .bytes(noise))
  }

  @Test func compressionThresholdIsConfigurable() throws {
    let value = SessionValue.string(String(repeating: "b", count: 200))
    let (bytes, flags) = try ValueFormat.encode(value, compressionThreshold: 100)
    #expect(flags == ValueFormat.compressedFlags)
    #expect(try ValueFormat.decode(bytes, flags: flags) == value)
  }

  @Test func plainPayloadAboveTheDecodeLimitThrows() throws {
    let (bytes, flags) = try ValueFormat.encode(.bytes([UInt8](repeating: 1, count: 5000)))
    #expect(throws: SessionValueFormatError.self) {
      try ValueFormat.decode(bytes, flags: flags, maximumDecodedSize: 1000)
    }
  }

  @Test func codableValuesRoundTripThroughTheEnvelope() throws {
    let cart = Cart(
      owner: "ann", items: ["apple": 3, "pear": 1], updated: Date(timeIntervalSince1970: 1000))
    let (bytes, flags) = try ValueFormat.encode(cart)
    #expect(try ValueFormat.decode(Cart.self, from: bytes, flags: flags) == cart)
    #expect(
      try ValueFormat.decode(bytes, flags: flags)
        == ["owner": "ann", "items": ["apple": 3, "pear": 1], "updated": 1000.0])
  }

  @Test func codableEncodingGivesTheSameBytesAsTheSessionValueItBecomes() throws {
    let cart = Cart(
      owner: "bob", items: ["z": 1, "a": 2, "m": 3], updated: Date(timeIntervalSince1970: 5))
    let tree = try SessionValueEncoder().encode(cart)
    #expect(try ValueFormat.encode(cart).bytes == ValueFormat.encode(tree).bytes)
  }

  @Test func aKeyEncodedTwiceKeepsItsLastValueOnTheWireToo() throws {
    struct Twice: Encodable {
      func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(1, forKey: .b)
        try container.encode(2, forKey: .a)
        try container.encode(3, forKey: .b)
      }
      enum Key: CodingKey { case a, b }
    }
    #expect(try SessionValueEncoder().encode(Twice()) == ["a": 2, "b": 3])
    let (bytes, flags) = try ValueFormat.encode(Twice())
    #expect(bytes == ValueFormat.magic + [1, 0x82, 0xA1, 0x61, 0x02, 0xA1, 0x62, 0x03])
    #expect(try ValueFormat.decode(bytes, flags: flags) == ["a": 2, "b": 3])
  }

  @Test func sessionValueThroughTheCodableEntryPointIsUnchanged() throws {
    func viaCodable<T: Encodable>(_ value: T) throws -> (bytes: [UInt8], flags: UInt32) {
      try ValueFormat.encode(value)
    }
    let value = CodecSamples.everyCase
    let (bytes, flags) = try viaCodable(value)
    #expect(bytes == (try ValueFormat.encode(value).bytes))
    #expect(try ValueFormat.decode(SessionValue.self, from: bytes, flags: flags) == value)
  }

  @Test func isOursRecognisesOnlyTheTag() {
    #expect(ValueFormat.isOurs(flags: ValueFormat.plainFlags))
    #expect(ValueFormat.isOurs(flags: ValueFormat.compressedFlags))
    #expect(!ValueFormat.isOurs(flags: 0))
    #expect(!ValueFormat.isOurs(flags: 8))
  }

  @Test func errorsDescribeThemselves() {
    #expect(SessionValueFormatError.unknownMarker(0xC1, offset: 3).description.contains("0xc1"))
    #expect(SessionValueFormatError.notOurFormat(flags: 0).description.contains("not"))
  }
}

private struct Pair: Codable, Equatable {
  var street: String
  var zip: Int
}

@Suite("Decoding Codable values from stored bytes")
struct StoredBytesDecodingTests {
  private func envelope(_ payloadHex: String) -> [UInt8] {
    ValueFormat.magic + [ValueFormat.envelopeVersion] + CodecSamples.bytes(hex: payloadHex)
  }

  @Test func mapsWrittenUnsortedByOtherProgramsDecode() throws {
    // {"zip": 1, "street": "x"} in that order.
    let bytes = envelope("82a37a697001a6737472656574a178")
    let pair = try ValueFormat.decode(Pair.self, from: bytes, flags: ValueFormat.plainFlags)
    #expect(pair == Pair(street: "x", zip: 1))
  }

  @Test func duplicateKeysThrowOnTheCodablePathToo() {
    // {"zip": 1, "street": "x", "zip": 2}
    let bytes = envelope("83a37a697001a6737472656574a178a37a697002")
    #expect(throws: SessionValueFormatError.duplicateKey("zip", offset: 15)) {
      try ValueFormat.decode(Pair.self, from: bytes, flags: ValueFormat.plainFlags)
    }
  }

  @Test func canonicallyEquivalentKeysAreDuplicatesOnBothPaths() {
    // "é" precomposed (c3 a9) and decomposed (65 cc 81): different bytes, one Swift key.
    let bytes = envelope("82a2c3a901a365cc8102")
    #expect(throws: SessionValueFormatError.self) {
      try ValueFormat.decode(bytes, flags: ValueFormat.plainFlags)
    }
    #expect(throws: SessionValueFormatError.self) {
      try ValueFormat.decode([String: Int].self, from: bytes, flags: ValueFormat.plainFlags)
    }
  }

  @Test func largeMapsDecodeFromStoredBytes() throws {
    let dictionary = Dictionary(uniqueKeysWithValues: (0..<100).map { ("key\($0)", $0) })
    let (bytes, flags) = try ValueFormat.encode(dictionary)
    #expect(try ValueFormat.decode([String: Int].self, from: bytes, flags: flags) == dictionary)
  }

  @Test func nonASCIIKeysDecodeFromStoredBytes() throws {
    let dictionary = ["ä": 1, "b": 2, "😀": 3, "a": 4]
    let (bytes, flags) = try ValueFormat.encode(dictionary)
    #expect(try ValueFormat.decode([String: Int].self, from: bytes, flags: flags) == dictionary)
  }

  @Test func sessionValueInsideACodableTypeDecodesFromBytes() throws {
    struct Holder: Codable, Equatable {
      var extra: SessionValue
    }
    let holder = Holder(extra: CodecSamples.everyCase)
    let (bytes, flags) = try ValueFormat.encode(holder)
    #expect(try ValueFormat.decode(Holder.self, from: bytes, flags: flags) == holder)
  }
}
