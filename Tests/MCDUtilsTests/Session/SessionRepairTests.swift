import Foundation
import Memcached
import MemcachedTestSupport
import Testing

@testable import MCDUtils

/// Copies put back after nodes restart empty or freeze, on three real memcached nodes with one
/// replica: by writes, by reads, and never over a newer copy.
@Suite struct SessionRepairTests {
  /// A container with one replica over `processes`.
  private func makeContainer(
    _ processes: [MemcachedProcess], prefix: String, retryTimeout: Duration = .seconds(1)
  ) throws -> (MemCacheSessionDataContainer, MemcachedPool) {
    try MemCacheSessionDataContainer.replicated(
      processes.map(\.server), prefix: prefix, retryTimeout: retryTimeout)
  }

  /// Writes `value` into session `id` in one transaction.
  private func write(_ container: MemCacheSessionDataContainer, _ id: String, _ value: String)
    async throws
  {
    try await container.writeValue(id, value)
  }

  /// The ids whose session does not read back as `expected(id)` (failed reads included).
  private func wrong(
    _ container: MemCacheSessionDataContainer, _ ids: [String], _ expected: (String) -> String
  ) async -> [String] {
    var wrong: [String] = []
    for id in ids {
      let value = try? await container.get(id)?["value"]?.stringValue
      if value != expected(id) { wrong.append(id) }
    }
    return wrong
  }

  /// `count` session ids with a copy on node `node`, or with their primary copy there.
  private func ids(
    _ count: Int, on node: Int, primary: Bool = false, of pool: MemcachedPool, _ name: String
  ) throws -> [String] {
    try pool.withConnection { connection in
      try (0..<(count * 20)).map { "\(name)-\($0)" }.filter { id in
        let nodes = try connection.nodes(forKey: id, replicas: 1)
        return primary ? nodes.first == node : nodes.contains(node)
      }.prefix(count).map { $0 }
    }
  }

  /// What a raw client on `process` alone holds as session `id`'s value; `nil` for no copy.
  private func copyValue(
    _ id: String, on process: MemcachedProcess, prefix: String, proxy: MemCacheProxy
  ) throws -> String? {
    var configuration = MemcachedConfiguration(servers: [process.server])
    configuration.keyPrefix = prefix
    let client = try MemcachedClient(configuration: configuration)
    guard let item = try client.get(id) else { return nil }
    return try SessionRecord(item: item, key: id, proxy: proxy).data.mapValue?["value"]?
      .stringValue
  }

  /// The ids whose copy on `process` is not `expected(id)`, once background repairs had up to
  /// 20 s to make it so.
  private func copiesNotBack(
    _ ids: [String], on process: MemcachedProcess, prefix: String, proxy: MemCacheProxy,
    _ expected: (String) -> String
  ) async throws -> [String] {
    func notBack() throws -> [String] {
      try ids.filter {
        try copyValue($0, on: process, prefix: prefix, proxy: proxy) != expected($0)
      }
    }
    _ = try await eventually { try notBack().isEmpty }
    return try notBack()
  }

  @Test func aRollingRestartLosesNoSessionWrittenAfterEachRestart() async throws {
    try await withMemcached(count: 3) { processes in
      let (container, _) = try makeContainer(processes, prefix: uniqueKeyPrefix())
      let ids = (0..<200).map { "roll-\($0)" }
      for id in ids { try await write(container, id, "v0-\(id)") }
      for (round, process) in processes.enumerated() {
        try await onOwnThread { try process.restart() }
        for id in ids { try await write(container, id, "v\(round + 1)-\(id)") }
      }
      let lost = await wrong(container, ids) { "v3-\($0)" }
      #expect(lost.isEmpty, "\(lost.count) of \(ids.count) sessions lost or stale")
    }
  }

  @Test func readingASessionPutsItsCopyBackOnANodeThatRestartedEmpty() async throws {
    try await withMemcached(count: 3) { processes in
      let prefix = uniqueKeyPrefix()
      let (container, pool) = try makeContainer(
        processes, prefix: prefix, retryTimeout: .milliseconds(200))
      let proxy = try #require(container.proxy)
      let ids = (0..<200).map { "read-\($0)" }
      for id in ids { try await write(container, id, "v-\(id)") }
      let restarted = processes[1]
      let held = try self.ids(200, on: 1, of: pool, "read").filter { ids.contains($0) }
      #expect(!held.isEmpty)

      try await onOwnThread { try restarted.restart() }
      // The pool notices the restart on its own (its connection to the node broke).
      let noticed = try await eventually {
        try await pool.withConnection { $0.nodeStatus(1).lastRecovery != nil }
      }
      #expect(noticed, "the pool never noticed that the node restarted")
      #expect(await wrong(container, ids) { "v-\($0)" }.isEmpty)

      let missing = try await copiesNotBack(held, on: restarted, prefix: prefix, proxy: proxy) {
        "v-\($0)"
      }
      #expect(missing.isEmpty, "\(missing.count) of \(held.count) copies not back")
    }
  }

