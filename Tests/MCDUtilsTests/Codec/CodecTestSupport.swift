@testable import MCDUtils

/// A small deterministic generator (SplitMix64), so fuzz runs repeat exactly from their seed.
struct CodecSplitMix64: RandomNumberGenerator {
  private var state: UInt64

  init(seed: UInt64) {
    state = seed
  }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var mixed = state
    mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
    mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
    return mixed ^ (mixed >> 31)
  }
}

enum CodecSamples {
  /// The map keys of ``randomValue(_:depth:)``.
  static let randomKeys = ["a", "b", "c", "d", "e", "sku", "qty", "price", "circle", "square"]

  /// A random value of every case, nested up to five levels.
  static func randomValue(_ generator: inout CodecSplitMix64, depth: Int) -> SessionValue {
    let pick = Int.random(in: 0..<(depth > 3 ? 8 : 11), using: &generator)
    switch pick {
    case 0: return nil
    case 1: return .bool(Bool.random(using: &generator))
    case 2: return .int(Int64.random(in: -300...300, using: &generator))
    case 3: return .int(Int64.random(in: .min ... .max, using: &generator))
    case 4:
      return .double([0.5, 2, -1, 1e40, -0.0, 70000][Int.random(in: 0..<6, using: &generator)])
    case 5:
      return .string(
        ["", "x", "héllo", "2.5", "https://a.b/c"][Int.random(in: 0..<5, using: &generator)])
    case 6: return .bytes([1, 2])
    case 7: return .int(Int64.random(in: 0...255, using: &generator))
    case 8, 9:
      var entries: [String: SessionValue] = [:]
      for _ in 0..<Int.random(in: 0..<5, using: &generator) {
        entries[randomKeys[Int.random(in: 0..<randomKeys.count, using: &generator)]] = randomValue(
          &generator, depth: depth + 1)
      }
      return .map(entries)
    default:
      return .array(
        (0..<Int.random(in: 0..<4, using: &generator)).map { _ in
          randomValue(&generator, depth: depth + 1)
        })
    }
  }

  /// One value of every case, nested, used by several suites.
  static let everyCase: SessionValue = [
    "nil": nil,
    "true": true,
    "false": false,
    "small": 7,
    "negative": -33,
    "big": .int(Int64.max),
    "smallest": .int(Int64.min),
    "double": 1.5,
    "string": "héllo wörld",
    "empty": "",
    "bytes": .bytes([0, 1, 2, 0xFF]),
    "array": [1, "two", 3.25, nil, [false]],
    "map": ["inner": ["deeper": "yes"], "": 0],
  ]

  /// Decodes MessagePack payload bytes (no envelope).
  static func decodePayload(_ bytes: [UInt8]) throws(SessionValueFormatError) -> SessionValue {
    try MessagePackReader.decode(bytes)
  }

  /// Encodes to MessagePack payload bytes (no envelope).
  static func encodePayload(_ value: SessionValue) throws(SessionValueFormatError) -> [UInt8] {
    try MessagePackWriter.encode(value)
  }

  /// Parses a hex string such as "c0 a1 61" (spaces ignored).
  static func bytes(hex: String) -> [UInt8] {
    let digits = hex.filter { !$0.isWhitespace }.utf8.map { $0 }
    var result: [UInt8] = []
    var index = 0
    while index + 1 < digits.count {
      let high = Self.nibble(digits[index])
      let low = Self.nibble(digits[index + 1])
      result.append(high << 4 | low)
      index += 2
    }
    return result
  }

  static func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var output: [UInt8] = []
    output.reserveCapacity(bytes.count * 2)
    for byte in bytes {
      output.append(digits[Int(byte >> 4)])
      output.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: output, as: UTF8.self)
  }

  private static func nibble(_ digit: UInt8) -> UInt8 {
    switch digit {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
    default: return 0
    }
  }
}
