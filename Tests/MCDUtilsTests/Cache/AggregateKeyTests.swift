import Testing

@testable import MCDUtils

/// The original's `TestOf_aggregateKey`, plus the short form of keys memcached refuses.
@Suite("aggregateKey")
struct AggregateKeyTests {
  private let path = ["path", "to", "dummy"]

  @Test func defaults() {
    #expect(aggregateKey(path: path) == "path/to/dummy|||")
  }

  @Test func explicitViewName() {
    #expect(aggregateKey(path: path, view: "VIEW") == "path/to/dummy|VIEW||")
    #expect(aggregateKey(path: path, view: "VIEW_NAME") == "path/to/dummy|VIEW_NAME||")
  }

  @Test func explicitRequestNames() {
    let key = aggregateKey(
      path: path, request: ["aaa": "AAA", "bbb": "BBB", "ccc": "CCC"],
      requestNames: ["aaa", "ccc"])
    #expect(key == "path/to/dummy||aaa:AAA,ccc:CCC|")
  }

  @Test func explicitLocalKeysAreSorted() {
    let key = aggregateKey(path: path, keywords: ["foo": "bar", "baz": "bam"])
    #expect(key == "path/to/dummy|||baz:bam,foo:bar")
  }

  @Test func missingRequestValueIsAnEmptyValue() {
    let key = aggregateKey(
      path: path, request: ["bar": "baz", "bam": "bif"], requestNames: ["bar", "qux"])
    #expect(key == "path/to/dummy||bar:baz,qux:|")
  }

  @Test func spacesBecomeUnderscores() {
    let key = aggregateKey(
      path: ["", "my site", "a page"], view: "big view", request: ["q": "x y"],
      requestNames: ["q"], keywords: ["k k": "v v"])
    #expect(key == "/my_site/a_page|big_view|q:x_y|k_k:v_v")
  }

  @Test func aSpaceBeforeACombiningMarkBecomesAnUnderscoreAsInPython() {
    // Python's str.replace works on code points: "a \u0301b".replace(" ", "_") == "a_\u0301b".
    // Swift's String.replacing works on characters, where " \u{301}" is one character and no
    // space.
    let key = aggregateKey(path: ["a \u{301}b"])
    #expect(Array(key.unicodeScalars.map(\.value)) == [0x61, 0x5F, 0x301, 0x62, 0x7C, 0x7C, 0x7C])
  }

  @Test func shortKeysAreStoredAsTheyAre() {
    #expect(CacheStorageKey.make("path/to/dummy|||", prefixLength: 10) == "path/to/dummy|||")
  }

  @Test func longKeysGetAStableShortFormWithinMemcachedsLimit() {
    let long = aggregateKey(path: Array(repeating: "segment-of-a-deep-path", count: 20))
    let short = CacheStorageKey.make(long, prefixLength: 30)
    #expect(short != long)
    #expect(short.utf8.count + 30 <= 250)
    #expect(short.hasPrefix("segment-of-a-deep-path/segment"))
    #expect(short.hasSuffix("#sha256:" + SHA256.hexDigest(long.utf8)))
    #expect(CacheStorageKey.make(long, prefixLength: 30) == short)
    #expect(CacheStorageKey.make(long + "x", prefixLength: 30) != short)
  }

  @Test func theKeyPrefixCountsTowardsTheLimit() {
    let key = String(repeating: "k", count: 240)
    #expect(CacheStorageKey.make(key, prefixLength: 10) == key)
    #expect(CacheStorageKey.make(key, prefixLength: 11) != key)
  }

  @Test func controlCharactersGetTheShortForm() {
    let short = CacheStorageKey.make("a\nb\u{7F}c|||", prefixLength: 0)
    #expect(short.hasPrefix("a_b_c|||#sha256:"))
    #expect(!short.utf8.contains { $0 <= 0x20 || $0 == 0x7F })
  }

  @Test func keysThatLookShortenedAreShortenedToo() {
    let lookalike = "x#sha256:" + String(repeating: "0", count: 64)
    #expect(CacheStorageKey.make(lookalike, prefixLength: 0) != lookalike)
  }

  @Test func multiByteCharactersAreNotCutInHalf() {
    let key = String(repeating: "é", count: 200)
    let short = CacheStorageKey.make(key, prefixLength: 0)
    #expect(short.utf8.count <= 250)
    #expect(short.hasPrefix(String(repeating: "é", count: 60) + "#sha256:"))
  }
}
