import Memcached
import Testing

@testable import MCDUtils

/// The original's `TestMemCacheZCache` and `TestMemCacheZCacheManager`, on `InProcessStore`.
@Suite("MemCacheZCache (ported)")
struct MemCacheZCacheTests {
  private let dummy = CacheablePath(["path", "to", "dummy"])

  private func makeCache(requestNames: [String] = []) -> (MemCacheZCache, InProcessStore) {
    let store = InProcessStore()
    return (MemCacheZCache(store: store, requestNames: requestNames), store)
  }

  @Test func getCacheMiss() throws {
    let (cache, _) = makeCache()
    #expect(cache.get(String.self, for: dummy) == nil)
  }

  @Test func getCacheMissGivesTheDefault() throws {
    let (cache, _) = makeCache()
    #expect(cache.get(String.self, for: dummy) ?? "DEFAULT" == "DEFAULT")
  }

  @Test func getCacheHitDefaultArgs() throws {
    let (cache, store) = makeCache()
    try cache.set("XYZZY", for: dummy)
    #expect(cache.get(String.self, for: dummy) == "XYZZY")
    #expect(try store.get("path/to/dummy|||") != nil)
  }

  @Test func getCacheHitViewName() throws {
    let (cache, _) = makeCache()
    try cache.set("XYZZY", for: dummy)
    try cache.set("ABCDEF", for: dummy, view: "foo")
    #expect(cache.get(String.self, for: dummy, view: "foo") == "ABCDEF")
  }

  @Test func getCacheMissViewName() throws {
    let (cache, _) = makeCache()
    try cache.set("XYZZY", for: dummy)
    try cache.set("ABCDEF", for: dummy, view: "foo")
    #expect(cache.get(String.self, for: dummy, view: "bar") == nil)
  }

  @Test func getCacheHitRequestNames() throws {
    let (cache, store) = makeCache(requestNames: ["qux", "bar"])
    let request = ["bar": "baz", "bam": "bif"]
    try cache.set("XYZZY", for: dummy)
    try cache.set("ABCDEF", for: dummy, request: request)
    // The display key says `qux:` for the missing value; the stored key tells it from "".
    #expect(cache.key(for: dummy, request: request) == "path/to/dummy||bar:baz,qux:|")
    #expect(cache.storageKey(for: dummy, request: request) == "path/to/dummy||bar:baz,qux|")
    #expect(try store.get("path/to/dummy||bar:baz,qux|") != nil)
    #expect(cache.get(String.self, for: dummy, request: request) == "ABCDEF")
    #expect(cache.get(String.self, for: dummy, request: ["bar": "other"]) == nil)
  }

