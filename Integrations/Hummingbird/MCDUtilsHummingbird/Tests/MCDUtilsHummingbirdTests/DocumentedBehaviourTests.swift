import Foundation
import Hummingbird
import MCDUtils
import MCDUtilsHummingbird
import Memcached
import MemcachedTestSupport
import Testing

/// What `PersistDriver`'s documentation promises and Hummingbird's own tests do not check, and
/// what ``MemcachedPersistDriver`` documents for the cases the protocol leaves open.
struct DocumentedBehaviourTests {
  struct Profile: Codable, Sendable, Equatable {
    var name: String
    var visits: Int
  }

  @Test func setWithoutExpiresKeepsTheDeadlineAcrossThousandsOfWrites() async throws {
    try await withDriver { persist, _ in
      let key = uniqueKey()
      let clock = ContinuousClock()
      try await persist.create(key: key, value: 0, expires: .seconds(60))
      let created = clock.now
      var previous = Duration.seconds(60)
      for round in 1...4 {
        for write in 1...500 {
          try await persist.set(key: key, value: (round - 1) * 500 + write, expires: nil)
        }
        let before = clock.now
        let (value, ttl) = try #require(try await persist.getWithTTL(key: key, as: Int.self))
        #expect(value == round * 500)
        let left = try #require(ttl, "a write without expires dropped the deadline")
        // The deadline was set at creation: what is left can only shrink.
        #expect(left <= .seconds(60) - (before - created))
        #expect(left <= previous)
        previous = left
      }
    }
  }

  @Test func aValueSetWithoutExpiresStillExpiresAtItsFirstDeadline() async throws {
    try await withDriver { persist, _ in
      let key = uniqueKey()
      let clock = ContinuousClock()
      try await persist.set(key: key, value: "first", expires: .milliseconds(1500))
      // The deadline is at most 1.5 s after the write returned.
      let written = clock.now
      // Rewrite it without expires for a while, well before the deadline.
      while clock.now - written < .milliseconds(600) {
        try await persist.set(key: key, value: "rewritten", expires: nil)
      }
      try await clock.sleep(until: written + .milliseconds(2000))
      #expect(try await persist.get(key: key, as: String.self) == nil)
    }
  }

  @Test func subSecondLifetimesEndOnTime() async throws {
    try await withDriver { persist, _ in
      let key = uniqueKey()
      let clock = ContinuousClock()
      let start = clock.now
      try await persist.create(key: key, value: "brief", expires: .milliseconds(700))
      let created = clock.now
      let found = try await persist.getWithTTL(key: key, as: String.self)
      if clock.now - start < .milliseconds(600) {
        #expect(found?.object == "brief")
        if let ttl = found?.ttl { #expect(ttl <= .milliseconds(700)) }
      }
      // memcached counts whole seconds and may keep the item up to two; the driver must not.
      // The deadline is at most 700 ms after the create returned.
      try await clock.sleep(until: created + .milliseconds(1000))
      #expect(try await persist.get(key: key, as: String.self) == nil)
    }
  }

  @Test func aValueIsReadableUntilItsDeadline() async throws {
    try await withDriver { persist, _ in
      let clock = ContinuousClock()
      for _ in 0..<4 {
        let key = uniqueKey()
        let start = clock.now
        try await persist.create(key: key, value: "alive", expires: .seconds(2))
        try await clock.sleep(until: start + .milliseconds(1300))
        let value = try await persist.get(key: key, as: String.self)
        if clock.now - start < .milliseconds(1900) {
          #expect(value == "alive")
        }
      }
    }
  }

  @Test func createOnAnExistingKeyThrowsDuplicateAndKeepsTheValue() async throws {
    try await withDriver { persist, _ in
      let key = uniqueKey()
      try await persist.create(key: key, value: "first", expires: nil)
      await #expect(throws: PersistError.duplicate) {
        try await persist.create(key: key, value: "second", expires: .seconds(10))
      }
      let (value, ttl) = try #require(try await persist.getWithTTL(key: key, as: String.self))
      #expect(value == "first")
      #expect(ttl == nil)
    }
  }

