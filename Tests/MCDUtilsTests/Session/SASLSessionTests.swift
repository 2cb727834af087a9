import Foundation
import InMemoryLogging
import Logging
import MCDUtils
import Memcached
import MemcachedTestSupport
import Testing

/// The SASL user the servers know and its password, distinctive so that finding it in a log or
/// a message cannot be a coincidence; the wrong password contains the right one.
private let username = "mcdutils-sessions"
private let password = "Sesame-2b9e41-sessions"
private let wrongPassword = "not-" + password
private let users = [username: password]

/// A session container over a pool of the servers, with the password given, a key prefix of
/// the caller's and each session on two nodes.
private func container(
  _ servers: [MemcachedProcess], password: String, prefix: String, logger: Logger = .disabled,
  ioTimeouts: Duration? = nil
) throws -> MemCacheSessionDataContainer {
  var configuration = MemcachedConfiguration(servers: servers.map(\.server))
  if let ioTimeouts { configuration.setIOTimeouts(ioTimeouts) }
  configuration.keyPrefix = prefix
  configuration.replicas = min(1, servers.count - 1)
  configuration.credentials = .init(username: username, password: password)
  let pool = try MemcachedPool(configuration: configuration, logger: logger)
  return MemCacheSessionDataContainer(proxy: MemCacheProxy(store: pool, logger: logger))
}

@Suite("Sessions on memcached -S")
struct SASLSessionTests {
  @Test func aSessionCommittedWithTheRightPasswordIsReadBackByAnotherProcess() async throws {
    try await withSASLMemcached(users: users, count: 2) { servers in
      let prefix = uniqueKeyPrefix()
      let writer = try container(servers, password: password, prefix: prefix)
      try await withTransaction { _ in
        let session = try await writer.newOrExisting("browser-1")
        session["user"] = "alice"
        session["cart"] = [1, 2, 3]
      }
      // Another container, as another process would have: nothing comes from a local cache.
      let reader = try container(servers, password: password, prefix: prefix)
      let session = try #require(try await reader.get("browser-1"))
      #expect(session.contents == ["user": "alice", "cart": [1, 2, 3]])
      #expect(try await reader.hasKey("browser-1"))
    }
  }

  @Test func theBlockingSessionCallsWorkWithTheRightPassword() async throws {
    try await withSASLMemcached(users: users) { servers in
      let sessions = try container(servers, password: password, prefix: uniqueKeyPrefix())
      // The blocking forms, which an async context would not pick by itself.
      func addVisit() throws -> Int {
        try withTransaction { _ in
          let session = try sessions.newOrExisting("browser-2")
          let visits = (session["visits"]?.intValue ?? 0) + 1
          session["visits"] = .int(visits)
          return Int(visits)
        }
      }
      #expect(try addVisit() == 1)
      #expect(try addVisit() == 2)
      func invalidate() throws {
        try withTransaction { _ in try sessions.get("browser-2")?.invalidate() }
      }
      try invalidate()
      #expect(try await sessions.get("browser-2") == nil)
    }
  }

  @Test func aWrongPasswordIsAStoreFailureNeitherNoSessionNorUnavailable() async throws {
    try await withSASLMemcached(users: users, count: 2) { servers in
      let prefix = uniqueKeyPrefix()
      let good = try container(servers, password: password, prefix: prefix)
      try await withTransaction { _ in try await good.newOrExisting("browser-3")["a"] = 1 }
      let bad = try container(servers, password: wrongPassword, prefix: prefix)
      let reads: [(String, () async throws -> Void)] = [
        ("get", { _ = try await bad.get("browser-3") }),
        ("hasKey", { _ = try await bad.hasKey("browser-3") }),
        (
          "newOrExisting",
          { _ = try await withTransaction { _ in try await bad.newOrExisting("new") } }
        ),
      ]
      for (name, read) in reads {
        let error = await asyncMemCacheError(read)
        guard case .storeFailed(let cause)? = error else {
          Issue.record("\(name): \(String(describing: error)) instead of a store failure")
          continue
        }
        #expect(cause.returnCode == .authFailure, "\(name): \(cause)")
        #expect(error?.isUnavailable == false, "\(name)")
      }
      // Nothing was written on the way.
      #expect(try await good.get("new") == nil)
      #expect(try await good.get("browser-3")?.contents == ["a": 1])
    }
  }

  @Test func aWrongPasswordFailsASessionReadFastWithoutRetries() async throws {
    try await withSASLMemcached(users: users, count: 2) { servers in
      // Far above the bound below, so that a read that waited on one would overshoot it.
      let bad = try container(
        servers, password: wrongPassword, prefix: uniqueKeyPrefix(), ioTimeouts: .seconds(10))
      let credentials = MemcachedConfiguration.Credentials(username: username, password: password)
      let before = try refusedAuthentications(servers, credentials: credentials)
      let reads = 5
      for _ in 0..<reads {
        let clock = ContinuousClock()
        let start = clock.now
        let error = await asyncMemCacheError { _ = try await bad.get("browser-4") }
        let elapsed = clock.now - start
        #expect(error != nil)
        #expect(elapsed < .seconds(5), "took \(elapsed)")
      }
      try await Task.sleep(for: .milliseconds(300))
      let after = try refusedAuthentications(servers, credentials: credentials)
      let refused = zip(after, before).map { $0 - $1 }.reduce(0, +)
      // At most one refused authentication per copy a read asks, and none in the background.
      #expect(refused >= reads && refused <= 2 * reads, "\(refused) refusals for \(reads) reads")
    }
  }

  @Test func thePasswordAppearsInNoSessionErrorOrLogLine() async throws {
    try await withSASLMemcached(users: users, count: 2) { servers in
      let handler = InMemoryLogHandler()
      var logger = Logger(label: "sasl-sessions") { _ in handler }
      logger.logLevel = .trace
      let prefix = uniqueKeyPrefix()
      var texts: [String] = []
      let bad = try container(servers, password: wrongPassword, prefix: prefix, logger: logger)
      for browserId in ["browser-5", "browser-6"] {
        if let error = await asyncMemCacheError({ _ = try await bad.get(browserId) }) {
          texts += ["\(error)", String(reflecting: error)]
        }
      }
      // A server that went away is logged, with the messages of its failures.
      let good = try container(servers, password: password, prefix: prefix, logger: logger)
      try await withTransaction { _ in try await good.newOrExisting("browser-7")["a"] = 1 }
      servers[0].stop()
      servers[1].stop()
      if let error = await asyncMemCacheError({ _ = try await good.get("browser-7") }) {
        texts += ["\(error)", String(reflecting: error)]
      }
      texts += handler.entries.map { entry in
        "\(entry.level) \(entry.message) \(entry.metadata) \(String(describing: entry.error))"
      }
      #expect(texts.count >= 6)
      #expect(handler.entries.isEmpty == false, "nothing was logged, so nothing was checked")
      for text in texts {
        #expect(!text.contains(password), "the password is in: \(text)")
      }
    }
  }
}
