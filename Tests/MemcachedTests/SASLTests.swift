import Foundation
import InMemoryLogging
import Logging
import Memcached
import MemcachedTestSupport
import Testing

/// The SASL user the servers know, and its password: distinctive, so that finding it anywhere
/// in a log or a message cannot be a coincidence. The wrong password contains the right one,
/// so that one search finds either.
private let username = "mcdutils-sasl"
private let password = "Sesame-7f3a9c-open"
private let wrongPassword = "not-" + password
private let users = [username: password]

/// A configuration for the servers, with a key prefix of the test's own and the credentials.
private func configuration(
  _ servers: [MemcachedProcess], username: String = username, password: String?,
  prefix: String = uniqueKeyPrefix("sasl")
) -> MemcachedConfiguration {
  var configuration = MemcachedConfiguration(servers: servers.map(\.server))
  configuration.keyPrefix = prefix
  configuration.credentials = password.map { .init(username: username, password: $0) }
  return configuration
}

/// One call of an operation of a connection, by name.
private struct Operation: Sendable, CustomStringConvertible {
  var description: String
  var call: @Sendable (MemcachedClient) throws -> Void

  /// Every keyed operation, each with a key of its own. `touch` and `flush` are apart: with a
  /// wrong password, libmemcached 1.1.4 reports them as a write failure (see below).
  static let keyed: [Operation] = [
    Operation(description: "get") { _ = try $0.get("k-get") },
    Operation(description: "getMulti") { _ = try $0.getMulti(["k-multi-1", "k-multi-2"]) },
    Operation(description: "exists") { _ = try $0.exists("k-exists") },
    Operation(description: "set") { try $0.set("k-set", value: [1]) },
    Operation(description: "add") { _ = try $0.add("k-add", value: [1]) },
    Operation(description: "replace") { _ = try $0.replace("k-replace", value: [1]) },
    Operation(description: "append") { _ = try $0.append("k-append", value: [1]) },
    Operation(description: "prepend") { _ = try $0.prepend("k-prepend", value: [1]) },
    Operation(description: "cas") { _ = try $0.cas("k-cas", value: [1], cas: 1) },
    Operation(description: "delete") { _ = try $0.delete("k-delete") },
    Operation(description: "increment") { _ = try $0.increment("k-incr", initial: 1) },
    Operation(description: "decrement") { _ = try $0.decrement("k-decr", initial: 1) },
  ]
  static let touch = Operation(description: "touch") {
    _ = try $0.touch("k-touch", expiration: .seconds(60))
  }
  static let flush = Operation(description: "flush") { try $0.flush() }
}

/// The `MemcachedError` that `body` throws, or `nil` when it throws nothing or something else.
private func memcachedError(_ body: () throws -> Void) -> MemcachedError? {
  do {
    try body()
    return nil
  } catch {
    return error as? MemcachedError
  }
}

/// How many authentications each server refused so far.
private func refusedAuthentications(_ servers: [MemcachedProcess]) throws -> [Int] {
  try MemcachedTestSupport.refusedAuthentications(
    servers, credentials: .init(username: username, password: password))
}

