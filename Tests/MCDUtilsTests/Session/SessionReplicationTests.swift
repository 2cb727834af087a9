import Foundation
import Memcached
import MemcachedTestSupport
import Testing

@testable import MCDUtils

#if canImport(Glibc)
  import Glibc
#endif

/// Sessions on three real memcached nodes with one replica, while nodes die, freeze and come
/// back empty.
@Suite struct SessionReplicationTests {
  private static let sessionCount = 300

  /// A container with one replica over `processes`, and the configuration's default timeouts.
  private func makeContainer(_ processes: [MemcachedProcess], prefix: String) throws
    -> MemCacheSessionDataContainer
  {
    try MemCacheSessionDataContainer.replicated(processes.map(\.server), prefix: prefix).0
  }

  /// Writes `value` into session `id` in one transaction.
  private func write(_ container: MemCacheSessionDataContainer, _ id: String, _ value: String)
    async throws
  {
    try await container.writeValue(id, value)
  }

  /// The ids whose value is not `expected(id)`, and those that failed, over every session.
  private func check(
    _ container: MemCacheSessionDataContainer, _ ids: [String], _ expected: (String) -> String
  ) async -> (wrong: [String], failed: [String]) {
    var wrong: [String] = []
    var failed: [String] = []
    for id in ids {
      do {
        let value = try await container.get(id)?["value"]?.stringValue
        if value != expected(id) { wrong.append(id) }
      } catch {
        failed.append(id)
      }
    }
    return (wrong, failed)
  }

  private func waitUntilUp(_ pool: MemcachedPool, node: Int) async throws {
    let deadline = ContinuousClock.now + .seconds(15)
    while try await pool.withConnection({ $0.nodeStatus(node).isDown }),
      ContinuousClock.now < deadline
    {
      try await Task.sleep(for: .milliseconds(50))
    }
  }

  @Test func everySessionIsWrittenToTwoNodes() async throws {
    try await withMemcached(count: 3) { processes in
      let prefix = uniqueKeyPrefix()
      let container = try makeContainer(processes, prefix: prefix)
      let ids = (0..<60).map { "copies-\($0)" }
      for id in ids { try await write(container, id, "v-\(id)") }
      for id in ids {
        let holders = try processes.filter { process in
          try makePool([process.server], prefix: prefix).withConnection { try $0.get(id) != nil }
        }
        #expect(holders.count == 2, "\(id) on \(holders.count) nodes")
      }
    }
  }

  @Test func killingANodeLosesNoSessionAndNoRequest() async throws {
    try await withMemcached(count: 3) { processes in
      let prefix = uniqueKeyPrefix()
      let container = try makeContainer(processes, prefix: prefix)
      let pool = try #require(container.proxy?.store as? MemcachedPool)
      let ids = (0..<Self.sessionCount).map { "kill-\($0)" }
      for id in ids { try await write(container, id, "first-\(id)") }
      for id in ids { try await write(container, id, "latest-\(id)") }

      processes[1].stop()  // kill -9
      let afterKill = await check(container, ids) { "latest-\($0)" }
      #expect(afterKill.wrong.isEmpty, "\(afterKill.wrong.count) sessions read wrong")
      #expect(afterKill.failed.isEmpty, "\(afterKill.failed.count) reads failed")

      let fresh = (0..<50).map { "kill-new-\($0)" }
      var failedWrites = 0
      for id in fresh {
        do { try await write(container, id, "new-\(id)") } catch { failedWrites += 1 }
      }
      #expect(failedWrites == 0)
      #expect(await check(container, fresh) { "new-\($0)" } == ([], []))

      // The node comes back empty: no read may return what it no longer has, nor anything old.
      try processes[1].start()
      try await waitUntilUp(pool, node: 1)
      let afterRestart = await check(container, ids) { "latest-\($0)" }
      #expect(afterRestart.wrong.isEmpty && afterRestart.failed.isEmpty)
      // The next write puts every copy back, the restarted node's included.
      for id in ids { try await write(container, id, "again-\(id)") }
      #expect(await check(container, ids) { "again-\($0)" } == ([], []))
    }
  }

  @Test func aFrozenNodeCostsOneTimeoutAndItsStaleCopiesNeverWinAfterItResumes() async throws {
    try await withMemcached(count: 3) { processes in
      let prefix = uniqueKeyPrefix()
      let container = try makeContainer(processes, prefix: prefix)
      let pool = try #require(container.proxy?.store as? MemcachedPool)
      let ids = (0..<Self.sessionCount).map { "stop-\($0)" }
      for id in ids { try await write(container, id, "before-\(id)") }

      let frozen = processes[2]
      await frozen.freeze()
      let start = ContinuousClock.now
      let whileFrozen = await check(container, ids) { "before-\($0)" }
      #expect(whileFrozen.wrong.isEmpty && whileFrozen.failed.isEmpty)
      // One read waited for the poll timeout (500 ms); the others skipped the node. A loaded
      // machine adds its own delays, so the bound is wide.
      #expect(ContinuousClock.now - start < .seconds(5))
      var failedWrites = 0
      for id in ids {
        do { try await write(container, id, "during-\(id)") } catch { failedWrites += 1 }
      }
      #expect(failedWrites == 0)

      // Resumed, the node still holds the copies from before: they must never win.
      frozen.thaw()
      try await waitUntilUp(pool, node: 2)
      let afterResume = await check(container, ids) { "during-\($0)" }
      #expect(afterResume.wrong.isEmpty, "\(afterResume.wrong.count) stale reads")
      #expect(afterResume.failed.isEmpty)
    }
  }

  @Test func withEveryCopyUnreachableALookupIsUnavailableNotALogout() async throws {
    try await withMemcached(count: 2) { processes in
      let container = try makeContainer(processes, prefix: uniqueKeyPrefix())
      try await write(container, "gone", "value")
      for process in processes { process.stop() }
      let error = await asyncMemCacheError { _ = try await container.get("gone") }
      #expect(error?.isUnavailable == true, "\(String(describing: error))")
    }
  }

  @Test func withoutReplicasAnUnreachableSessionIsUnavailableNotALogout() async throws {
    try await withMemcached(count: 1) { processes in
      let pool = try makePool(processes.map(\.server), prefix: uniqueKeyPrefix())
      let container = MemCacheSessionDataContainer(proxy: MemCacheProxy(store: pool))
      try await write(container, "s", "value")
      await processes[0].freeze()
      defer { processes[0].thaw() }
      let error = await asyncMemCacheError { _ = try await container.get("s") }
      #expect(error?.isUnavailable == true, "\(String(describing: error))")
    }
  }
}
