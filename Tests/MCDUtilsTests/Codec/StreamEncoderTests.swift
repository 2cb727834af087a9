import Foundation
import Testing

@testable import MCDUtils

/// The bytes `ValueFormat.encode` gave before the streaming encoder: `SessionValueEncoder`'s
/// records written out.
private func slotBytes<T: Encodable>(_ value: T) throws -> [UInt8] {
  let slot = try SessionValueEncodingState.encodeRoot(value, userInfo: [:])
  var writer = MessagePackWriter()
  try writer.write(slot)
  return writer.bytes
}

/// The streaming encoder's bytes, or `nil` when it hands the value over.
private func streamed<T: Encodable>(_ value: T) -> [UInt8]? {
  MessagePackStreamEncoder.encode(value, header: [])
}

private struct Line: Codable, Equatable {
  var sku: String
  var qty: Int
  var price: Double
  var note: String?
}

private struct Order: Codable, Equatable {
  var id: UInt32
  var lines: [Line]
  var tags: Set<String>
  var placed: Date
  var receipt: Data
  var link: URL
  var total: Decimal
  var extra: SessionValue
  var small: Int8
  var ratio: Float
  var flags: [Bool]
  var nested: [[Line]]
  var counts: [String: Int]
  var empty: Empty
  var wrapped: Wrapped
  var state: State

  struct Empty: Codable, Equatable {}
  struct Wrapped: Codable, Equatable {
    var value: Int
    init(_ value: Int) { self.value = value }
    init(from decoder: any Decoder) throws {
      value = try decoder.singleValueContainer().decode(Int.self)
    }
    func encode(to encoder: any Encoder) throws {
      var container = encoder.singleValueContainer()
      try container.encode(value)
    }
  }
  enum State: String, Codable { case open, shipped }
}

/// A map with more keys than a one-byte header holds, in an order that must be sorted.
private struct Wide: Encodable {
  let count: Int
  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: AnyKey.self)
    for index in (0..<count).reversed() {
      try container.encode(index, forKey: AnyKey("k\(index)"))
    }
  }
}

/// Encodes a `SessionValue` through containers (never as the special case it is), so random
/// trees exercise every container.
private struct Tree: Encodable {
  let value: SessionValue
  func encode(to encoder: any Encoder) throws {
    switch value {
    case .map(let entries):
      var container = encoder.container(keyedBy: AnyKey.self)
      for (key, value) in entries { try container.encode(Tree(value: value), forKey: AnyKey(key)) }
    case .array(let elements):
      var container = encoder.unkeyedContainer()
      for element in elements { try container.encode(Tree(value: element)) }
    case .nil:
      var container = encoder.singleValueContainer()
      try container.encodeNil()
    case .bool(let flag):
      var container = encoder.singleValueContainer()
      try container.encode(flag)
    case .int(let integer):
      var container = encoder.singleValueContainer()
      try container.encode(integer)
    case .double(let number):
      var container = encoder.singleValueContainer()
      try container.encode(number)
    case .string(let text):
      var container = encoder.singleValueContainer()
      try container.encode(text)
    case .bytes(let bytes):
      var container = encoder.singleValueContainer()
      try container.encode(bytes)
    }
  }
}

private struct AnyKey: CodingKey {
  let stringValue: String
  var intValue: Int? { nil }
  init(_ string: String) { stringValue = string }
  init?(stringValue: String) { self.stringValue = stringValue }
  init?(intValue: Int) { nil }
}

/// Types that use Codable in ways the streaming encoder leaves to `SessionValueEncoder`.
private enum Payment: Codable, Equatable {
  case card(number: String, expires: Int)
  case cash
}

private class Base: Encodable {
  var id = 1
}

private final class Derived: Base {
  var name = "d"
  enum CodingKeys: String, CodingKey { case name }
  override func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(name, forKey: .name)
    try super.encode(to: container.superEncoder())
  }
}

private struct PathReader: Encodable {
  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: AnyKey.self)
    try container.encode(encoder.codingPath.count, forKey: AnyKey("depth"))
  }
}

private struct RepeatedKeys: Encodable {
  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: AnyKey.self)
    try container.encode(1, forKey: AnyKey("b"))
    try container.encode(2, forKey: AnyKey("a"))
    try container.encode(3, forKey: AnyKey("b"))
  }
}