@Suite("SASL against a real memcached -S")
struct SASLTests {
  @Test func everyClientOperationWorksWithTheRightCredentials() async throws {
    try await withSASLMemcached(users: users) { servers in
      let client = try MemcachedClient(configuration: configuration(servers, password: password))
      try client.set("a", value: Array("one".utf8), flags: 7, expiration: .seconds(60))
      let item = try #require(try client.get("a"))
      #expect(item.value == Array("one".utf8))
      #expect(item.flags == 7)
      #expect(try client.exists("a"))
      #expect(try client.getMulti(["a", "missing"]).keys.sorted() == ["a"])
      #expect(try client.add("a", value: [0]) == false)
      #expect(try client.add("b", value: Array("two".utf8)))
      #expect(try client.replace("b", value: Array("deux".utf8)))
      #expect(try client.append("b", value: Array("!".utf8)))
      #expect(try client.prepend("b", value: Array("¡".utf8)))
      #expect(try client.get("b")?.value == Array("¡deux!".utf8))
      let cas = try #require(try client.get("b")?.cas)
      #expect(try client.cas("b", value: [1], cas: cas) == .stored)
      #expect(try client.cas("b", value: [2], cas: cas) == .conflict)
      #expect(try client.increment("n", by: 2, initial: 40) == 40)
      #expect(try client.increment("n", by: 2) == 42)
      #expect(try client.decrement("n", by: 1) == 41)
      #expect(try client.touch("n", expiration: .seconds(60)))
      #expect(try client.delete("a"))
      #expect(try client.get("a") == nil)
      for ping in client.ping() {
        #expect(throws: Never.self) { try ping.result.get() }
      }
      for stats in client.stats() {
        #expect(try stats.result.get()["pid"] == servers[0].pid.map { "\($0)" })
      }
      for version in client.version() {
        #expect(try version.result.get().split(separator: ".").count == 3)
      }
      try client.flush()
      #expect(try client.get("b") == nil)
      #expect(try refusedAuthentications(servers) == [0])
    }
  }

  @Test func everyPooledConnectionAuthenticatesForAsyncAndBlockingCalls() async throws {
    try await withSASLMemcached(users: users, count: 2) { servers in
      var settings = configuration(servers, password: password)
      settings.poolSize = 4
      let pool = try MemcachedPool(configuration: settings)
      // More tasks than connections, so that every connection of the pool is opened.
      try await withThrowingTaskGroup(of: Void.self) { group in
        for task in 0..<16 {
          group.addTask {
            let key = "task\(task)"
            try await pool.set(key, value: Array(key.utf8))
            #expect(try await pool.get(key)?.value == Array(key.utf8))
            #expect(try await pool.add(key, value: []) == false)
            #expect(try await pool.increment("count", initial: 0) != nil)
            #expect(try await pool.delete(key))
          }
        }
        try await group.waitForAll()
      }
      let count = try await pool.get("count").map { String(decoding: $0.value, as: UTF8.self) }
      #expect(count == "15")
      // The blocking form, which an async context would not pick by itself.
      func blockingIncrement() throws -> UInt64? {
        try pool.withConnection { try $0.increment("count") }
      }
      #expect(try blockingIncrement() == 16)
      for ping in try await pool.ping() {
        #expect(throws: Never.self) { try ping.result.get() }
      }
      await pool.shutdown()
      #expect(try refusedAuthentications(servers) == [0, 0])
    }
  }

  @Test func aWrongPasswordIsAnAuthenticationFailureOnEveryKeyedOperation() async throws {
    try await withSASLMemcached(users: users) { servers in
      let client = try MemcachedClient(
        configuration: configuration(servers, password: wrongPassword))
      for operation in Operation.keyed {
        let error = memcachedError { try operation.call(client) }
        #expect(error?.returnCode == .authFailure, "\(operation): \(String(describing: error))")
        #expect(error?.isUnavailable == false, "\(operation)")
        #expect(error?.server == servers[0].server, "\(operation)")
      }
      for ping in client.ping() {
        #expect(memcachedError { _ = try ping.result.get() }?.returnCode == .authFailure)
      }
      for stats in client.stats() {
        #expect(memcachedError { _ = try stats.result.get() }?.returnCode == .authFailure)
      }
      #expect(client.nodeStatus(0).isDown == false)
    }
  }

  @Test func aWrongPasswordIsAnAuthenticationFailureOnTouchAndFlush() async throws {
    try await withSASLMemcached(users: users) { servers in
      for operation in [Operation.touch, .flush] {
        let client = try MemcachedClient(
          configuration: configuration(servers, password: wrongPassword))
        let error = memcachedError { try operation.call(client) }
        #expect(error != nil, "\(operation)")
        // libmemcached 1.1.4 turns the refused authentication of touch into
        // MEMCACHED_WRITE_FAILURE and that of flush into MEMCACHED_SOME_ERRORS, which would
        // read as an unreachable server: the client names the real cause.
        #expect(error?.returnCode == .authFailure, "\(operation): \(String(describing: error))")
        #expect(error?.isAuthenticationFailure == true, "\(operation)")
        #expect(error?.isUnavailable == false, "\(operation)")
        #expect(client.nodeStatus(0).isDown == false, "\(operation)")
      }
    }
  }

