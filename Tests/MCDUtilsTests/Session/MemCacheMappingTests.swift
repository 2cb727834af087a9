import Foundation
import Memcached
import Testing

@testable import MCDUtils

private struct Cart: Codable, Equatable {
  var items: [String]
}

/// A data manager that refuses to vote, to make a commit fail after the session voted or
/// before.
private final class VetoingManager: DataManager {
  struct Veto: Error {}
  let sortKey: String
  init(sortKey: String) { self.sortKey = sortKey }
  func abort(_ transaction: Transaction) throws {}
  func tpcBegin(_ transaction: Transaction) throws {}
  func commit(_ transaction: Transaction) throws {}
  func tpcVote(_ transaction: Transaction) throws { throw Veto() }
  func tpcFinish(_ transaction: Transaction) throws {}
  func tpcAbort(_ transaction: Transaction) throws {}
  func savepoint() throws -> any DataManagerSavepoint { NoSavepoint() }
  struct NoSavepoint: DataManagerSavepoint { func rollback() throws {} }
}

/// Stores a session for `id` with the given entries, outside any transaction.
private func seed(
  _ container: MemCacheSessionDataContainer, _ id: String, _ entries: [String: SessionValue]
) throws {
  let session = try container.newOrExisting(id)
  for (key, value) in entries { session[key] = value }
  try session.save()
}

@Suite struct MemCacheMappingDictionaryTests {
  @Test func offersTheDictionaryAPI() throws {
    let (container, _) = makeUnitContainer()
    let session = try container.newOrExisting("browser1")
    session["a"] = 1
    session.set("b", "two")
    #expect(session["a"] == 1)
    #expect(session.get("b") == "two")
    #expect(session.get("c", default: "none") == "none")
    #expect(session.contains("a"))
    #expect(!session.contains("c"))
    #expect(session.keys == ["a", "b"])
    #expect(session.values == [1, "two"])
    #expect(session.count == 2)
    #expect(session.map(\.key) == ["a", "b"])
    #expect(session.delete("a") == 1)
    session["b"] = nil
    #expect(session.isEmpty)
    session["c"] = 3
    session.removeAll()
    #expect(session.count == 0)
  }

  @Test func storesAndLoadsCodableValues() throws {
    let (container, _) = makeUnitContainer()
    let session = try container.newOrExisting("browser1")
    try session.set(Cart(items: ["book"]), forKey: "cart")
    try session.save()
    let loaded = try #require(try container.get("browser1"))
    #expect(try loaded.get(Cart.self, forKey: "cart") == Cart(items: ["book"]))
    #expect(try loaded.get(Cart.self, forKey: "absent") == nil)
  }

  @Test func containerKeyIsTheBrowserId() throws {
    let (container, _) = makeUnitContainer()
    #expect(try container.newOrExisting("browser1").containerKey == "browser1")
  }

  @Test func descriptionHidesSecretValuesInAnyCase() throws {
    let (container, _) = makeUnitContainer()
    let session = try container.newOrExisting("browser1")
    for key in ["Password", "user_pwd", "SECRET", "csrfToken", "credentials"] {
      session[key] = "hunter2"
    }
    session["name"] = "Ada"
    #expect(!session.description.contains("hunter2"))
    #expect(session.description.contains("Ada"))
    #expect(session.description.contains("\"csrfToken\": \"***\""))
    #expect(!session.description.contains("browser1"))
  }

  @Test func createdAndLastAccessedTimesAreStored() throws {
    let (container, _) = makeUnitContainer()
    let before = Date()
    try seed(container, "browser1", ["a": 1])
    let session = try #require(try container.get("browser1"))
    #expect(abs(session.created.timeIntervalSince(before)) < 2)
    #expect(session.lastAccessed >= session.created)
  }
}

@Suite struct MemCacheMappingTransactionTests {
  @Test func joinsTheTransactionOnFirstWriteOnly() throws {
    let (container, _) = makeUnitContainer()
    try seed(container, "browser1", ["a": 1])
    let transaction = Transaction()
    try Transaction.$current.withValue(transaction) {
      let session = try #require(try container.get("browser1"))
      _ = session["a"]
      #expect(!transaction.state.withLock { $0.managers.contains { $0 === session } })
      session["a"] = 2
      #expect(transaction.state.withLock { $0.managers.contains { $0 === session } })
    }
    try transaction.abort()
  }

