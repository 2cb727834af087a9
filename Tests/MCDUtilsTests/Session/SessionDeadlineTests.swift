import Foundation
import Memcached
import MemcachedTestSupport
import Testing

@testable import MCDUtils

/// Sessions with a lifetime of a few seconds on a real memcached, whose clock ticks once a
/// second: each stays readable until its deadline, whatever the phase of that clock.
@Suite struct SessionDeadlineTests {
  /// The lifetime of every session here.
  private static let lifetime = Duration.seconds(2)

  /// Writes eight sessions, their starts spread over a second so that they fall at every phase
  /// of memcached's clock, and reads each every 100 ms until 0.3 s before the earliest moment
  /// its deadline can be; then returns what one read of each answers `after` past the latest
  /// moment its deadline can be.
  ///
  /// Every read that finished before the earliest possible deadline is expected to find the
  /// session (a read that a busy machine delays past it proves nothing and is not checked).
  private func readUntilTheDeadline(
    after: Duration,
    create: @escaping @Sendable (String) async throws -> Void,
    read: @escaping @Sendable (String) async throws -> Bool
  ) async throws -> [Bool] {
    let clock = ContinuousClock()
    let begin = clock.now
    return try await withThrowingTaskGroup(of: Bool.self) { group in
      for index in 0..<8 {
        group.addTask {
          let id = "deadline-\(index)"
          try await clock.sleep(until: begin + .milliseconds(125 * index))
          let start = clock.now
          try await create(id)
          let written = clock.now
          let earliestDeadline = start + Self.lifetime
          while clock.now < earliestDeadline - .milliseconds(300) {
            let found = try await read(id)
            if clock.now < earliestDeadline {
              #expect(found, "session \(index) was gone \(clock.now - start) after its write")
            }
            try await clock.sleep(for: .milliseconds(100))
          }
          try await clock.sleep(until: written + Self.lifetime + after)
          return try await read(id)
        }
      }
      return try await group.reduce(into: []) { $0.append($1) }
    }
  }

  @Test func typedSessionsAreReadableUntilTheirDeadlineAndNotAfter() async throws {
    try await withMemcached { processes in
      let pool = try makePool([processes[0].server], prefix: uniqueKeyPrefix())
      let sessions = SessionStore(proxy: MemCacheProxy(store: pool))
      let afterTheDeadline = try await readUntilTheDeadline(
        after: .milliseconds(300),
        create: { id in
          let created = try await sessions.create(id, "alive", timeToLive: Self.lifetime)
          #expect(created)
        },
        read: { id in try await sessions.get(id, as: String.self) == "alive" })
      // memcached may keep an item a second longer; the store does not show it.
      #expect(afterTheDeadline == Array(repeating: false, count: 8))
      await pool.shutdown()
    }
  }

  @Test func containerSessionsAreReadableUntilTheirTimeout() async throws {
    try await withMemcached { processes in
      let pool = try makePool([processes[0].server], prefix: uniqueKeyPrefix())
      // No read refreshes a session: each lives one timeout after its only write.
      let container = MemCacheSessionDataContainer(
        proxy: MemCacheProxy(store: pool), timeout: Self.lifetime, resolution: .seconds(3600))
      let afterTheTimeout = try await readUntilTheDeadline(
        after: .milliseconds(1500),
        create: { id in
          try await withTransaction { _ in try await container.newOrExisting(id)["a"] = 1 }
        },
        read: { id in try await container.get(id)?["a"] == 1 })
      // Sent one second more than the timeout, memcached drops it within that second.
      #expect(afterTheTimeout == Array(repeating: false, count: 8))
      await pool.shutdown()
    }
  }
}
