import Crypto
import Memcached

/// The memcached keys of the page cache: unambiguous, readable when short, with a digest when
/// long (see "Keys" in the PageCache article and `docs/wire-format.md`).
enum CacheStorageKey {
  /// What separates the readable start of a long key from its digest.
  static let digestMarker = "#sha256:"
  /// The most bytes of a long key kept readable.
  static let maximumReadableLength = 120

  /// The key of an entry.
  static func entry(
    path: [String], view: String, request: [String: String], requestNames: [String],
    keywords: [String: String]
  ) -> String {
    var key: [UInt8] = []
    key.reserveCapacity(64)
    appendPath(path, to: &key)
    key.append(UInt8(ascii: "|"))
    append(view, to: &key)
    key.append(UInt8(ascii: "|"))
    if requestNames == [""] && request[""] == nil { key.append(contentsOf: "%-".utf8) }
    for (index, name) in requestNames.enumerated() {
      if index > 0 { key.append(UInt8(ascii: ",")) }
      append(name, to: &key)
      if let value = request[name] {
        key.append(UInt8(ascii: ":"))
        append(value, to: &key)
      }
    }
    key.append(UInt8(ascii: "|"))
    for (index, name) in keywords.keys.sorted(by: codePointOrder).enumerated() {
      if index > 0 { key.append(UInt8(ascii: ",")) }
      append(name, to: &key)
      key.append(UInt8(ascii: ":"))
      append(keywords[name]!, to: &key)
    }
    return String(decoding: key, as: UTF8.self)
  }

  /// The key of an object's generation counter: its path, then `|#generation`.
  static func generation(path: [String]) -> String {
    var key: [UInt8] = []
    appendPath(path, to: &key)
    key.append(contentsOf: "|#generation".utf8)
    return String(decoding: key, as: UTF8.self)
  }

  /// `key`, or its readable start and `#sha256:` digest when too long with `prefixLength` bytes
  /// of prefix.
  static func shortened(_ key: String, prefixLength: Int) -> String {
    let budget = MemcachedKey.maximumLength - max(0, prefixLength)
    if key.utf8.count <= budget, !key.isEmpty { return key }
    let digest = hexDigest(key.utf8)
    let room = min(maximumReadableLength, budget - digestMarker.utf8.count - 64)
    var readable: [UInt8] = []
    // Whole scalars only, so the readable start is valid UTF-8.
    for scalar in key.unicodeScalars {
      let encoded = scalar.utf8
      guard readable.count + encoded.count <= room else { break }
      readable.append(contentsOf: encoded)
    }
    return String(decoding: readable, as: UTF8.self) + digestMarker + digest
  }

  /// The SHA-256 digest of `bytes`, in lowercase hex.
  static func hexDigest(_ bytes: some Sequence<UInt8>) -> String {
    var text: [UInt8] = []
    text.reserveCapacity(64)
    for byte in SHA256.hash(data: Array(bytes)) {
      text.append(hexDigit(byte >> 4, uppercase: false))
      text.append(hexDigit(byte & 0x0F, uppercase: false))
    }
    return String(decoding: text, as: UTF8.self)
  }

  private static func appendPath(_ path: [String], to key: inout [UInt8]) {
    if path == [""] { key.append(contentsOf: "%-".utf8) }
    for (index, component) in path.enumerated() {
      if index > 0 { key.append(UInt8(ascii: "/")) }
      append(component, to: &key)
    }
  }

  /// Appends `part`, escaping separators, `%` and bytes memcached keys cannot hold as `%XX`.
  private static func append(_ part: String, to key: inout [UInt8]) {
    for byte in part.utf8 {
      switch byte {
      case 0...0x20, 0x7F, UInt8(ascii: "%"), UInt8(ascii: "/"), UInt8(ascii: "|"),
        UInt8(ascii: ","), UInt8(ascii: ":"), UInt8(ascii: "#"):
        key.append(UInt8(ascii: "%"))
        key.append(hexDigit(byte >> 4, uppercase: true))
        key.append(hexDigit(byte & 0x0F, uppercase: true))
      default:
        key.append(byte)
      }
    }
  }

  /// The ASCII hexadecimal digit of `value` (0 to 15).
  private static func hexDigit(_ value: UInt8, uppercase: Bool) -> UInt8 {
    value < 10
      ? UInt8(ascii: "0") + value : (uppercase ? UInt8(ascii: "A") : UInt8(ascii: "a")) + value - 10
  }
}