  @Test func writesAtCommit() throws {
    let (container, store) = makeUnitContainer()
    try seed(container, "browser1", ["a": 1])
    try withTransaction { _ in
      try #require(try container.get("browser1"))["a"] = 2
      let proxy = try #require(container.proxy)
      let stored = try store.get("browser1").map {
        try SessionRecord(item: $0, key: "browser1", proxy: proxy)
      }
      #expect(stored?.data["a"] == 1)
    }
    #expect(try container.get("browser1")?["a"] == 2)
  }

  @Test func aReadOnlyTransactionWritesNothing() throws {
    let (container, store) = makeUnitContainer()
    try seed(container, "browser1", ["a": 1])
    store.reset()
    try withTransaction { _ in
      let session = try #require(try container.get("browser1"))
      _ = session["a"]
      session["a"] = 1  // the same value: the encoded bytes do not change
    }
    #expect(store.writes == 0)
  }

  @Test func abortDropsTheChanges() throws {
    let (container, _) = makeUnitContainer()
    try seed(container, "browser1", ["a": 1])
    let transaction = Transaction()
    let session = try Transaction.$current.withValue(transaction) {
      let session = try #require(try container.get("browser1"))
      session["a"] = 2
      return session
    }
    try transaction.abort()
    #expect(session["a"] == 1)
    #expect(try container.get("browser1")?["a"] == 1)
  }

  @Test func savepointRollbackRestoresTheContent() throws {
    let (container, _) = makeUnitContainer()
    try seed(container, "browser1", ["a": 1])
    try withTransaction { transaction in
      let session = try #require(try container.get("browser1"))
      session["a"] = 2
      let savepoint = try transaction.savepoint()
      session["a"] = 3
      session["b"] = 4
      try savepoint.rollback()
      #expect(session.contents == ["a": 2])
    }
    #expect(try container.get("browser1")?.contents == ["a": 2])
  }

  @Test func theSameBrowserIdGivesTheSameSessionWithinATransaction() throws {
    let (container, store) = makeUnitContainer()
    try seed(container, "browser1", ["a": 1])
    store.reset()
    try withTransaction { _ in
      let first = try #require(try container.get("browser1"))
      let second = try #require(try container.get("browser1"))
      #expect(first === second)
      #expect(try container.hasKey("browser1"))
    }
    #expect(store.count("get") == 1)
  }

  @Test func invalidateDeletesTheSession() throws {
    let (container, _) = makeUnitContainer()
    try seed(container, "browser1", ["a": 1])
    try withTransaction { _ in
      let session = try #require(try container.get("browser1"))
      session["b"] = 2
      try session.invalidate()
      #expect(session.isInvalidated)
      #expect(session.isEmpty)
    }
    #expect(try container.hasKey("browser1") == false)
  }

  @Test func everyWriteSetsTheTimeoutAsTTL() async throws {
    let store = InProcessStore()
    let container = MemCacheSessionDataContainer(
      proxy: MemCacheProxy(store: store), timeout: .seconds(1))
    // The blocking API, in a function of its own so that the async overloads are not chosen;
    // the test itself is async so that its wait holds no thread.
    func write() throws {
      try withTransaction { _ in try container.newOrExisting("browser1")["a"] = 1 }
    }
    try write()
    #expect(store.count == 1)
    // The timeout and the second that memcached's once-a-second clock may take off it.
    try await Task.sleep(for: .milliseconds(2_200))
    #expect(store.count == 0)
  }

  @Test func aFailedLaterVoteLeavesNothingWrittenWhenTheSessionHadNotVoted() throws {
    let (container, store) = makeUnitContainer()
    try seed(container, "browser1", ["a": 1])
    store.reset()
    // Sorted before the session ("~mcdutils:…"), so the session never gets to write.
    #expect(throws: VetoingManager.Veto.self) {
      try withTransaction { transaction in
        try transaction.join(VetoingManager(sortKey: "aaa"))
        try #require(try container.get("browser1"))["a"] = 2
      }
    }
    #expect(store.writes == 0)
    #expect(try container.get("browser1")?["a"] == 1)
  }

  @Test func aSessionTooLargeFailsTheVoteWithItsSize() throws {
    let store = InProcessStore(maximumValueSize: 1000)
    let container = MemCacheSessionDataContainer(proxy: MemCacheProxy(store: store))
    let error = memCacheError {
      try withTransaction { _ in
        try container.newOrExisting("browser1")["big"] = .string(
          String(repeating: "x", count: 2000))
      }
    }
    guard case .valueTooLarge(let size, let maximum)? = error else {
      Issue.record("expected valueTooLarge, got \(String(describing: error))")
      return
    }
    #expect(size > 2000)
    #expect(maximum == 1000)
    #expect(store.writes == 0)
  }

  @Test func withoutATransactionChangesWaitForSave() throws {
    let (container, store) = makeUnitContainer()
    try seed(container, "browser1", ["a": 1])
    store.reset()
    let session = try #require(try container.get("browser1"))
    session["a"] = 2
    #expect(store.writes == 0)
    try session.save()
    #expect(try container.get("browser1")?["a"] == 2)
  }
}

