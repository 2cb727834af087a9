import Testing

@testable import MCDUtils

/// The original's `TestOf_aggregateKey`: the display form of a cache key.
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
}