  @Test func aValueOfAnotherTypeReadsAsNilWhenAsked() async throws {
    try await withDriver(typeMismatch: .returnsNil) { persist, _ in
      let key = uniqueKey()
      try await persist.set(key: key, value: Profile(name: "ada", visits: 3), expires: nil)
      #expect(try await persist.get(key: key, as: String.self) == nil)
      #expect(try await persist.get(key: key, as: Int.self) == nil)
      #expect(try await persist.getWithTTL(key: key, as: [String].self) == nil)
      #expect(
        try await persist.get(key: key, as: Profile.self) == Profile(name: "ada", visits: 3))
    }
  }

  @Test func aValueWithoutExpiresNeverExpires() async throws {
    try await withDriver { persist, _ in
      let created = uniqueKey("created")
      let set = uniqueKey("set")
      try await persist.create(key: created, value: 1, expires: nil)
      try await persist.set(key: set, value: 2, expires: nil)
      let first = try #require(try await persist.getWithTTL(key: created, as: Int.self))
      let second = try #require(try await persist.getWithTTL(key: set, as: Int.self))
      #expect(first.object == 1 && first.ttl == nil)
      #expect(second.object == 2 && second.ttl == nil)
    }
  }

  @Test func setWithExpiresReplacesTheDeadline() async throws {
    try await withDriver { persist, _ in
      let key = uniqueKey()
      try await persist.set(key: key, value: 1, expires: .seconds(5))
      try await persist.set(key: key, value: 2, expires: .seconds(100))
      let (value, ttl) = try #require(try await persist.getWithTTL(key: key, as: Int.self))
      #expect(value == 2)
      #expect(try #require(ttl) > .seconds(90))
    }
  }

  @Test func aKeyMemcachedCannotHoldReadsAsNilAndCannotBeWritten() async throws {
    try await withDriver { persist, _ in
      for key in ["with space", "", String(repeating: "k", count: 300), "line\nbreak"] {
        #expect(try await persist.get(key: key, as: String.self) == nil)
        try await persist.remove(key: key)
        #expect(try await persist.update(key: key, as: Int.self) { $0 += 1 } == nil)
        await #expect(throws: MemCacheError.self) {
          try await persist.set(key: key, value: "v", expires: nil)
        }
      }
    }
  }

  @Test func aRemovedKeyCanBeCreatedAgain() async throws {
    try await withDriver { persist, _ in
      let key = uniqueKey()
      try await persist.create(key: key, value: "old", expires: .seconds(30))
      try await persist.remove(key: key)
      #expect(try await persist.get(key: key, as: String.self) == nil)
      try await persist.create(key: key, value: "new", expires: nil)
      #expect(try await persist.get(key: key, as: String.self) == "new")
    }
  }

  @Test func updateChangesTheValueAndKeepsTheDeadline() async throws {
    try await withDriver { persist, _ in
      let key = uniqueKey()
      try await persist.create(
        key: key, value: Profile(name: "ada", visits: 1), expires: .seconds(30))
      let updated = try await persist.update(key: key, as: Profile.self) { $0.visits += 1 }
      #expect(updated == Profile(name: "ada", visits: 2))
      let (value, ttl) = try #require(try await persist.getWithTTL(key: key, as: Profile.self))
      #expect(value.visits == 2)
      #expect(try #require(ttl) <= .seconds(30))
    }
  }

  @Test func updateFindsNothingAfterRemove() async throws {
    try await withDriver { persist, _ in
      let key = uniqueKey()
      try await persist.set(key: key, value: 1, expires: nil)
      try await persist.remove(key: key)
      #expect(try await persist.update(key: key, as: Int.self) { $0 += 1 } == nil)
      #expect(try await persist.get(key: key, as: Int.self) == nil)
    }
  }

  @Test func concurrentUpdatesLoseNoChange() async throws {
    try await withDriver { persist, _ in
      let key = uniqueKey()
      try await persist.create(key: key, value: 0, expires: nil)
      try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<16 {
          group.addTask {
            for _ in 0..<50 { try await persist.update(key: key, as: Int.self) { $0 += 1 } }
          }
        }
        try await group.waitForAll()
      }
      #expect(try await persist.get(key: key, as: Int.self) == 800)
    }
  }

  @Test func replicatedValuesOutliveANode() async throws {
    try await withDriver(count: 3, replicas: 1) { persist, processes in
      let keys = (0..<30).map { uniqueKey("replicated-\($0)") }
      for key in keys { try await persist.set(key: key, value: key, expires: .seconds(60)) }
      processes[0].stop()
      for key in keys {
        #expect(try await persist.get(key: key, as: String.self) == key)
      }
    }
  }

  @Test func shutdownShutsDownTheDriversOwnPool() async throws {
    try await withMemcached { processes in
      let persist = try MemcachedPersistDriver(configuration: configuration(processes))
      let pool = try #require(persist.sessions.proxy.store as? MemcachedPool)
      try await persist.set(key: uniqueKey(), value: 1, expires: nil)
      try await persist.shutdown()
      #expect(pool.isShutDown)
    }
  }

  @Test func shutdownLeavesASharedPoolRunning() async throws {
    try await withMemcached { processes in
      let pool = try MemcachedPool(configuration: configuration(processes))
      let sessions = SessionStore(proxy: MemCacheProxy(store: pool), defaultTimeToLive: nil)
      let persist = MemcachedPersistDriver(sessions: sessions)
      let key = uniqueKey()
      try await persist.set(key: key, value: 1, expires: nil)
      try await persist.shutdown()
      #expect(!pool.isShutDown)
      #expect(try await persist.get(key: key, as: Int.self) == 1)
      await pool.shutdown()
    }
  }

  @Test func runningAsAServiceShutsThePoolDownAtGracefulShutdown() async throws {
    try await withMemcached { processes in
      let persist = try MemcachedPersistDriver(configuration: configuration(processes))
      let pool = try #require(persist.sessions.proxy.store as? MemcachedPool)
      let app = Application(router: Router(), services: [persist])
      try await app.test(.router) { _ in
        try await persist.set(key: uniqueKey(), value: 1, expires: nil)
        #expect(!pool.isShutDown)
      }
      #expect(pool.isShutDown)
    }
  }
}
