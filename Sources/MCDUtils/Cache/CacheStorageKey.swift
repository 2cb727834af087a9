import Memcached

/// The memcached key a cache key is stored under: the key itself when memcached accepts it, else
/// a stable short form.
///
/// The short form is a readable start of the key (control characters and spaces turned into
/// `_`), then `#sha256:` and the SHA-256 digest of the whole key in hex. Keys that already
/// contain `#sha256:` are always shortened, so a short form never equals another key as given.
enum CacheStorageKey {
  /// What separates the readable start from the digest.
  static let digestMarker = "#sha256:"
  /// The most bytes of the original key kept readable in a short form.
  static let maximumReadableLength = 120

  /// The key to store `key` under, when the store adds `prefixLength` bytes of prefix.
  static func make(_ key: String, prefixLength: Int) -> String {
    let budget = MemcachedKey.maximumLength - max(0, prefixLength)
    if key.utf8.count <= budget, !key.isEmpty, !key.contains(digestMarker),
      !key.utf8.contains(where: isForbidden)
    {
      return key
    }
    let digest = SHA256.hexDigest(key.utf8)
    let room = min(maximumReadableLength, budget - digestMarker.utf8.count - digest.utf8.count)
    var readable: [UInt8] = []
    readable.reserveCapacity(room)
    // Whole scalars only, so the readable start is valid UTF-8.
    for scalar in key.unicodeScalars {
      let encoded = scalar.utf8
      guard readable.count + encoded.count <= room else { break }
      if scalar.isASCII, isForbidden(UInt8(truncatingIfNeeded: scalar.value)) {
        readable.append(UInt8(ascii: "_"))
      } else {
        readable.append(contentsOf: encoded)
      }
    }
    return String(decoding: readable, as: UTF8.self) + digestMarker + digest
  }

  /// Bytes memcached's text protocol cannot carry in a key: controls, space and DEL.
  private static func isForbidden(_ byte: UInt8) -> Bool {
    byte <= 0x20 || byte == 0x7F
  }
}