  @Test func invalidateRemovesEveryEntryOfTheObject() throws {
    let (cache, _) = makeCache(requestNames: ["lang"])
    let other = CacheablePath(["path", "to", "other"])
    try cache.set("XYZZY", for: dummy)
    try cache.set("ABCDEF", for: dummy, view: "foo")
    try cache.set("LMNOP", for: dummy, view: "bar")
    try cache.set("QRS", for: dummy, request: ["lang": "fr"], keywords: ["k": "v"])
    try cache.set("KEEP", for: other)

    try cache.invalidate(dummy)

    #expect(cache.get(String.self, for: dummy) == nil)
    #expect(cache.get(String.self, for: dummy, view: "foo") == nil)
    #expect(cache.get(String.self, for: dummy, view: "bar") == nil)
    #expect(
      cache.get(String.self, for: dummy, request: ["lang": "fr"], keywords: ["k": "v"]) == nil
    )
    #expect(cache.get(String.self, for: other) == "KEEP")
  }

  @Test func entriesWrittenAfterAnInvalidationAreHits() throws {
    let (cache, _) = makeCache()
    try cache.set("OLD", for: dummy)
    try cache.invalidate(dummy)
    try cache.set("NEW", for: dummy)
    #expect(cache.get(String.self, for: dummy) == "NEW")
  }

  @Test func setSimple() throws {
    let (cache, store) = makeCache()
    try cache.set("XYZZY", for: dummy)
    // The entry and the object's generation counter (the original: the entry and its index).
    #expect(store.count == 2)
    #expect(try store.get("path/to/dummy|||") != nil)
    #expect(cache.get(String.self, for: dummy) == "XYZZY")
  }

  @Test func setWithViewName() throws {
    let (cache, store) = makeCache()
    try cache.set("XYZZY", for: dummy, view: "v")
    #expect(store.count == 2)
    #expect(try store.get("path/to/dummy|v||") != nil)
    #expect(cache.get(String.self, for: dummy, view: "v") == "XYZZY")
  }

  @Test func setReplacing() throws {
    let (cache, store) = makeCache()
    try cache.set("GHIJKL", for: dummy)
    try cache.set("ABCDE", for: dummy, view: "v")
    try cache.set("XYZZY", for: dummy, view: "v")
    #expect(store.count == 3)
    #expect(cache.get(String.self, for: dummy) == "GHIJKL")
    #expect(cache.get(String.self, for: dummy, view: "v") == "XYZZY")
  }

  @Test func anyCodableValueRoundTrips() throws {
    struct Page: Codable, Equatable {
      var title: String
      var links: [String]
    }
    let (cache, _) = makeCache()
    let page = Page(title: "Home", links: ["/a", "/b"])
    try cache.set(page, for: dummy, keywords: ["format": "json"])
    #expect(cache.get(Page.self, for: dummy, keywords: ["format": "json"]) == page)
  }

  @Test func managerInit() {
    let manager = MemCacheZCacheManager(id: "zcache", title: "ZCache Manager")
    #expect(manager.id == "zcache")
    #expect(manager.title == "ZCache Manager")
    #expect(manager.store == nil)
    #expect(manager.requestNames == [])
  }

  @Test func managerGetCacheWithStoreSortsRequestNames() throws {
    let store = InProcessStore()
    var manager = MemCacheZCacheManager(id: "zcache", store: store)
    manager.requestNames = ["foo", "bar"]
    #expect(manager.requestNames == ["bar", "foo"])
    let cache = try manager.cache()
    #expect(cache.store as? InProcessStore === store)
    #expect(cache.requestNames == ["bar", "foo"])
  }

  @Test func managerWithoutStoreThrowsNoProxyDefined() {
    let manager = MemCacheZCacheManager(id: "zcache")
    #expect(memCacheError { _ = try manager.cache() }?.caseName == "noProxy")
    #expect(MemCacheError.noProxy.description == "No proxy defined")
  }

  @Test func cachesOfOneManagerShareStatistics() throws {
    let manager = MemCacheZCacheManager(store: InProcessStore())
    try manager.cache().set("X", for: dummy)
    _ = try manager.cache().get(String.self, for: dummy)
    #expect(manager.statistics.sets == 1)
    #expect(manager.statistics.hits == 1)
  }
}

@Suite("MemCacheZCacheManager over a proxy")
struct ZCacheManagerProxyTests {
  @Test func aManagerWithoutAProxySaysNoProxyDefined() {
    let manager = MemCacheZCacheManager(title: "Pages", proxy: nil)
    #expect(memCacheError { _ = try manager.cache() }?.caseName == "noProxy")
  }

  @Test func aManagerOverAProxyCachesInTheProxysStore() throws {
    let proxy = MemCacheProxy(store: InProcessStore())
    let manager = MemCacheZCacheManager(title: "Pages", proxy: proxy, requestNames: ["b", "a"])
    #expect(manager.requestNames == ["a", "b"])
    let cache = try manager.cache()
    let page = CacheablePath(["site", "page"])
    try cache.set("rendered", for: page)
    #expect(cache.get(String.self, for: page) == "rendered")
    #expect(manager.statistics.sets == 1)
  }
}
