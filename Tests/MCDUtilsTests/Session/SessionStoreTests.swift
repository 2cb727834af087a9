import Dispatch
import Foundation
import Memcached
import MemcachedTestSupport
import Synchronization
import Testing

@testable import MCDUtils

private struct Cart: Codable, Equatable, Sendable {
  var items: [String]
}

@Suite struct SessionStoreTests {
  private func makeStore(
    defaultTimeToLive: Duration? = .seconds(60), slidingRefresh: Duration? = nil
  ) -> (SessionStore, InProcessStore) {
    let store = InProcessStore()
    return (
      SessionStore(
        proxy: MemCacheProxy(store: store), defaultTimeToLive: defaultTimeToLive,
        slidingRefresh: slidingRefresh),
      store
    )
  }

  @Test func createStoresANewSessionAndRefusesAnExistingOne() async throws {
    let (sessions, _) = makeStore()
    #expect(try await sessions.create("s", Cart(items: ["a"])))
    #expect(try await sessions.create("s", Cart(items: ["b"])) == false)
    #expect(try await sessions.get("s", as: Cart.self) == Cart(items: ["a"]))
    #expect(try await sessions.get("absent", as: Cart.self) == nil)
  }

  @Test func aValueOfTheWrongTypeIsADecodingError() async throws {
    let (sessions, _) = makeStore()
    _ = try await sessions.create("s", Cart(items: ["a"]))
    let error = await asyncMemCacheError { _ = try await sessions.get("s", as: Int.self) }
    #expect(error?.caseName == "decodingFailed")
  }

  @Test func setWithoutALifetimeKeepsTheRemainingOne() async throws {
    let (sessions, store) = makeStore()
    _ = try await sessions.create("s", Cart(items: []), timeToLive: .seconds(30))
    let (_, before) = try #require(try await sessions.getWithTimeToLive("s", as: Cart.self))
    for index in 0..<1_000 { try await sessions.set("s", Cart(items: ["\(index)"])) }
    let (value, after) = try #require(try await sessions.getWithTimeToLive("s", as: Cart.self))
    #expect(value == Cart(items: ["999"]))
    let left = try #require(after)
    let initial = try #require(before)
    #expect(left <= initial)
    #expect(left > .seconds(20))
    // memcached was told the time left (and a second for its clock), never "forever".
    #expect(store.expirations.allSatisfy { $0 != .never })
    #expect(store.expirations.last.map { $0.secondsFromNow <= 31 } == true)
  }

  @Test func aSubSecondLifetimeEndsOnTime() async throws {
    let (sessions, _) = makeStore()
    _ = try await sessions.create("s", Cart(items: ["a"]), timeToLive: .milliseconds(200))
    #expect(try await sessions.get("s", as: Cart.self) != nil)
    try await Task.sleep(for: .milliseconds(400))
    #expect(try await sessions.get("s", as: Cart.self) == nil)
    #expect(try await sessions.create("s", Cart(items: ["b"])))
  }

  @Test func updateRunsItsClosureAgainAfterAConflict() async throws {
    let (sessions, _) = makeStore()
    _ = try await sessions.create("s", 0)
    try await withThrowingTaskGroup(of: Void.self) { group in
      for _ in 0..<8 {
        group.addTask {
          for _ in 0..<50 { try await sessions.update("s", as: Int.self) { $0 += 1 } }
        }
      }
      try await group.waitForAll()
    }
    #expect(try await sessions.get("s", as: Int.self) == 400)
    #expect(try await sessions.update("absent", as: Int.self) { $0 += 1 } == nil)
  }

  @Test func anErrorInTheClosureWritesNothingAndReachesTheCaller() async throws {
    struct Refused: Error {}
    let (sessions, _) = makeStore()
    _ = try await sessions.create("s", 1)
    await #expect(throws: Refused.self) {
      try await sessions.update("s", as: Int.self) { _ in throw Refused() }
    }
    #expect(try await sessions.get("s", as: Int.self) == 1)
  }

  @Test func aDeletedSessionStaysDeletedForAnUpdateThatReadItBefore() async throws {
    let (sessions, store) = makeStore()
    // Another instance of the service, on the same store: its writers do not take turns with
    // this one's.
    let elsewhere = SessionStore(proxy: MemCacheProxy(store: store))
    _ = try await sessions.create("s", 1)
    let calls = Mutex(0)
    // The update has read the session when the delete goes through; its write then conflicts,
    // it reads again, finds no session, and writes nothing.
    let written = try await sessions.update("s", as: Int.self) { value in
      value += 1
      guard
        calls.withLock({
          $0 += 1
          return $0
        }) == 1
      else { return }
      let deleted = DispatchSemaphore(value: 0)
      Task.detached {
        try? await elsewhere.delete("s")
        deleted.signal()
      }
      deleted.wait()
    }
    #expect(written == nil)
    #expect(calls.withLock { $0 } == 1)
    #expect(try await sessions.get("s", as: Int.self) == nil)
    #expect(try await sessions.create("s", 5))
    #expect(try await sessions.get("s", as: Int.self) == 5)
  }

  @Test func aSlidingRefreshKeepsASessionInUseAlive() async throws {
    let (sessions, _) = makeStore(slidingRefresh: .milliseconds(100))
    // A session with a 3 s lifetime, read every half second: a read more than 4 s after the
    // only write (memcached counts whole seconds) finds it only if the reads pushed its
    // expiration back. A gap of 2 s or more between reads, which a loaded machine can cause,
    // proves nothing either way: that attempt is started again.
    for attempt in 1...3 {
      let id = "s\(attempt)"
      _ = try await sessions.create(id, 1, timeToLive: .seconds(3))
      let start = ContinuousClock.now
      var previous = start
      while true {
        try await Task.sleep(for: .milliseconds(500))
        let value = try await sessions.get(id, as: Int.self)
        let now = ContinuousClock.now
        guard now - previous < .seconds(2) else { break }
        previous = now
        #expect(value == 1, "read \(now - start) after the write")
        guard value == 1 else { return }
        if now - start > .milliseconds(4_100) { return }
      }
    }
    Issue.record("no attempt read the session within 2 s of the read before")
  }

  @Test func aBadIdIsATypedError() async throws {
    let (sessions, _) = makeStore()
    let error = await asyncMemCacheError { _ = try await sessions.create("has space", 1) }
    #expect(error?.caseName == "invalidBrowserId")
  }
}
