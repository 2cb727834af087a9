/// The cache key of one rendering of an object: the original's `aggregateKey`, byte for byte.
///
/// The key is `path|view|name:value,…|key:value,…`: the path components joined with `/`, the
/// view name, the request values named by `requestNames` in the order given (a missing value
/// gives `name:`), then the keywords sorted, with every space turned into `_` (memcached keys
/// cannot hold spaces).
///
/// ```swift
/// aggregateKey(path: ["", "site", "page"], view: "VIEW")  // "/site/page|VIEW||"
/// aggregateKey(path: ["p"], keywords: ["foo": "bar", "baz": "bam"])  // "p|||baz:bam,foo:bar"
/// ```
///
/// The result may be longer than memcached allows or hold control characters;
/// ``MemCacheZCache`` stores such keys under a short form (see
/// ``MemCacheZCache/storageKey(for:view:request:keywords:)``).
///
/// - Parameters:
///   - path: the object's physical path components (Zope's `getPhysicalPath()`).
///   - view: the view name.
///   - request: the request's values.
///   - requestNames: the request values that vary the key, already sorted (the manager sorts
///     them).
///   - keywords: local keys (the original's `local_keys`).
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

/// `key` with every U+0020 turned into `_`, as Python's `str.replace(' ', '_')` does: code point
/// by code point, so a space that starts a grapheme cluster (a space then a combining mark) is
/// replaced too, which `String.replacing` (by `Character`) would skip. Works on the UTF-8 bytes,
/// where a space is always the single byte 0x20.
func replacingSpaces(_ key: String) -> String {
  guard key.utf8.contains(0x20) else { return key }
  var bytes = Array(key.utf8)
  for index in bytes.indices where bytes[index] == 0x20 {
    bytes[index] = UInt8(ascii: "_")
  }
  return String(decoding: bytes, as: UTF8.self)
}

/// Python's string order (by code point), which the original's `sorted` uses; Swift's `<` on
/// `String` compares canonically equivalent forms and could order some keys differently.
func codePointOrder(_ lhs: String, _ rhs: String) -> Bool {
  lhs.unicodeScalars.lexicographicallyPrecedes(rhs.unicodeScalars)
}
