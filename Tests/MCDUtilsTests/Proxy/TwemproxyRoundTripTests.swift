import Foundation
import Memcached
import MemcachedTestSupport
import Testing

@testable import MCDUtils

/// The page cache, sessions and the typed store through a real twemproxy (`nutcracker`) in
/// front of two memcached nodes, over the text protocol, the only one twemproxy speaks.
@Suite struct TwemproxyRoundTripTests {
  private func proxyPool(_ proxy: Twemproxy) throws -> MemcachedPool {
    var configuration = proxy.configuration
    configuration.keyPrefix = uniqueKeyPrefix()
    return try MemcachedPool(configuration: configuration)
  }

  @Test func thePageCacheStoresReadsAndInvalidatesThroughTwemproxy() async throws {
    try await withTwemproxy { proxy, _ in
      let cache = MemCacheZCache(store: try proxyPool(proxy))
      let page = CacheablePath(["site", "page"])
      let other = CacheablePath(["site", "other"])
      try await cache.set("rendered", for: page)
      try await cache.set("rendered", for: page, view: "print")
      try await cache.set("other page", for: other)
      #expect(await cache.get(String.self, for: page) == "rendered")
      #expect(await cache.get(String.self, for: page, view: "print") == "rendered")
      #expect(try await cache.getOrCompute(String.self, for: other) { "computed" } == "other page")

      try await cache.invalidate(page)
      #expect(await cache.get(String.self, for: page) == nil)
      #expect(await cache.get(String.self, for: page, view: "print") == nil)
      #expect(await cache.get(String.self, for: other) == "other page")
      #expect(try await cache.getOrCompute(String.self, for: page) { "recomputed" } == "recomputed")
      #expect(await cache.get(String.self, for: page) == "recomputed")
      #expect(cache.statistics.storeErrors == 0)
      #expect(cache.lastStoreError == nil)
    }
  }

  @Test func aGenerationCounterThatIsNotANumberIsReplacedThroughTwemproxy() async throws {
    try await withTwemproxy { proxy, _ in
      let pool = try proxyPool(proxy)
      let cache = MemCacheZCache(store: pool)
      let page = CacheablePath(["site", "planted"])
      // Another program's item under the object's counter key: memcached refuses to count it.
      try await pool.set(cache.generationKey(for: page), value: Array("not a number".utf8))
      try await cache.set("rendered", for: page)
      #expect(await cache.get(String.self, for: page) == "rendered")
      try await cache.invalidate(page)
      #expect(await cache.get(String.self, for: page) == nil)
      #expect(cache.statistics.storeErrors == 0)
    }
  }

  @Test func sessionsAreCreatedChangedAndReadThroughTwemproxy() async throws {
    try await withTwemproxy { proxy, _ in
      let container = MemCacheSessionDataContainer(
        proxy: MemCacheProxy(store: try proxyPool(proxy)))
      try await withTransaction { _ in try await container.newOrExisting("s")["a"] = 1 }
      #expect(try await container.hasKey("s"))
      #expect(try await container.get("s")?["a"] == 1)
      try await withTransaction { _ in
        let session = try #require(try await container.get("s"))
        session["a"] = 2
        session["b"] = "two"
      }
      let session = try #require(try await container.get("s"))
      #expect(session["a"] == 2)
      #expect(session["b"] == "two")

      // Concurrent commits on one session: their CAS writes conflict through the proxy, and the
      // merge keeps every one.
      try await withThrowingTaskGroup(of: Void.self) { group in
        for task in 0..<4 {
          group.addTask {
            for _ in 0..<10 {
              try await withTransaction { _ in
                let session = try await container.newOrExisting("s")
                let key = "task\(task)"
                session[key] = .int((session[key]?.intValue ?? 0) + 1)
              }
            }
          }
        }
        try await group.waitForAll()
      }
      let merged = try #require(try await container.get("s"))
      #expect((0..<4).map { merged["task\($0)"]?.intValue } == Array(repeating: 10, count: 4))
    }
  }

  @Test func theTypedStoreCreatesUpdatesReadsAndDeletesThroughTwemproxy() async throws {
    try await withTwemproxy { proxy, _ in
      let sessions = SessionStore(proxy: MemCacheProxy(store: try proxyPool(proxy)))
      #expect(try await sessions.create("s", ["a"]))
      #expect(try await sessions.create("s", ["b"]) == false)
      #expect(try await sessions.get("s", as: [String].self) == ["a"])
      try await sessions.set("s", ["a", "b"])
      #expect(try await sessions.get("s", as: [String].self) == ["a", "b"])

      // Concurrent updates: CAS conflicts through the proxy, each update run again until it wins.
      #expect(try await sessions.create("n", 0))
      try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<4 {
          group.addTask {
            for _ in 0..<10 { try await sessions.update("n", as: Int.self) { $0 += 1 } }
          }
        }
        try await group.waitForAll()
      }
      #expect(try await sessions.get("n", as: Int.self) == 40)

      try await sessions.delete("s")
      #expect(try await sessions.get("s", as: [String].self) == nil)
    }
  }
}
