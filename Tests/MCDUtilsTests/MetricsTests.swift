import Foundation
import Memcached
import MemcachedTestSupport
import Metrics
import MetricsTestKit
import Testing

@testable import MCDUtils

/// The metrics the README lists, recorded by a test backend. The backend is bootstrapped once
/// for the whole test process, so other tests running meanwhile may add to the same counters:
/// each check is on a dimension of this test's own (a server, a cache name) or on an increase.
@Suite("Metrics", .serialized)
struct MetricsTests {
  static let backend: TestMetrics = {
    let backend = TestMetrics()
    MetricsSystem.bootstrap(backend)
    return backend
  }()

  /// The total of every counter with `label` and `dimensions`, 0 when there is none yet.
  private func total(_ label: String, _ dimensions: [(String, String)]) -> Int64 {
    Self.backend.counters(label: label, dimensions: dimensions).reduce(0) { $0 + $1.totalValue }
  }

  @Test func operationsAreTimedAndHitsMissesAndErrorsCounted() async throws {
    let backend = Self.backend
    let hitsBefore = total("mcdutils_memcached_hits", [])
    let missesBefore = total("mcdutils_memcached_misses", [])
    try await withMemcached(count: 2) { processes in
      let pool = try makePool(processes.map(\.server), prefix: uniqueKeyPrefix()) {
        $0.retryTimeout = .seconds(30)
        $0.failover = false  // so that the call on the dead node fails, and is counted
      }
      try await pool.set("k", value: [1])
      #expect(try await pool.get("k") != nil)
      #expect(try await pool.get("absent") == nil)
      let timer = try backend.expectTimer("mcdutils_memcached_duration", [("operation", "set")])
      #expect(!timer.values.isEmpty)
      #expect(total("mcdutils_memcached_hits", []) > hitsBefore)
      #expect(total("mcdutils_memcached_misses", []) > missesBefore)

      // A node that dies: its calls fail as unavailable, and it is marked down once.
      let dead = processes[1]
      let key = try (0..<200).map { "key-\($0)" }.first { key in
        try pool.withConnection { try $0.server(forKey: key) } == dead.server
      }
      dead.stop()
      let unavailableBefore = total(
        "mcdutils_memcached_errors", [("operation", "set"), ("kind", "unavailable")])
      let error = await #expect(throws: MemcachedError.self) {
        try await pool.set(try #require(key), value: [2])
      }
      #expect(error?.isUnavailable == true, "\(String(describing: error))")
      #expect(
        total("mcdutils_memcached_errors", [("operation", "set"), ("kind", "unavailable")])
          > unavailableBefore)
      #expect(total("mcdutils_memcached_node_down", [("server", "\(dead.server)")]) == 1)
      await pool.shutdown()
    }
  }

  @Test func sessionRetriesConflictsAndEndedWritesAreCounted() throws {
    _ = Self.backend
    let dimensions = [("store", "container")]
    let (retriesBefore, conflictsBefore, endedBefore) = (
      total("mcdutils_session_retries", dimensions),
      total("mcdutils_session_conflicts", dimensions),
      total("mcdutils_session_ended_writes", dimensions)
    )
    let store = InProcessStore()
    /// Two requests load one session; another proxy (another process) writes it in between,
    /// so the first request's CAS fails.
    func conflict(_ policy: MemCacheSessionDataContainer.ConflictPolicy) throws {
      let container = MemCacheSessionDataContainer(
        proxy: MemCacheProxy(store: store), conflictPolicy: policy)
      let elsewhere = MemCacheSessionDataContainer(proxy: MemCacheProxy(store: store))
      let id = "s-\(UUID().uuidString)"
      try withTransaction { _ in try container.newOrExisting(id)["a"] = 1 }
      let request = Transaction()
      try Transaction.$current.withValue(request) {
        try #require(try container.get(id))["b"] = 2
      }
      try withTransaction { _ in try #require(try elsewhere.get(id))["c"] = 3 }
      try request.commit()
    }
    try conflict(.merge)
    #expect(total("mcdutils_session_retries", dimensions) > retriesBefore)
    #expect(throws: MemCacheError.self) { try conflict(.fail) }
    #expect(total("mcdutils_session_conflicts", dimensions) > conflictsBefore)

    // A request that loaded a session another request then invalidated.
    let container = MemCacheSessionDataContainer(proxy: MemCacheProxy(store: store))
    try withTransaction { _ in try container.newOrExisting("ended")["a"] = 1 }
    let late = Transaction()
    try Transaction.$current.withValue(late) { try #require(try container.get("ended"))["b"] = 2 }
    try withTransaction { _ in try #require(try container.get("ended")).invalidate() }
    #expect(throws: MemCacheError.self) { try late.commit() }
    #expect(total("mcdutils_session_ended_writes", dimensions) > endedBefore)
  }

  @Test func pageCacheEventsAreCountedUnderTheCacheName() async throws {
    _ = Self.backend
    let name = "metrics-\(UUID().uuidString)"
    func count(_ label: String) -> Int64 { total(label, [("cache", name)]) }
    try await withMemcached { processes in
      let pool = try makePool(processes.map(\.server), prefix: uniqueKeyPrefix())
      let manager = MemCacheZCacheManager(id: name, store: pool)
      let cache = try manager.cache()
      let page = CacheablePath(["metrics", "page"])
      #expect(await cache.get(String.self, for: page) == nil)
      try await cache.set("v", for: page)
      #expect(await cache.get(String.self, for: page) == "v")
      try await cache.invalidate(page)
      #expect(count("mcdutils_cache_misses") == 1)
      #expect(count("mcdutils_cache_hits") == 1)
      #expect(count("mcdutils_cache_sets") == 1)
      #expect(count("mcdutils_cache_invalidations") == 1)

      // A second caller waits for the first one's computation instead of computing too.
      let other = CacheablePath(["metrics", "other"])
      let (started, startedContinuation) = AsyncStream.makeStream(of: Void.self)
      let (release, releaseContinuation) = AsyncStream.makeStream(of: Void.self)
      let computing = Task {
        try await cache.getOrCompute(String.self, for: other) {
          startedContinuation.yield()
          for await _ in release { break }
          return "computed"
        }
      }
      for await _ in started { break }
      let waiting = Task {
        try await cache.getOrCompute(String.self, for: other) {
          Issue.record("a second computation ran")
          return "again"
        }
      }
      while count("mcdutils_cache_waits") == 0 { try await Task.sleep(for: .milliseconds(5)) }
      releaseContinuation.yield()
      #expect(try await computing.value == "computed")
      #expect(try await waiting.value == "computed")

      // The store goes away: a lookup fails open and counts the failure.
      processes[0].stop()
      #expect(await cache.get(String.self, for: page) == nil)
      #expect(count("mcdutils_cache_store_errors") >= 1)
    }
  }

  @Test func sessionCopiesAWriteSkippedAreCountedAndRepairedWhenTheirNodeAnswers() async throws {
    _ = Self.backend
    let skippedBefore = total("mcdutils_session_copies_skipped", [])
    let repairedBefore = total("mcdutils_session_copies_repaired", [("trigger", "write")])
    try await withMemcached(count: 2) { processes in
      let pool = try makePool(processes.map(\.server), prefix: uniqueKeyPrefix()) {
        $0.replicas = 1
        $0.retryTimeout = .milliseconds(200)
      }
      let container = MemCacheSessionDataContainer(proxy: MemCacheProxy(store: pool))
      processes[1].stop()
      // Two nodes, one replica: the session has a copy on the stopped node, which is skipped.
      try await withTransaction { _ in try await container.newOrExisting("skipped")["a"] = 1 }
      #expect(total("mcdutils_session_copies_skipped", []) > skippedBefore)

      try await onOwnThread { try processes[1].start() }
      _ = try await eventually { try await pool.withConnection { !$0.nodeStatus(1).isDown } }
      // The proxy's next session operation puts the skipped copy back, in the background.
      _ = try await container.get("another")
      _ = await eventually {
        total("mcdutils_session_copies_repaired", [("trigger", "write")]) > repairedBefore
      }
      #expect(total("mcdutils_session_copies_repaired", [("trigger", "write")]) > repairedBefore)
    }
  }
}
