import Memcached
import MemcachedTestSupport
import Testing

@testable import MCDUtils

@Suite struct AsyncCommitExecutionTests {
  /// One async request: reads the session (creating it) and writes `visits`.
  private func writeCycle(_ container: MemCacheSessionDataContainer, _ visits: Int) async throws {
    try await withTransaction { _ in
      let session = try await container.newOrExisting("browser")
      session["visits"] = .int(Int64(visits))
    }
  }

  @Test func onAHealthyPoolTheReadAndTheCommitRunInline() async throws {
    try await withMemcached { processes in
      // A call counts as slow only after 10 s, so that a loaded machine keeps the pool healthy.
      let pool = try makePool([processes[0].server], prefix: uniqueKeyPrefix()) {
        $0.asyncExecution = .adaptive(slowCallThreshold: .seconds(10), backoff: .seconds(5))
      }
      let container = MemCacheSessionDataContainer(proxy: MemCacheProxy(store: pool))
      // A test running in parallel may hold the process's one inline slot for a moment.
      var bothInline = false
      for visits in 0..<100 where !bothInline {
        let before = pool.asyncStatistics
        try await writeCycle(container, visits)
        let after = pool.asyncStatistics
        #expect(after.inline + after.offloaded > before.inline + before.offloaded)
        bothInline = after.inline - before.inline == 2 && after.offloaded == before.offloaded
      }
      #expect(bothInline)
      let stored = try await container.get("browser")?["visits"]
      #expect(stored != nil)
    }
  }

  @Test func withOffloadTheReadAndTheCommitRunOnTheConnectionQueues() async throws {
    try await withMemcached { processes in
      let pool = try makePool([processes[0].server], prefix: uniqueKeyPrefix()) {
        $0.asyncExecution = .offload
      }
      let container = MemCacheSessionDataContainer(proxy: MemCacheProxy(store: pool))
      try await writeCycle(container, 1)
      try await writeCycle(container, 2)
      // Reads and commits alike went through the connection queues.
      #expect(pool.asyncStatistics == MemcachedAsyncStatistics(inline: 0, offloaded: 4))
      #expect(try await container.get("browser")?["visits"] == 2)
    }
  }

  @Test func anInProcessStoreRunsInlineBodiesAtOnce() async throws {
    let store = InProcessStore()
    let container = MemCacheSessionDataContainer(proxy: MemCacheProxy(store: store))
    try await writeCycle(container, 3)
    #expect(try await container.get("browser")?["visits"] == 3)
  }
}