  @Test func anUnknownUserIsAnAuthenticationFailure() async throws {
    try await withSASLMemcached(users: users) { servers in
      let client = try MemcachedClient(
        configuration: configuration(servers, username: "nobody-knows-me", password: password))
      let error = memcachedError { _ = try client.get("k") }
      #expect(error?.returnCode == .authFailure, "\(String(describing: error))")
      #expect(error?.isUnavailable == false)
      #expect(error?.server == servers[0].server)
    }
  }

  @Test func aClientWithoutCredentialsCannotWrite() async throws {
    try await withSASLMemcached(users: users) { servers in
      let writer = try MemcachedClient(configuration: configuration(servers, password: password))
      try writer.set("k", value: [1])
      let client = try MemcachedClient(
        configuration: configuration(servers, password: nil, prefix: writer.configuration.keyPrefix)
      )
      // Reads are below. Not increment or decrement: libmemcached 1.1.4 aborts the process on
      // the server's refusal of a counter without authentication (an assertion in auto.cc).
      let skipped = ["get", "getMulti", "increment", "decrement"]
      for operation in Operation.keyed where !skipped.contains(operation.description) {
        let error = memcachedError { try operation.call(client) }
        #expect(error?.returnCode == .authFailure, "\(operation): \(String(describing: error))")
      }
      // libmemcached reads the server's refusal of a read as a miss.
      withKnownIssue("libmemcached reads a refused get as a miss") {
        #expect(memcachedError { _ = try client.get("k") }?.returnCode == .authFailure)
      }
      #expect(try writer.get("k")?.value == [1])
    }
  }

  @Test func aWrongPasswordFailsFastWithOneAttemptPerCall() async throws {
    try await withSASLMemcached(users: users) { servers in
      let before = try refusedAuthentications(servers)
      var settings = configuration(servers, password: wrongPassword)
      settings.setIOTimeouts(.seconds(10))
      let client = try MemcachedClient(configuration: settings)
      let calls = 5
      for _ in 0..<calls {
        let clock = ContinuousClock()
        let start = clock.now
        let error = memcachedError { _ = try client.get("k") }
        let elapsed = clock.now - start
        #expect(error?.returnCode == .authFailure)
        // Far below the timeouts (10 s each, and a retry would add more), and far above what
        // a loaded machine adds: a refusal is an answer, not a wait.
        #expect(elapsed < .seconds(5), "took \(elapsed)")
      }
      // One authentication per call: no retry on another attempt or another connection.
      #expect(try refusedAuthentications(servers)[0] - before[0] == calls)
    }
  }

  @Test func aPoolWithAWrongPasswordNeitherFailsOverNorRetriesInTheBackground() async throws {
    try await withSASLMemcached(users: users, count: 2) { servers in
      var settings = configuration(servers, password: wrongPassword)
      // Probes of a node that is down would come every 100 ms.
      settings.retryTimeout = .milliseconds(100)
      let pool = try MemcachedPool(configuration: settings)
      let keys = (0..<20).map { "key\($0)" }
      for key in keys {
        do {
          try await pool.set(key, value: [1])
          Issue.record("a wrong password stored \(key)")
        } catch let error as MemcachedError {
          #expect(error.returnCode == .authFailure, "\(error)")
        }
      }
      try await Task.sleep(for: .milliseconds(500))
      let refused = try refusedAuthentications(servers)
      #expect(refused.reduce(0, +) == keys.count, "\(refused)")
      // The blocking form, which an async context would not pick by itself.
      func status() throws -> [Bool] {
        try pool.withConnection { client in (0..<2).map { client.nodeStatus($0).isDown } }
      }
      #expect(try status() == [false, false])
      // Nothing was written to either node on the way.
      let reader = try MemcachedClient(
        configuration: configuration(servers, password: password, prefix: settings.keyPrefix))
      #expect(try reader.getMulti(keys).isEmpty)
      await pool.shutdown()
    }
  }

