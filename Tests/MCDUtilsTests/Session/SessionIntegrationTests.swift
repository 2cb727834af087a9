import Foundation
import Memcached
import MemcachedTestSupport
import Testing

@testable import MCDUtils

/// Sessions on real memcached servers started by the test.
@Suite struct SessionIntegrationTests {
  /// 8 tasks × 200 transactions on one shared session, each task counting its transactions in
  /// a key of its own; returns the eight counters at the end (200 each when no write was lost).
  private func concurrentWriters(policy: MemCacheSessionDataContainer.ConflictPolicy)
    async throws -> [Int64]
  {
    try await withMemcached { processes in
      let pool = try makePool([processes[0].server], prefix: uniqueKeyPrefix())
      let container = MemCacheSessionDataContainer(
        proxy: MemCacheProxy(store: pool), conflictPolicy: policy)
      try await withTransaction { _ in _ = try await container.newOrExisting("shared") }
      try await withThrowingTaskGroup(of: Void.self) { group in
        for task in 0..<8 {
          group.addTask {
            for _ in 0..<200 {
              try await withTransaction { _ in
                let session = try await container.newOrExisting("shared")
                let key = "task\(task)"
                session[key] = .int((session[key]?.intValue ?? 0) + 1)
              }
            }
          }
        }
        try await group.waitForAll()
      }
      let session = try #require(try await container.get("shared"))
      return (0..<8).map { session["task\($0)"]?.intValue ?? 0 }
    }
  }

  @Test func mergeKeepsEveryConcurrentWrite() async throws {
    let counters = try await concurrentWriters(policy: .merge)
    #expect(counters == Array(repeating: 200, count: 8))
  }

  /// Two requests on one session, interleaved by hand (whether tasks racing at random collide
  /// at all depends on the machine): the session holds a = 0, then the first request reads it
  /// and sets a = 1 and the second reads it and sets b = 2. Neither has committed yet.
  private func twoOpenRequests(
    _ processes: [MemcachedProcess], policy: MemCacheSessionDataContainer.ConflictPolicy
  ) async throws -> (MemCacheSessionDataContainer, first: Transaction, second: Transaction) {
    let pool = try makePool([processes[0].server], prefix: uniqueKeyPrefix())
    let container = MemCacheSessionDataContainer(
      proxy: MemCacheProxy(store: pool), conflictPolicy: policy)
    try await withTransaction { _ in try await container.newOrExisting("s")["a"] = 0 }
    let first = Transaction()
    let second = Transaction()
    try await Transaction.$current.withValue(first) {
      try await container.get("s")?["a"] = 1
    }
    try await Transaction.$current.withValue(second) {
      try await container.get("s")?["b"] = 2
    }
    return (container, first, second)
  }

  @Test func overwriteLosesAConcurrentWrite() async throws {
    try await withMemcached { processes in
      let (container, first, second) = try await twoOpenRequests(processes, policy: .overwrite)
      // The second commits first; the first then writes its whole session over it.
      try await second.commit()
      try await first.commit()
      #expect(try await container.get("s")?.contents == ["a": 1])
    }
  }