@Suite struct MemCacheMappingConflictTests {
  /// Loads the session in two transactions, changes a different key in each, commits both.
  private func twoConcurrentWriters(_ container: MemCacheSessionDataContainer) throws {
    try seed(container, "browser1", ["start": 0])
    let first = Transaction()
    let second = Transaction()
    try Transaction.$current.withValue(first) {
      try #require(try container.get("browser1"))["first"] = 1
    }
    try Transaction.$current.withValue(second) {
      try #require(try container.get("browser1"))["second"] = 2
    }
    try first.commit()
    try second.commit()
  }

  @Test func mergeKeepsBothRequestsChanges() throws {
    let (container, _) = makeUnitContainer(policy: .merge)
    try twoConcurrentWriters(container)
    #expect(try container.get("browser1")?.contents == ["start": 0, "first": 1, "second": 2])
  }

  @Test func mergeReappliesDeletions() throws {
    let (container, _) = makeUnitContainer(policy: .merge)
    try seed(container, "browser1", ["a": 1, "b": 2])
    let first = Transaction()
    let second = Transaction()
    try Transaction.$current.withValue(first) {
      try #require(try container.get("browser1")).delete("a")
    }
    try Transaction.$current.withValue(second) {
      try #require(try container.get("browser1"))["c"] = 3
    }
    try second.commit()
    try first.commit()
    #expect(try container.get("browser1")?.contents == ["b": 2, "c": 3])
  }

  @Test func failThrowsAConflict() throws {
    let (container, _) = makeUnitContainer(policy: .fail)
    #expect(
      memCacheError {
        try twoConcurrentWriters(container)
      }?.caseName == "conflict")
    #expect(try container.get("browser1")?.contents == ["start": 0, "first": 1])
  }

  @Test func overwriteLetsTheLastWriterWin() throws {
    let (container, _) = makeUnitContainer(policy: .overwrite)
    try twoConcurrentWriters(container)
    #expect(try container.get("browser1")?.contents == ["start": 0, "second": 2])
  }

  @Test func twoCreatorsEndUpWithOneSession() throws {
    let (container, store) = makeUnitContainer()
    let first = Transaction()
    let second = Transaction()
    try Transaction.$current.withValue(first) { try container.newOrExisting("browser1")["a"] = 1 }
    try Transaction.$current.withValue(second) {
      try container.newOrExisting("browser1")["b"] = 2
    }
    try first.commit()
    try second.commit()
    #expect(try container.get("browser1")?.contents == ["a": 1, "b": 2])
    // The second creator knows this process wrote the session since it looked: it reads it
    // again and merges, instead of trying an `add` that would fail.
    #expect(store.count("add") == 1)
    #expect(store.count("cas") == 1)
    #expect(store.count("set") == 0)
  }

  @Test func aWriterThatKnowsItsCASIsStaleReadsAgainInsteadOfFailingAWrite() throws {
    let (container, store) = makeUnitContainer(policy: .merge)
    try seed(container, "browser1", ["start": 0])
    let requests = (0..<3).map { _ in Transaction() }
    for (index, request) in requests.enumerated() {
      try Transaction.$current.withValue(request) {
        try #require(try container.get("browser1"))["r\(index)"] = .int(Int64(index))
      }
    }
    store.reset()
    for request in requests { try request.commit() }
    // One write each, none refused: the two later commits read the session again first.
    #expect(store.count("cas") == 3)
    #expect(store.count("get") == 2)
    #expect(
      try container.get("browser1")?.contents == ["start": 0, "r0": 0, "r1": 1, "r2": 2])
  }

  @Test func anotherProgramsWriteStillFailsTheCASAndIsMerged() throws {
    let (container, store) = makeUnitContainer(policy: .merge)
    let elsewhere = MemCacheSessionDataContainer(proxy: MemCacheProxy(store: store))
    try seed(container, "browser1", ["start": 0])
    let request = Transaction()
    try Transaction.$current.withValue(request) {
      try #require(try container.get("browser1"))["mine"] = 1
    }
    // Another process (its own proxy) writes meanwhile: nothing here can know.
    try withTransaction { _ in try #require(try elsewhere.get("browser1"))["theirs"] = 2 }
    store.reset()
    try request.commit()
    #expect(store.count("cas") == 2, "one refused, one after reading again")
    #expect(try container.get("browser1")?.contents == ["start": 0, "mine": 1, "theirs": 2])
  }
}