  @Test func aNodeThatComesBackRefusingThePasswordIsBackAndNotProbedAgain() async throws {
    try await withSASLMemcached(users: users) { servers in
      var settings = configuration(servers, password: wrongPassword)
      settings.retryTimeout = .milliseconds(100)
      let pool = try MemcachedPool(configuration: settings)
      func isDown() throws -> Bool { try pool.withConnection { $0.nodeStatus(0).isDown } }
      // The server goes away: a refused connection takes the node out of service.
      servers[0].stop()
      _ = try? await pool.get("k")
      #expect(try isDown())
      // It comes back, with a password database that refuses this pool's password.
      try await onOwnThread { try servers[0].start() }
      let deadline = ContinuousClock.now + .seconds(3)
      while try isDown(), ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(20))
      }
      let before = try refusedAuthentications(servers)
      try await Task.sleep(for: .milliseconds(500))
      let after = try refusedAuthentications(servers)
      let stillDown = try isDown()
      let error = memcachedError { _ = try pool.withConnection { try $0.get("k") } }
      // The probe asks with the pool's credentials: a refusal is an answer, so the node is
      // back (calls say why they fail) and the probe does not repeat the refused
      // authentication while the pool is idle.
      #expect(stillDown == false)
      #expect(after == before, "refused authentications while idle: \(before) → \(after)")
      #expect(error?.returnCode == .authFailure, "\(String(describing: error))")
      await pool.shutdown()
    }
  }

  @Test func aConfigurationsDumpReflectionAndDescriptionHideThePassword() {
    var settings = MemcachedConfiguration(servers: [MemcachedServer(host: "127.0.0.1", port: 1)])
    settings.credentials = .init(username: username, password: password)
    var dumped = ""
    dump(settings, to: &dumped)
    var dumpedCredentials = ""
    dump(settings.credentials!, to: &dumpedCredentials)
    let texts = [
      dumped, dumpedCredentials, String(reflecting: settings), "\(settings)",
      String(reflecting: settings.credentials!), "\(settings.credentials!)",
    ]
    for text in texts {
      #expect(!text.contains(password), "the password is in: \(text)")
      #expect(text.contains(username), "the user name is not in: \(text)")
    }
    #expect(dumped.contains("password: \"***\""), "\(dumped)")
  }

  @Test func thePasswordAppearsInNoLogLineErrorOrDescription() async throws {
    try await withSASLMemcached(users: users) { servers in
      let handler = InMemoryLogHandler()
      var logger = Logger(label: "sasl") { _ in handler }
      logger.logLevel = .trace
      var texts: [String] = []
      for secret in [password, wrongPassword] {
        let settings = configuration(servers, password: secret)
        texts += ["\(settings)", String(reflecting: settings)]
        texts += ["\(settings.credentials!)", String(reflecting: settings.credentials!)]
        let client = try MemcachedClient(configuration: settings, logger: logger)
        let pool = try MemcachedPool(configuration: settings, logger: logger)
        for operation in Operation.keyed + [.touch, .flush] {
          if let error = memcachedError({ try operation.call(client) }) {
            texts += ["\(error)", String(reflecting: error), error.message]
          }
        }
        do {
          _ = try await pool.get("k")
        } catch {
          texts += ["\(error)", String(reflecting: error)]
        }
        texts += client.ping().map { "\($0.result)" } + client.stats().map { "\($0.result)" }
        await pool.shutdown()
      }
      // The failures of a server that went away are logged with their message: still no
      // password.
      let client = try MemcachedClient(
        configuration: configuration(servers, password: password), logger: logger)
      try client.set("k", value: [1])
      servers[0].stop()
      if let error = memcachedError({ _ = try client.get("k") }) { texts.append("\(error)") }
      texts += handler.entries.map { entry in
        "\(entry.level) \(entry.message) \(entry.metadata) \(String(describing: entry.error))"
      }
      #expect(handler.entries.isEmpty == false, "nothing was logged, so nothing was checked")
      #expect(texts.count > 40)
      for text in texts {
        #expect(!text.contains(password), "the password is in: \(text)")
      }
    }
  }
}
