import Foundation
import MCDUtils

/// The codec payload of the benchmark issue, as a Codable struct.
struct CodecPayload: Codable, Equatable {
  struct CartLine: Codable, Equatable {
    var sku: String
    var qty: Int
    var price: Double
  }

  var userID: Int
  var name: String
  var roles: [String]
  var cart: [CartLine]
  var balance: Double
  var isAdmin: Bool
  var note: String
  var lang: String
  var lastLogin: Int
  var csrf: String

  enum CodingKeys: String, CodingKey {
    case userID = "user_id"
    case name, roles, cart, balance
    case isAdmin = "is_admin"
    case note, lang
    case lastLogin = "last_login"
    case csrf
  }

  static let sample = CodecPayload(
    userID: 123_456, name: "Alice Example", roles: ["Member", "Reviewer", "Editor", "Manager"],
    cart: (0..<5).map {
      CartLine(sku: "SKU-100\($0)", qty: $0 + 1, price: 9.99 + 5.25 * Double($0))
    },
    balance: 1234.56, isAdmin: false, note: String(repeating: "n", count: 1024), lang: "en-GB",
    lastLogin: 1_735_689_600, csrf: "4f9c2d7e8a1b3c5d6e7f8a9b0c1d2e3f")
}

/// The codec cases, none of which touches the network:
///
/// - `codec_encode` and `codec_decode`: the payload as the map it names, a `SessionValue`
///   (what a session stores), to and from envelope bytes with `ValueFormat`;
/// - `codec_struct_encode` and `codec_struct_decode`: the same payload as a Codable struct
///   through `ValueFormat`'s Codable entry points, the same bytes;
/// - `codec_json_encode` and `codec_json_decode`: Foundation's JSONEncoder and JSONDecoder on the
///   Codable struct.
func codecCases(scale: Double) -> [BenchmarkCase] {
  let count = max(100, Int(100_000 * scale))
  let payload = CodecPayload.sample
  let map = (try? SessionValueEncoder().encode(payload)) ?? .nil
  let encoded = (try? ValueFormat.encode(map)) ?? (bytes: [], flags: 0)
  let encoder = JSONEncoder()
  let decoder = JSONDecoder()
  let json = (try? encoder.encode(payload)) ?? Data()
  // Every path is checked in full once here; the timed loops check what is cheap to check, so
  // that the comparison does not weigh on the figure.
  let correct =
    (try? ValueFormat.decode(encoded.bytes, flags: encoded.flags)) == map
    && (try? ValueFormat.encode(payload))?.bytes == encoded.bytes
    && (try? ValueFormat.decode(CodecPayload.self, from: encoded.bytes, flags: encoded.flags))
      == payload
  let size = encoded.bytes.count
  return [
    BenchmarkCase(name: "codec_encode", count: count, bytes: size) { _ in
      correct && (try? ValueFormat.encode(map))?.bytes.count == size
    },
    BenchmarkCase(name: "codec_decode", count: count, bytes: size) { _ in
      guard correct, let value = try? ValueFormat.decode(encoded.bytes, flags: encoded.flags)
      else { return false }
      return value["user_id"] == 123_456 && value["cart"]?.arrayValue?.count == 5
        && value["note"]?.stringValue?.utf8.count == 1024
    },
    BenchmarkCase(name: "codec_struct_encode", count: count, bytes: size) { _ in
      correct && (try? ValueFormat.encode(payload))?.bytes.count == size
    },
    BenchmarkCase(name: "codec_struct_decode", count: count, bytes: size) { _ in
      correct
        && (try? ValueFormat.decode(CodecPayload.self, from: encoded.bytes, flags: encoded.flags))
          == payload
    },
    BenchmarkCase(name: "codec_json_encode", count: count, bytes: json.count) { _ in
      (try? encoder.encode(payload))?.count == json.count
    },
    BenchmarkCase(name: "codec_json_decode", count: count, bytes: json.count) { _ in
      (try? decoder.decode(CodecPayload.self, from: json)) == payload
    },
  ]
}