@Suite struct MemCacheMappingExpiryTests {
  @Test func aReadOnlyAccessRefreshesAtMostOncePerWindow() async throws {
    // A window of 2 s: long enough that a loaded test run does not cross it between two lines.
    let (container, store) = makeUnitContainer(resolution: .seconds(2))
    try seed(container, "browser1", ["a": 1])
    store.reset()
    // The blocking API, in functions of their own so that the async overloads are not chosen.
    func read() throws { try withTransaction { _ in _ = try container.get("browser1")?["a"] } }
    func contents() throws -> [String: SessionValue]? { try container.get("browser1")?.contents }
    try read()
    #expect(store.writes == 0)  // within the window
    try await Task.sleep(for: .milliseconds(2_200))
    try read()
    #expect(store.count("cas") == 1)
    try read()
    #expect(store.count("cas") == 1)  // refreshed less than a window ago
    #expect(try contents() == ["a": 1])
  }

  @Test func aReadOutsideATransactionRefreshesAtOnce() async throws {
    let (container, store) = makeUnitContainer(resolution: .milliseconds(100))
    try seed(container, "browser1", ["a": 1])
    try await Task.sleep(for: .milliseconds(2_000))
    store.reset()
    func get() throws -> MemCacheMapping? { try container.get("browser1") }
    let session = try #require(try get())
    #expect(store.count("cas") == 1)
    // The stored time was 2 s old; the refresh made it now (with room for a loaded machine).
    #expect(Date().timeIntervalSince(session.lastAccessed) < 1)
  }

  @Test func aCopyWrittenBackAfterItsTimeoutIsNoSession() throws {
    // A copy last written longer ago than the timeout (and the clock allowance) can only be an
    // old copy written back: memcached would have dropped it.
    let (container, store) = makeUnitContainer(timeout: .seconds(60))
    let proxy = try #require(container.proxy)
    let stale = Date().addingTimeInterval(-(60 + 300 + 5))
    let record = SessionRecord(
      epoch: 3, version: 9, created: stale, accessed: stale, data: ["user": "admin"])
    let (bytes, flags) = try proxy.encode(record, key: "browser1")
    try store.set("browser1", value: bytes, flags: flags, expiration: .after(.seconds(3600)))
    #expect(try container.get("browser1") == nil)
    // A new session there follows it, so the old copy can never win again.
    let session = try container.newOrExisting("browser1")
    #expect(session.contents.isEmpty)
    session["user"] = "alice"
    try session.save()
    let stored = try #require(try store.get("browser1"))
    #expect(try SessionRecord(item: stored, key: "browser1", proxy: proxy).epoch == 4)
    // Within the allowance, it is the session.
    let recent = Date().addingTimeInterval(-(60 + 200))
    let kept = SessionRecord(
      epoch: 0, version: 1, created: recent, accessed: recent, data: ["user": "bob"])
    let (keptBytes, keptFlags) = try proxy.encode(kept, key: "browser2")
    try store.set(
      "browser2", value: keptBytes, flags: keptFlags, expiration: .after(.seconds(3600)))
    #expect(try container.get("browser2")?["user"] == "bob")
  }
}

@Suite("Which session commits talk to memcached")
struct MappingCommitExecutorTests {
  @Test func aNewSessionAndAChangedSessionNeedTheStoreAReadOnlyOneDoesNot() throws {
    let (container, _) = makeUnitContainer()
    try withTransaction { _ in
      let session = try container.newOrExisting("fresh")
      #expect(session.commitExecutor != nil, "a new session is written with add")
      session["a"] = 1
    }
    try withTransaction { _ in
      let session = try #require(try container.get("fresh"))
      #expect(session.commitExecutor == nil, "nothing changed and no refresh is due")
      session["b"] = 2
      #expect(session.commitExecutor != nil, "a change is written at the vote")
    }
  }
}