  @Test func aRepairNeverWritesAnOlderCopyOverANewerOne() async throws {
    try await withMemcached(count: 3) { processes in
      let prefix = uniqueKeyPrefix()
      let (container, pool) = try makeContainer(
        processes, prefix: prefix, retryTimeout: .milliseconds(200))
      let proxy = try #require(container.proxy)
      // Sessions whose primary copy is on the node that restarts: every read of them finds
      // that copy missing, and repairs it.
      let ids = try self.ids(20, on: 1, primary: true, of: pool, "race")
      for id in ids { try await write(container, id, "old-\(id)") }
      let restarted = processes[1]
      try await onOwnThread { try restarted.restart() }
      // Each trial: a read that finds the old copy missing on the restarted node (and repairs
      // it in the background) races a write of a newer value.
      for id in ids {
        async let read = container.get(id)
        async let written: Void = write(container, id, "new-\(id)")
        _ = try await (read, written)
      }
      let late = try await copiesNotBack(ids, on: restarted, prefix: prefix, proxy: proxy) {
        "new-\($0)"
      }
      #expect(late.isEmpty, "\(late.count) of \(ids.count) copies never the newest")
      // Reading every session again gives a late repair the time to land; then nothing older
      // may have come back.
      #expect(await wrong(container, ids) { "new-\($0)" }.isEmpty)
      let older = try await copiesNotBack(ids, on: restarted, prefix: prefix, proxy: proxy) {
        "new-\($0)"
      }
      #expect(older.isEmpty, "\(older.count) of \(ids.count) copies not the newest")
    }
  }

  @Test func aFrozenNodeCostsOneTimeoutPerRetryIntervalAndGetsItsSkippedCopiesBack()
    async throws
  {
    try await withMemcached(count: 3) { processes in
      let prefix = uniqueKeyPrefix()
      let retryTimeout = Duration.seconds(1)
      let (container, pool) = try makeContainer(
        processes, prefix: prefix, retryTimeout: retryTimeout)
      let proxy = try #require(container.proxy)
      let ids = try self.ids(20, on: 2, of: pool, "frozen")
      for id in ids { try await write(container, id, "before-\(id)") }

      let frozen = processes[2]
      await frozen.freeze()
      var slow = 0
      var failed = 0
      let start = ContinuousClock.now
      for id in ids {
        let begun = ContinuousClock.now
        do { try await write(container, id, "during-\(id)") } catch { failed += 1 }
        if ContinuousClock.now - begun >= pool.configuration.pollTimeout { slow += 1 }
        try await Task.sleep(for: .milliseconds(150))
      }
      let elapsed = ContinuousClock.now - start
      frozen.thaw()
      #expect(failed == 0)
      // The call that found the node frozen, then at most one trial per interval (and one
      // more for where the intervals fall); without trials a frozen node would cost one
      // timeout per write, 20.
      let intervals = Int((elapsed / retryTimeout).rounded(.up))
      #expect(slow <= intervals + 2, "\(slow) slow writes in \(elapsed)")

      // Once the node answers, the copies the writes skipped are put back (by the proxy's next
      // session operation; this one reads another session).
      let up = try await eventually {
        try await pool.withConnection { !$0.nodeStatus(2).isDown }
      }
      #expect(up)
      _ = try await container.get("frozen-unrelated")
      let stale = try await copiesNotBack(ids, on: frozen, prefix: prefix, proxy: proxy) {
        "during-\($0)"
      }
      #expect(stale.isEmpty, "\(stale.count) of \(ids.count) copies stale")
    }
  }

  @Test func aRepairPutsBackAMissingAndAnOlderCopyAndRunningItTwiceWritesNothing() async throws {
    try await withMemcached(count: 2) { processes in
      let prefix = uniqueKeyPrefix()
      let (container, _) = try makeContainer(processes, prefix: prefix)
      let proxy = try #require(container.proxy)
      let lifetime = container.timeout
      var configuration = MemcachedConfiguration(servers: [processes[1].server])
      configuration.keyPrefix = prefix
      let raw = try MemcachedClient(configuration: configuration)

      try await write(container, "missing", "v")
      #expect(try raw.delete("missing"))
      #expect(try proxy.repairSession(storedAt: "missing", lifetime: lifetime).written == 1)
      #expect(try copyValue("missing", on: processes[1], prefix: prefix, proxy: proxy) == "v")

      try await write(container, "older", "v1")
      let old = try #require(try raw.get("older"))
      try await write(container, "older", "v2")
      try raw.set("older", value: old.value, flags: old.flags)
      #expect(try proxy.repairSession(storedAt: "older", lifetime: lifetime).written == 1)
      #expect(try copyValue("older", on: processes[1], prefix: prefix, proxy: proxy) == "v2")

      for id in ["missing", "older"] {
        #expect(try proxy.repairSession(storedAt: id, lifetime: lifetime) == SessionRepairCounts())
      }
    }
  }
}
