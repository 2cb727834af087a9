import Foundation
import Memcached
import MemcachedTestSupport
import Testing

@testable import MCDUtils

/// ``MemCacheProxy/repairSessions(node:listingTimeout:progress:)``: the copies of idle sessions
/// put back after a node restarts empty, on three real memcached nodes with one replica.
@Suite struct IdleSessionRepairTests {
  /// A container with one replica over `processes`.
  private func makeContainer(_ processes: [MemcachedProcess], prefix: String) throws
    -> MemCacheSessionDataContainer
  {
    try MemCacheSessionDataContainer.replicated(processes.map(\.server), prefix: prefix).0
  }

  /// A proxy of its own, as the operator's `mcdutils repair` has one.
  private func makeRepairProxy(_ processes: [MemcachedProcess], prefix: String) throws
    -> MemCacheProxy
  {
    MemCacheProxy(store: try makePool(processes.map(\.server), prefix: prefix) { $0.replicas = 1 })
  }

  /// How many of `keys` node `process` holds, asked of it alone.
  private func held(_ keys: [String], on process: MemcachedProcess, prefix: String) throws -> Int {
    let pool = try makePool([process.server], prefix: prefix)
    return try pool.withConnection { connection in
      try keys.filter { try connection.get($0) != nil }.count
    }
  }

  @Test func aRollingRestartOfIdleSessionsLosesNoneWhenEachNodeIsRepairedBeforeTheNext()
    async throws
  {
    try await withMemcached(count: 3) { processes in
      let prefix = uniqueKeyPrefix()
      let container = try makeContainer(processes, prefix: prefix)
      let ids = (0..<200).map { "idle-\($0)" }
      for id in ids { try await container.writeValue(id, "value-\(id)") }

      for process in processes {
        let before = try held(ids, on: process, prefix: prefix)
        process.stop()  // kill -9
        try process.start()  // empty, on the same port
        #expect(try held(ids, on: process, prefix: prefix) == 0)
        let summary = try makeRepairProxy(processes, prefix: prefix).repairSessions(
          node: process.server)
        #expect(summary.errors == 0 && summary.copiesSkipped == 0, "\(summary)")
        #expect(summary.copiesWritten == before, "\(summary)")
        #expect(try held(ids, on: process, prefix: prefix) == before)
      }

      var lost: [String] = []
      for id in ids where try await container.get(id)?["value"]?.stringValue != "value-\(id)" {
        lost.append(id)
      }
      #expect(lost.isEmpty, "\(lost.count) of \(ids.count) sessions lost")
    }
  }

  @Test func aRepairRunTwiceWritesNothingTheSecondTime() async throws {
    try await withMemcached(count: 3) { processes in
      let prefix = uniqueKeyPrefix()
      let container = try makeContainer(processes, prefix: prefix)
      let ids = (0..<50).map { "twice-\($0)" }
      for id in ids { try await container.writeValue(id, "v") }
      processes[0].stop()
      try processes[0].start()
      let proxy = try makeRepairProxy(processes, prefix: prefix)
      let first = try proxy.repairSessions()
      #expect(first.copiesWritten > 0 && first.errors == 0, "\(first)")
      #expect(first.sessions == ids.count)
      let second = try proxy.repairSessions()
      #expect(second.copiesWritten == 0 && second.errors == 0, "\(second)")
      #expect(second.sessions == ids.count)
    }
  }

  @Test func itemsThatAreNotSessionsAreLeftAlone() async throws {
    try await withMemcached(count: 3) { processes in
      let prefix = uniqueKeyPrefix()
      let container = try makeContainer(processes, prefix: prefix)
      try await container.writeValue("a-session", "v")
      let raw = try makePool(processes.map(\.server), prefix: prefix)
      try await raw.withConnection { connection in
        try connection.set("not-ours", value: Array("plain bytes".utf8))
        try connection.set("counter", value: Array("12".utf8))
      }
      let other = try makePool(processes.map(\.server), prefix: "other-" + prefix)
      try await other.withConnection { try $0.set("elsewhere", value: [1, 2, 3]) }

      let summary = try makeRepairProxy(processes, prefix: prefix).repairSessions()
      #expect(summary.sessions == 1, "\(summary)")
      #expect(summary.errors == 0, "\(summary)")
      let values = try await raw.withConnection { connection in
        [try connection.get("not-ours")?.value, try connection.get("counter")?.value]
      }
      #expect(values == [Array("plain bytes".utf8), Array("12".utf8)])
    }
  }

  @Test func aNodeNotInTheStoreIsRefused() async throws {
    try await withMemcached(count: 2) { processes in
      let proxy = try makeRepairProxy([processes[0]], prefix: uniqueKeyPrefix())
      let error = memCacheError { _ = try proxy.repairSessions(node: processes[1].server) }
      #expect(error?.caseName == "storeFailed", "\(String(describing: error))")
    }
  }

  @Test func aNodeCountsItsLiveSessions() async throws {
    try await withMemcached(count: 3) { processes in
      let prefix = uniqueKeyPrefix()
      let container = try makeContainer(processes, prefix: prefix)
      let ids = (0..<30).map { "count-\($0)" }
      for id in ids { try await container.writeValue(id, "v") }
      let proxy = try makeRepairProxy(processes, prefix: prefix)
      var total = 0
      for process in processes {
        let count = try proxy.sessionCount(onNode: process.server)
        #expect(count.sessions == (try held(ids, on: process, prefix: prefix)))
        total += count.sessions
      }
      #expect(total == ids.count * 2)
    }
  }
}
