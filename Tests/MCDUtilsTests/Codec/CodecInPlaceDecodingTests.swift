import Foundation
import Testing

@testable import MCDUtils

private struct Line: Codable, Equatable {
  var sku: String
  var qty: Int
  var price: Double
}

private enum Shape: Codable, Equatable {
  case circle(radius: Double)
  case square(Int8)
  case none
}

private struct Everything: Codable, Equatable {
  var id: Int
  var name: String
  var tags: [String]
  var counts: [Int]
  var lines: [Line]
  var ratio: Float
  var flag: Bool
  var small: Int8
  var unsigned: UInt32
  var wide: Int64
  var maybe: String?
  var maybeNumber: Int?
  var when: Date
  var blob: Data
  var raw: [UInt8]
  var link: URL
  var amount: Decimal
  var any: SessionValue
  var table: [String: Int]
  var shape: Shape
  var nested: [[Double?]]
}

/// Tries every way of decoding the generated values: the fields take their names from this set,
/// so random maps hit both matching and mismatched shapes.
private struct Loose: Codable, Equatable {
  var a: Int?
  var b: String?
  var c: [Int8]?
  var d: [String: SessionValue]?
  var e: Line?
}

private struct Strict: Codable, Equatable {
  var a: Int
  var b: String
  var c: [Line]
}

private struct Kelvin: Codable, Equatable {
  var kelvin: Int

  enum CodingKeys: String, CodingKey {
    case kelvin = "\u{212A}"
  }
}

private final class Nest: Codable {
  var name: String
  var child: Nest?

  init(depth: Int) {
    name = "level \(depth)"
    child = depth > 0 ? Nest(depth: depth - 1) : nil
  }
}

@Suite("Decoding Codable values in place")
struct CodecInPlaceDecodingTests {
  /// Decodes `payload` through the in-place decoder alone, without the tree fallback.
  private func inPlace<T: Decodable>(_ type: T.Type, _ payload: [UInt8]) -> Result<T, any Error> {
    let storage = payload.withUnsafeBytes { MessagePackDecodingStorage(copying: $0) }
    var validator = MessagePackValidator(storage.raw)
    guard validator.isValid() else { return .failure(CancellationError()) }
    return Result { try MessagePackValueDecoder.decode(type, from: storage) }
  }

  private func throughTree<T: Decodable>(_ type: T.Type, _ payload: [UInt8]) -> Result<T, any Error>
  {
    Result { try SessionValueDecoder().decode(type, from: CodecSamples.decodePayload(payload)) }
  }

