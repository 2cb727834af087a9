/// The cache key of one rendering of an object: the original's `aggregateKey`, byte for byte
/// (see "Keys" in <doc:PageCache>); `requestNames` must already be sorted.
public func aggregateKey(
  path: [String], view: String = "", request: [String: String] = [:],
  requestNames: [String] = [], keywords: [String: String] = [:]
) -> String {
  let requestIndex = requestNames.map { "\($0):\(request[$0] ?? "")" }
  let localIndex = keywords.map { "\($0.key):\($0.value)" }.sorted(by: codePointOrder)
  let fullKey = [
    path.joined(separator: "/"), view, requestIndex.joined(separator: ","),
    localIndex.joined(separator: ","),
  ].joined(separator: "|")
  return replacingSpaces(fullKey)
}

/// `key` with every U+0020 turned into `_`, code point by code point as Python does
/// (`String.replacing` works by `Character` and would skip a space before a combining mark).
func replacingSpaces(_ key: String) -> String {
  guard key.utf8.contains(0x20) else { return key }
  var bytes = Array(key.utf8)
  for index in bytes.indices where bytes[index] == 0x20 {
    bytes[index] = UInt8(ascii: "_")
  }
  return String(decoding: bytes, as: UTF8.self)
}

/// Python's string order (by code point), which the original's `sorted` uses, unlike `<`.
func codePointOrder(_ lhs: String, _ rhs: String) -> Bool {
  lhs.unicodeScalars.lexicographicallyPrecedes(rhs.unicodeScalars)
}