private struct ExoticKeys: Encodable {
  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: AnyKey.self)
    try container.encode(1, forKey: AnyKey("abcdefghe\u{301}"))
    try container.encode(2, forKey: AnyKey("abcdefgh\u{e9}"))
  }
}

private struct TwoValues: Encodable {
  func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(1)
    try container.encode(2)
  }
}

private struct TooBig: Encodable {
  let value = UInt64.max
}

private struct Escaping: Encodable {
  final class Box: @unchecked Sendable { var container: KeyedEncodingContainer<AnyKey>? }
  let box = Box()
  func encode(to encoder: any Encoder) throws {
    var outer = encoder.container(keyedBy: AnyKey.self)
    try outer.encode(Inner(box: box), forKey: AnyKey("inner"))
    // Writes into the inner value's container after that value ended.
    try box.container?.encode(5, forKey: AnyKey("late"))
  }
  struct Inner: Encodable {
    let box: Box
    func encode(to encoder: any Encoder) throws {
      box.container = encoder.container(keyedBy: AnyKey.self)
      try box.container?.encode(1, forKey: AnyKey("x"))
    }
  }
}

@Suite struct StreamEncoderTests {
  private static let order = Order(
    id: 42,
    lines: (0..<20).map {
      Line(sku: "S\($0)", qty: $0, price: 1.5 * Double($0), note: $0 % 2 == 0 ? nil : "n")
    },
    tags: ["b", "a"], placed: Date(timeIntervalSince1970: 1_700_000_000.25),
    receipt: Data([1, 2, 3]),
    link: URL(string: "https://example.com/a?b=c")!, total: Decimal(string: "12.34")!,
    extra: ["z": 1, "a": [true, nil]], small: -7, ratio: 0.5, flags: [true, false],
    nested: [[], [Line(sku: "x", qty: 1, price: 0, note: nil)]],
    counts: ["one": 1, "two": 2, "": 0],
    empty: Order.Empty(), wrapped: Order.Wrapped(9), state: .shipped)

  @Test func synthesizedTypesStreamToTheSlotEncodersBytes() throws {
    let values: [any Encodable] = [
      Self.order, Self.order.lines, Line(sku: "", qty: 0, price: 0, note: nil), Order.Empty(),
      Order.Wrapped(3), [String: Line](), ["k": Self.order.lines[1]], Wide(count: 15),
      Wide(count: 16), Wide(count: 300), Wide(count: 70_000),
      (0..<70_000).map { Order.Wrapped($0) },
      Order.State.open, Optional<Int>.none, "text", 5, [Self.order], RepeatedKeys(),
    ]
    for value in values {
      let expected = try slotBytes(value)
      let stream = streamed(value)
      #expect(stream == expected, "\(type(of: value))")
      #expect(
        try ValueFormat.encode(value).bytes.dropFirst(ValueFormat.headerSize).elementsEqual(
          expected) || expected.count > ValueFormat.defaultCompressionThreshold)
    }
  }

  @Test func otherUsesOfCodableFallBackToTheSameBytes() throws {
    let values: [any Encodable] = [
      Payment.card(number: "4111", expires: 1226), Payment.cash, Derived(), PathReader(),
      ExoticKeys(), Escaping(),
    ]
    for value in values {
      #expect(streamed(value) == nil, "\(type(of: value)) should not stream")
      let encoded = try ValueFormat.encode(value, compressionThreshold: .max)
      #expect(Array(encoded.bytes.dropFirst(ValueFormat.headerSize)) == (try slotBytes(value)))
    }
  }

  @Test func errorsAreTheSlotEncodersErrors() throws {
    for value in [TooBig() as any Encodable, TwoValues()] {
      #expect(streamed(value) == nil)
      var viaValueFormat = ""
      var viaEncoder = ""
      do { _ = try ValueFormat.encode(value) } catch { viaValueFormat = "\(error)" }
      do { _ = try SessionValueEncoder().encode(value) } catch { viaEncoder = "\(error)" }
      #expect(!viaValueFormat.isEmpty)
      #expect(viaValueFormat == viaEncoder)
    }
  }

  @Test func randomTreesStreamToTheTreesBytes() async throws {
    var generator = CodecSplitMix64(seed: 0x57E4)
    for round in 0..<3000 {
      if round % 64 == 0 { await Task.yield() }
      let value = CodecSamples.randomValue(&generator, depth: 0)
      let stream = streamed(Tree(value: value))
      #expect(stream != nil)
      #expect(stream == (try CodecSamples.encodePayload(value)), "\(value)")
    }
  }
}