  /// Expects the same value or the same error from both decoders. A dictionary's entries are
  /// decoded in the order of its keys, which for the tree is its `Dictionary`'s, so with
  /// `anyOrder` only the failure itself is compared.
  private func expectSame<T: Decodable & Equatable>(
    _ type: T.Type, _ payload: [UInt8], anyOrder: Bool = false,
    sourceLocation: SourceLocation = #_sourceLocation
  ) {
    let fast = inPlace(type, payload)
    let tree = throughTree(type, payload)
    switch (fast, tree) {
    case (.success(let fast), .success(let tree)):
      #expect(fast == tree, sourceLocation: sourceLocation)
    case (.failure, .failure) where anyOrder:
      break
    case (.failure(let fast), .failure(let tree)):
      #expect(
        String(describing: fast) == String(describing: tree), sourceLocation: sourceLocation)
      #expect(
        Self.path(fast) == Self.path(tree), "\(CodecSamples.hex(payload))",
        sourceLocation: sourceLocation)
    default:
      Issue.record(
        "in place: \(fast), tree: \(tree) for \(CodecSamples.hex(payload))",
        sourceLocation: sourceLocation)
    }
  }

  private static func path(_ error: any Error) -> [String] {
    guard let error = error as? DecodingError else { return [] }
    let context: DecodingError.Context
    switch error {
    case .typeMismatch(_, let found), .valueNotFound(_, let found), .keyNotFound(_, let found),
      .dataCorrupted(let found):
      context = found
    @unknown default:
      return []
    }
    return context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }
  }

  private static let sample = Everything(
    id: 123_456, name: "Alice", tags: ["a", "b", "ü"], counts: [1, -2, 300_000],
    lines: (0..<3).map { Line(sku: "SKU-\($0)", qty: $0, price: 1.25 * Double($0)) },
    ratio: 0.5, flag: true, small: -7, unsigned: 4_000_000_000, wide: .min, maybe: nil,
    maybeNumber: 5, when: Date(timeIntervalSince1970: 1_735_689_600.5), blob: Data([1, 2, 3]),
    raw: [9, 8, 7], link: URL(string: "https://example.com/a?b=c")!,
    amount: Decimal(string: "12.34")!,
    any: ["x": [1, "y", nil, .bytes([0])]], table: ["one": 1, "two": 2],
    shape: .circle(radius: 2), nested: [[1, nil], [], [2.5]])

  @Test func everyNativeTypeDecodesAsTheTreeDecodesIt() throws {
    let (bytes, flags) = try ValueFormat.encode(Self.sample)
    #expect(try ValueFormat.decode(Everything.self, from: bytes, flags: flags) == Self.sample)
    expectSame(Everything.self, Array(bytes.dropFirst(ValueFormat.headerSize)))
    var other = Self.sample
    other.shape = .square(3)
    other.maybe = "present"
    let payload = Array(try ValueFormat.encode(other).bytes.dropFirst(ValueFormat.headerSize))
    expectSame(Everything.self, payload)
    if case .success(let decoded) = inPlace(Everything.self, payload) { #expect(decoded == other) }
  }

  @Test func codableBytesEqualTheTreesBytesForSmallLargeAndDeepMaps() throws {
    var generator = CodecSplitMix64(seed: 99)
    for count in [0, 1, 2, 15, 16, 17, 40, 300] {
      var table: [String: Int] = [:]
      for index in 0..<count {
        let key = ["é", "e\u{301}", "a", "ab", "abcdefgh", "abcdefghi", "Z", ""][index % 8]
        table[key + String(Int.random(in: 0..<1000, using: &generator))] = index
      }
      let direct = try ValueFormat.encode(table)
      let viaTree = try ValueFormat.encode(SessionValueEncoder().encode(table))
      #expect(direct.bytes == viaTree.bytes)
      #expect(direct.flags == viaTree.flags)
    }
    for depth in [1, 63, 64, 65, 200] {
      let nest = Nest(depth: depth)
      let direct = try ValueFormat.encode(nest)
      #expect(direct.bytes == (try ValueFormat.encode(SessionValueEncoder().encode(nest))).bytes)
      let decoded = try ValueFormat.decode(Nest.self, from: direct.bytes, flags: direct.flags)
      #expect(try ValueFormat.encode(decoded).bytes == direct.bytes)
    }
    let sample = try ValueFormat.encode(Self.sample)
    #expect(
      sample.bytes == (try ValueFormat.encode(SessionValueEncoder().encode(Self.sample))).bytes)
  }

  @Test func compressedValuesDecodeInPlace() throws {
    var big = Self.sample
    big.name = String(repeating: "long name ", count: 2000)
    let (bytes, flags) = try ValueFormat.encode(big)
    #expect(flags == ValueFormat.compressedFlags)
    #expect(try ValueFormat.decode(Everything.self, from: bytes, flags: flags) == big)
  }

  @Test func wrongTypesThrowTheTreeDecodersErrorWithItsCodingPath() throws {
    let base = try SessionValueEncoder().encode(Self.sample)
    guard case .map(let fields) = base else { throw CancellationError() }
    let replacements: [SessionValue] = [
      nil, true, 1, -1, 300, .int(Int64.max), 1.5, 2.0, 1e300, "text", .bytes([1]), [1, 2],
      ["k": 1], [nil], ["sku": 1], [["sku": "x", "qty": 1.5, "price": "p"]],
    ]
    for (name, _) in fields {
      for replacement in replacements {
        var changed = fields
        changed[name] = replacement
        let payload = try CodecSamples.encodePayload(.map(changed))
        expectSame(Everything.self, payload)
      }
      var missing = fields
      missing[name] = nil
      expectSame(Everything.self, try CodecSamples.encodePayload(.map(missing)))
    }
  }

  @Test func randomValuesDecodeAlikeOnBothPaths() async throws {
    var generator = CodecSplitMix64(seed: 0xC0DEC)
    for round in 0..<3000 {
      // Hands the cooperative thread over now and then, so that timing tests are not starved.
      if round % 64 == 0 { await Task.yield() }
      let value = CodecSamples.randomValue(&generator, depth: 0)
      let payload = try CodecSamples.encodePayload(value)
      expectSame(Loose.self, payload)
      expectSame(Strict.self, payload)
      expectSame(SessionValue.self, payload)
      expectSame([String: Int].self, payload, anyOrder: true)
      expectSame([String].self, payload)
      expectSame([Int].self, payload)
      expectSame([Line].self, payload)
      expectSame(Int.self, payload)
      expectSame(UInt8.self, payload)
      expectSame(Double.self, payload)
      expectSame(Float.self, payload)
      expectSame(String.self, payload)
      expectSame(Bool.self, payload)
      expectSame([UInt8].self, payload)
      expectSame(Data.self, payload)
      expectSame(Date.self, payload)
      expectSame(Decimal.self, payload)
      expectSame(Shape.self, payload)
      expectSame(Int?.self, payload)
    }
  }

  @Test func canonicallyEquivalentKeysAreFoundAsTheTreeFindsThem() throws {
    // The key is a plain "K"; the coding key is U+212A KELVIN SIGN, equal as a Swift string.
    let payload = try CodecSamples.encodePayload(["K": 3])
    expectSame(Kelvin.self, payload)
    let (bytes, flags) = try ValueFormat.encode(["K": 3] as SessionValue)
    #expect(try ValueFormat.decode(Kelvin.self, from: bytes, flags: flags) == Kelvin(kelvin: 3))
  }

  @Test func hostileBytesAreRefusedByTheValidator() async {
    var generator = CodecSplitMix64(seed: 7)
    for round in 0..<5000 {
      if round % 256 == 0 { await Task.yield() }
      let count = Int.random(in: 0..<24, using: &generator)
      let payload = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
      let tree = Result { try CodecSamples.decodePayload(payload) }
      let valid = payload.withUnsafeBytes {
        var validator = MessagePackValidator($0)
        return validator.isValid()
      }
      if valid {
        #expect((try? tree.get()) != nil, "\(CodecSamples.hex(payload))")
        expectSame(Loose.self, payload)
        expectSame(SessionValue.self, payload)
      }
      let stored = ValueFormat.magic + [ValueFormat.envelopeVersion] + payload
      let decoded = Result {
        try ValueFormat.decode(Loose.self, from: stored, flags: ValueFormat.plainFlags)
      }
      let expected = throughTree(Loose.self, payload)
      #expect(String(describing: decoded) == String(describing: expected))
    }
  }
}
