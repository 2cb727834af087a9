import Testing

@testable import MCDUtils

/// The keys entries are stored under: unambiguous, readable when nothing needs escaping, within
/// memcached's limits.
@Suite("Page cache storage keys")
struct CacheStorageKeyTests {
  private func key(
    _ path: [String], view: String = "", request: [String: String] = [:],
    names: [String] = [], keywords: [String: String] = [:]
  ) -> String {
    CacheStorageKey.entry(
      path: path, view: view, request: request, requestNames: names, keywords: keywords)
  }

  @Test func aKeyWithNothingToEscapeReadsAsTheAggregateKey() {
    let path = ["", "site", "page"]
    let request = ["lang": "en", "theme": "dark"]
    #expect(
      key(path, view: "VIEW", request: request, names: ["lang", "theme"], keywords: ["k": "v"])
        == aggregateKey(
          path: path, view: "VIEW", request: request, requestNames: ["lang", "theme"],
          keywords: ["k": "v"]))
  }

  @Test func theInputsThatSharedAnEntryNoLongerDo() {
    #expect(key(["a b"]) != key(["a_b"]))
    #expect(key(["x", "y"]) != key(["x/y"]))
    #expect(key(["p"], keywords: ["a": "1,b:2"]) != key(["p"], keywords: ["a": "1", "b": "2"]))
    #expect(key(["p"], view: "v|w") != key(["p", "v"], view: "w"))
    #expect(
      key(["p"], request: [:], names: ["lang"])
        != key(["p"], request: ["lang": ""], names: ["lang"]))
  }

  @Test func separatorsSpacesAndControlCharactersAreEscaped() {
    let escaped = key(["a/b c", "100%", "#1"], view: "x\n|", keywords: [":": ","])
    #expect(escaped == "a%2Fb%20c/100%25/%231|x%0A%7C||%3A:%2C")
    #expect(!escaped.utf8.contains { $0 <= 0x20 || $0 == 0x7F })
  }

  @Test func randomInputsWithSeparatorsNeverShareAKey() {
    var generator = SystemRandomNumberGenerator()
    let alphabet = Array("ab/|,:#% _\n%2F")
    func part() -> String {
      String(
        (0..<Int.random(in: 0...3, using: &generator)).map { _ in
          alphabet.randomElement(using: &generator)!
        })
    }
    var seen: [String: String] = [:]
    for _ in 0..<20_000 {
      let path = (0..<Int.random(in: 0...3, using: &generator)).map { _ in part() }
      let view = part()
      var request: [String: String] = [:]
      let names = Array(Set((0..<Int.random(in: 0...2, using: &generator)).map { _ in part() }))
        .sorted()
      for name in names where Bool.random(using: &generator) { request[name] = part() }
      var keywords: [String: String] = [:]
      for _ in 0..<Int.random(in: 0...2, using: &generator) { keywords[part()] = part() }
      let input =
        "\(path)\u{1}\(view)\u{1}\(names.map { ($0, request[$0]) })\u{1}"
        + "\(keywords.sorted { $0.key < $1.key })"
      let stored = key(path, view: view, request: request, names: names, keywords: keywords)
      if let other = seen[stored] {
        #expect(other == input, "two inputs share \(stored)")
      }
      seen[stored] = input
    }
  }

  @Test func longKeysGetAStableShortFormWithinMemcachedsLimit() {
    let long = key(Array(repeating: "segment-of-a-deep-path", count: 20))
    let short = CacheStorageKey.shortened(long, prefixLength: 30)
    #expect(short != long)
    #expect(short.utf8.count + 30 <= 250)
    #expect(short.hasPrefix("segment-of-a-deep-path/segment"))
    #expect(short.hasSuffix("#sha256:" + CacheStorageKey.hexDigest(long.utf8)))
    #expect(CacheStorageKey.shortened(long, prefixLength: 30) == short)
    #expect(CacheStorageKey.shortened(long + "x", prefixLength: 30) != short)
  }

  @Test func theKeyPrefixCountsTowardsTheLimit() {
    let key = String(repeating: "k", count: 240)
    #expect(CacheStorageKey.shortened(key, prefixLength: 10) == key)
    #expect(CacheStorageKey.shortened(key, prefixLength: 11) != key)
  }

  @Test func multiByteCharactersAreNotCutInHalf() {
    let key = String(repeating: "é", count: 200)
    let short = CacheStorageKey.shortened(key, prefixLength: 0)
    #expect(short.utf8.count <= 250)
    #expect(short.hasPrefix(String(repeating: "é", count: 60) + "#sha256:"))
  }
}
