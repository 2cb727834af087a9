import Foundation
import Memcached
import MemcachedTestSupport
import Synchronization
import Testing

@testable import MCDUtils

/// What the page cache guarantees beyond the original, against a real memcached.
@Suite("MemCacheZCache guarantees (memcached)")
struct MemCacheZCacheGuaranteeTests {
  private let page = CacheablePath(["", "site", "page"])

  /// Runs `body` with a pool on a fresh memcached server, with a key prefix of the test's own.
  private func withPool<R>(
    name: String = #function, _ body: (MemcachedPool) async throws -> R
  ) async throws -> R {
    try await withMemcached(count: 1) { processes in
      var configuration = MemcachedConfiguration(servers: [processes[0].server])
      configuration.keyPrefix = uniqueKeyPrefix(name)
      return try await body(try MemcachedPool(configuration: configuration))
    }
  }

  @Test func noGetReturnsAnEntryWrittenBeforeAnInvalidationUnderConcurrency() async throws {
    try await withPool { pool in
      let cache = MemCacheZCache(store: pool)
      let next = Locked(0)
      let completed = Locked(Set<Int>())
      let forbidden = Locked(Set<Int>())
      let violations = Locked([Int]())

      @Sendable func check(_ value: Int?, against snapshot: Set<Int>) {
        if let value, snapshot.contains(value) { violations.withLock { $0.append(value) } }
      }

      try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<3 {
          group.addTask {
            for _ in 0..<60 {
              let value = next.withLock {
                $0 += 1
                return $0
              }
              try await cache.set(value, for: page)
              completed.withLock { _ = $0.insert(value) }
            }
          }
        }
        for _ in 0..<2 {
          group.addTask {
            for _ in 0..<80 {
              let snapshot = forbidden.withLock { $0 }
              check(await cache.get(Int.self, for: page), against: snapshot)
            }
          }
        }
        group.addTask {
          for _ in 0..<30 {
            let before = completed.withLock { $0 }
            try await cache.invalidate(page)
            forbidden.withLock { $0.formUnion(before) }
            check(await cache.get(Int.self, for: page), against: before)
          }
        }
        try await group.waitForAll()
      }
      #expect(violations.withLock { $0 } == [])
      #expect(cache.statistics.invalidations == 30)
      #expect(cache.statistics.sets == 180)
    }
  }

  @Test func anInstanceWithAnOldGenerationCannotRevealAnInvalidatedEntry() async throws {
    try await withPool { pool in
      // `first` must still remember the generation when it writes; by default it does for a
      // second, which a loaded test run can outlast.
      var tuning = MemCacheZCache.Tuning()
      tuning.generationMemoLifetime = .seconds(60)
      let first = MemCacheZCache(store: pool, tuning: tuning)
      let second = MemCacheZCache(store: pool)
      try await first.set("v1", for: page)
      #expect(await first.get(String.self, for: page) == "v1")  // remembers generation G
      try await second.invalidate(page)  // G + 1, unknown to `first`
      try await first.set("v1-again", for: page)  // written under the remembered G
      #expect(await first.get(String.self, for: page) == nil)
      #expect(await second.get(String.self, for: page) == nil)
    }
  }

  @Test func getIsOneRoundTripAndSetAfterGetIsOne() async throws {
    do {
      let store = InProcessStore()
      // The generation a get saw is reused for a second by default; a loaded test run can take
      // longer than that between two lines.
      var tuning = MemCacheZCache.Tuning()
      tuning.generationMemoLifetime = .seconds(60)
      let cache = MemCacheZCache(store: store, tuning: tuning)
      try await cache.set("first", for: page)
      store.reset()

      #expect(await cache.get(String.self, for: page, view: "other") == nil)
      #expect(store.counts == ["getMulti": 1])
      store.reset()

      try await cache.set("rendered", for: page, view: "other")
      #expect(store.counts == ["set": 1])
      store.reset()

      #expect(await cache.get(String.self, for: page, view: "other") == "rendered")
      #expect(store.counts == ["getMulti": 1])
      store.reset()

      try await cache.invalidate(page)
      #expect(store.counts == ["increment": 1])
    }
  }

  @Test func blockingGetAndSetCostTheSameRoundTrips() throws {
    do {
      let store = InProcessStore()
      let cache = MemCacheZCache(store: store)
      try cache.set("first", for: page)
      store.reset()
      #expect(cache.get(String.self, for: page, view: "v") == nil)
      try cache.set("second", for: page, view: "v")
      #expect(store.counts == ["getMulti": 1, "set": 1])
    }
  }

  @Test func entriesOlderThanTheModificationTimeAreMisses() async throws {
    try await withPool { pool in
      let cache = MemCacheZCache(store: pool)
      let written = Date()
      try await cache.set("old rendering", for: CacheablePath(page.physicalPath))
      let unchanged = CacheablePath(
        page.physicalPath, modificationTime: written.addingTimeInterval(-60))
      let modified = CacheablePath(
        page.physicalPath, modificationTime: Date().addingTimeInterval(1))
      #expect(await cache.get(String.self, for: unchanged) == "old rendering")
      #expect(await cache.get(String.self, for: modified) == nil)
      try await cache.set("new rendering", for: CacheablePath(page.physicalPath))
      let justModified = CacheablePath(page.physicalPath, modificationTime: written)
      #expect(await cache.get(String.self, for: justModified) == "new rendering")
    }
  }

  @Test func entriesExpireAfterTheirMaximumAge() async throws {
    try await withPool { pool in
      // Generous: under a loaded parallel test run the first read may come seconds later, and
      // memcached counts whole seconds.
      let cache = MemCacheZCache(store: pool, defaultMaxAge: .seconds(8))
      try await cache.set("short-lived", for: page)
      try await cache.set("long-lived", for: page, view: "long", maxAge: .seconds(60))
      #expect(await cache.get(String.self, for: page) == "short-lived")
      try await Task.sleep(for: .milliseconds(9_100))
      #expect(await cache.get(String.self, for: page) == nil)
      #expect(await cache.get(String.self, for: page, view: "long") == "long-lived")
    }
  }

  @Test func fiftyConcurrentMissesComputeOnce() async throws {
    try await withPool { pool in
      let cache = MemCacheZCache(store: pool)
      let computations = Locked(0)
      let results = try await withThrowingTaskGroup(of: String.self) { group in
        for _ in 0..<50 {
          group.addTask {
            try await cache.getOrCompute(String.self, for: page) {
              computations.withLock { $0 += 1 }
              try await Task.sleep(for: .milliseconds(200))
              return "<html>expensive</html>"
            }
          }
        }
        return try await group.reduce(into: []) { $0.append($1) }
      }
      #expect(results.count == 50)
      #expect(results.allSatisfy { $0 == "<html>expensive</html>" })
      #expect(computations.withLock { $0 } == 1)
      let statistics = cache.statistics
      #expect(statistics.misses == 1)
      #expect(statistics.hits == 49)
      #expect(statistics.sets == 1)
    }
  }

  @Test func aFailingComputationReleasesTheLeaseAtOnce() async throws {
    struct RenderFailed: Error {}
    try await withPool { pool in
      var tuning = MemCacheZCache.Tuning()
      tuning.leaseDuration = .seconds(30)
      tuning.leaseWait = .seconds(30)
      let cache = MemCacheZCache(store: pool, tuning: tuning)
      let (started, startedContinuation) = AsyncStream.makeStream(of: Void.self)
      let failing = Task {
        try await cache.getOrCompute(String.self, for: page) {
          startedContinuation.yield()
          try await Task.sleep(for: .milliseconds(200))
          throw RenderFailed()
        }
      }
      for await _ in started { break }
      let clock = ContinuousClock()
      let start = clock.now
      let value = try await cache.getOrCompute(String.self, for: page) { "second try" }
      #expect(clock.now - start < .seconds(3))
      #expect(value == "second try")
      await #expect(throws: RenderFailed.self) { try await failing.value }
      #expect(await cache.get(String.self, for: page) == "second try")
    }
  }

  @Test func theNextCallerComputesAtOnceAfterAFailure() async throws {
    try await withPool { pool in
      var tuning = MemCacheZCache.Tuning()
      tuning.leaseDuration = .seconds(30)
      tuning.leaseWait = .seconds(30)
      let cache = MemCacheZCache(store: pool, tuning: tuning)
      let elapsed = try Self.failThenComputeBlocking(cache, page)
      #expect(elapsed < .seconds(1))
    }
  }

  /// Fails a blocking computation, then times the next blocking `getOrCompute`.
  private static func failThenComputeBlocking(
    _ cache: MemCacheZCache, _ page: CacheablePath
  ) throws -> Duration {
    struct RenderFailed: Error {}
    #expect(throws: RenderFailed.self) {
      try cache.getOrCompute(String.self, for: page) { () throws -> String in throw RenderFailed() }
    }
    let clock = ContinuousClock()
    let start = clock.now
    let value = try cache.getOrCompute(String.self, for: page) { () throws -> String in "rendered" }
    #expect(value == "rendered")
    return clock.now - start
  }

  @Test func theStaleCopyIsServedWhileAnotherCallerComputes() async throws {
    try await withPool { pool in
      let cache = MemCacheZCache(store: pool, defaultMaxAge: .seconds(1))
      try await cache.set("old page", for: page)
      try await Task.sleep(for: .milliseconds(4_100))
      #expect(await cache.get(String.self, for: page) == nil)

      let (started, startedContinuation) = AsyncStream.makeStream(of: Void.self)
      let (release, releaseContinuation) = AsyncStream.makeStream(of: Void.self)
      let recomputing = Task {
        try await cache.getOrCompute(String.self, for: page) {
          startedContinuation.yield()
          for await _ in release { break }
          return "new page"
        }
      }
      for await _ in started { break }
      let served = try await cache.getOrCompute(String.self, for: page) {
        Issue.record("a second computation ran")
        return "unexpected"
      }
      #expect(served == "old page")
      releaseContinuation.yield()
      #expect(try await recomputing.value == "new page")
      #expect(await cache.get(String.self, for: page) == "new page")
      #expect(cache.statistics.staleHits == 1)
    }
  }

  @Test func anUnreadableEntryIsAMiss() async throws {
    try await withPool { pool in
      let cache = MemCacheZCache(store: pool)
      try await cache.set("valid", for: page)
      let key = cache.storageKey(for: page)

      try await pool.set(key, value: Array("<html>not ours</html>".utf8), flags: 0)
      #expect(await cache.get(String.self, for: page) == nil)

      try await pool.set(key, value: [0xC1, 0x4D, 0x43, 0x09, 0xFF], flags: ValueFormat.plainFlags)
      #expect(await cache.get(String.self, for: page) == nil)

      try await cache.set(42, for: page)
      #expect(await cache.get([String].self, for: page) == nil)
      #expect(await cache.get(Int.self, for: page) == 42)
    }
  }

  @Test func aLargePageIsStoredCompressed() async throws {
    try await withPool { pool in
      let cache = MemCacheZCache(store: pool)
      let html = String(repeating: "<tr><td>row</td><td>value</td></tr>\n", count: 8000)
      try await cache.set(html, for: page)
      let item = try #require(try await pool.get(cache.storageKey(for: page)))
      #expect(item.flags & ValueFormat.compressedFlag != 0)
      #expect(item.value.count < html.utf8.count / 10)
      #expect(await cache.get(String.self, for: page) == html)
    }
  }

  @Test func longPathsUseTheShortKeyFormAndWork() async throws {
    try await withPool { pool in
      let cache = MemCacheZCache(store: pool)
      let deep = CacheablePath([""] + Array(repeating: "a-rather-long-folder-name", count: 15))
      let key = cache.storageKey(for: deep, view: "index_html")
      #expect(key.contains("#sha256:"))
      #expect(key.utf8.count + pool.configuration.keyPrefix.utf8.count <= 250)
      try await cache.set("deep page", for: deep, view: "index_html")
      #expect(await cache.get(String.self, for: deep, view: "index_html") == "deep page")
      try await cache.invalidate(deep)
      #expect(await cache.get(String.self, for: deep, view: "index_html") == nil)

      let odd = CacheablePath(["", "line\nbreak"])
      try await cache.set("odd page", for: odd)
      #expect(await cache.get(String.self, for: odd) == "odd page")
    }
  }

  @Test func statisticsAreExact() async throws {
    try await withPool { pool in
      let cache = MemCacheZCache(store: pool)
      #expect(await cache.get(String.self, for: page) == nil)
      try await cache.set("a", for: page)
      try await cache.set("b", for: page, view: "v")
      #expect(await cache.get(String.self, for: page) == "a")
      #expect(await cache.get(String.self, for: page, view: "v") == "b")
      try await cache.invalidate(page)
      #expect(await cache.get(String.self, for: page) == nil)
      #expect(try await cache.getOrCompute(String.self, for: page) { "c" } == "c")
      #expect(try await cache.getOrCompute(String.self, for: page) { "d" } == "c")

      var expected = MemCacheZCacheStatistics()
      expected.hits = 3
      expected.misses = 3
      expected.sets = 3
      expected.invalidations = 1
      #expect(cache.statistics == expected)
      cache.resetStatistics()
      #expect(cache.statistics == MemCacheZCacheStatistics())
    }
  }
}

/// A value behind a lock that tasks can share.
private final class Locked<Value: Sendable>: Sendable {
  private let mutex: Mutex<Value>

  init(_ value: Value) {
    mutex = Mutex(value)
  }

  func withLock<R: Sendable>(_ body: (inout sending Value) -> sending R) -> R {
    mutex.withLock(body)
  }
}