  @Test func failThrowsAConflictForAConcurrentWrite() async throws {
    try await withMemcached { processes in
      let (container, first, second) = try await twoOpenRequests(processes, policy: .fail)
      try await first.commit()
      #expect(
        await asyncMemCacheError {
          try await second.commit()
        }?.caseName == "conflict")
      #expect(try await container.get("s")?.contents == ["a": 1])
    }
  }

  @Test func twoConcurrentCreatorsEndUpWithOneSession() async throws {
    try await withMemcached { processes in
      let pool = try makePool([processes[0].server], prefix: uniqueKeyPrefix())
      let container = MemCacheSessionDataContainer(proxy: MemCacheProxy(store: pool))
      try await withThrowingTaskGroup(of: Void.self) { group in
        for creator in 0..<2 {
          group.addTask {
            try await withTransaction { _ in
              try await container.newOrExisting("new")["creator\(creator)"] = .int(Int64(creator))
            }
          }
        }
        try await group.waitForAll()
      }
      #expect(try await container.get("new")?.contents == ["creator0": 0, "creator1": 1])
    }
  }

  @Test func theVoteFailsAndNothingIsWrittenWhenTheServerIsUnreachable() async throws {
    try await withMemcached { processes in
      let prefix = uniqueKeyPrefix()
      let pool = try makePool([processes[0].server], prefix: prefix)
      let container = MemCacheSessionDataContainer(proxy: MemCacheProxy(store: pool))
      try await withTransaction { _ in try await container.newOrExisting("s")["a"] = 1 }

      let transaction = Transaction()
      let session = try await Transaction.$current.withValue(transaction) {
        let session = try #require(try await container.get("s"))
        session["a"] = 2
        return session
      }
      processes[0].stop()
      #expect(
        await asyncMemCacheError {
          try await transaction.commit()
        }?.caseName == "unavailable")
      #expect(transaction.status == .aborted)
      #expect(session["a"] == 1)  // the abort dropped the change

      try processes[0].start()  // an empty memcached on the same port: nothing was written
      let fresh = MemCacheSessionDataContainer(
        proxy: MemCacheProxy(store: try makePool([processes[0].server], prefix: prefix)))
      #expect(try await fresh.hasKey("s") == false)
    }
  }

  @Test func aNewSessionFailsItsVoteOnAFreePort() async throws {
    let down = try ListeningSocket.refusing()
    defer { down.close() }
    let server = down.server
    let container = MemCacheSessionDataContainer(
      proxy: MemCacheProxy(store: try makePool([server], prefix: uniqueKeyPrefix())))
    let transaction = Transaction()
    let session = try Transaction.$current.withValue(transaction) {
      let session = MemCacheMapping(
        key: "s", storageKey: "s", proxy: try #require(container.proxy),
        settings: container.settings,
        record: SessionRecord(
          epoch: 0, version: 0, created: Date(), accessed: Date(), data: .map([:])),
        copies: .empty("s", nodes: nil), isNew: true)
      session["a"] = 1
      return session
    }
    #expect(
      memCacheError {
        try transaction.commit()
      }?.caseName == "unavailable")
    #expect(transaction.status == .aborted)
    #expect(session.contents.isEmpty)
  }

  @Test func aSessionTooLargeForTheServerFailsWithItsSize() async throws {
    try await withMemcached { processes in
      let pool = try makePool([processes[0].server], prefix: uniqueKeyPrefix())
      let container = MemCacheSessionDataContainer(proxy: MemCacheProxy(store: pool))
      var bytes = [UInt8](repeating: 0, count: 1_200_000)
      for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
      let error = await asyncMemCacheError {
        try await withTransaction { _ in
          try await container.newOrExisting("big")["blob"] = .bytes(bytes)
        }
      }
      guard case .valueTooLarge(let size, let maximum)? = error else {
        Issue.record("expected valueTooLarge, got \(String(describing: error))")
        return
      }
      #expect(size > 1_200_000)
      #expect(maximum == pool.configuration.maximumValueSize)
      #expect(try await container.hasKey("big") == false)
    }
  }

  @Test func aSessionUnusedForLongerThanTheTimeoutIsGone() async throws {
    try await withMemcached { processes in
      let pool = try makePool([processes[0].server], prefix: uniqueKeyPrefix())
      let container = MemCacheSessionDataContainer(
        proxy: MemCacheProxy(store: pool), timeout: .seconds(3))
      try await withTransaction { _ in try await container.newOrExisting("s")["a"] = 1 }
      #expect(try await container.hasKey("s"))
      // memcached counts expiry in whole seconds on a clock that may lag by one.
      try await Task.sleep(for: .seconds(5))
      #expect(try await container.hasKey("s") == false)
    }
  }

  @Test func aReadOnlyAccessWithinTheTimeoutKeepsTheSessionAlive() async throws {
    do {
      let store = InProcessStore()
      let container = MemCacheSessionDataContainer(
        proxy: MemCacheProxy(store: store), timeout: .seconds(10), resolution: .seconds(1))
      let clock = ContinuousClock()
      let written = clock.now
      try await withTransaction { _ in try await container.newOrExisting("s")["a"] = 1 }
      // Reads 2 s apart, far inside the timeout, so that a loaded parallel test run (whose
      // sleeps may overrun by seconds) cannot let it lapse, until well past the timeout.
      var reads = 0
      while clock.now - written < .seconds(12) {
        try await Task.sleep(for: .seconds(2))
        try await withTransaction { _ in _ = try await container.get("s")?["a"] }
        reads += 1
      }
      // Over 12 s after the only write, with a 10 s timeout.
      #expect(try await container.get("s")?["a"] == 1)
      #expect(store.count("cas") == reads)  // one refresh per read-only access past the window
      #expect(store.count("add") == 1)
    }
  }

  @Test func everyWriteSetsTheTimeoutAsTheItemsTTL() async throws {
    do {
      let store = InProcessStore()
      let container = MemCacheSessionDataContainer(
        proxy: MemCacheProxy(store: store), timeout: .seconds(90), resolution: .zero)
      try await withTransaction { _ in try await container.newOrExisting("s")["a"] = 1 }
      try await withTransaction { _ in try await container.get("s")?["a"] = 2 }
      try await withTransaction { _ in _ = try await container.get("s")?["a"] }  // a refresh
      #expect(store.count("add") == 1)
      #expect(store.count("cas") == 2)
      // The timeout and the second that memcached's once-a-second clock may take off it.
      #expect(store.expirations == [.seconds(91), .seconds(91), .seconds(91)])
      #expect(try await container.get("s")?["a"] == 2)
    }
  }

  @Test func bytesThatAreNotOursUnderASessionKeyAreATypedError() async throws {
    try await withMemcached { processes in
      let pool = try makePool([processes[0].server], prefix: uniqueKeyPrefix())
      try await pool.set("php", value: Array("a|s:1:\"b\";".utf8), flags: 0)
      try await pool.set("truncated", value: ValueFormat.magic, flags: ValueFormat.plainFlags)
      let container = MemCacheSessionDataContainer(proxy: MemCacheProxy(store: pool))
      for id in ["php", "truncated"] {
        #expect(
          await asyncMemCacheError {
            _ = try await container.get(id)
          }?.caseName == "undecodable")
      }
    }
  }

  @Test func theSessionIsStoredUnderItsBrowserIdAfterThePrefix() async throws {
    try await withMemcached { processes in
      let prefix = uniqueKeyPrefix()
      let container = MemCacheSessionDataContainer(
        proxy: MemCacheProxy(store: try makePool([processes[0].server], prefix: prefix)))
      try await withTransaction { _ in try await container.newOrExisting("browser-1")["a"] = 1 }
      let unprefixed = try makePool([processes[0].server], prefix: "")
      let item = try #require(try await unprefixed.get(prefix + "browser-1"))
      let value = try ValueFormat.decode(item.value, flags: item.flags)
      #expect(value.mapValue?["data"] == ["a": 1])
      #expect(value.mapValue?["v"] == 2)
    }
  }
}
