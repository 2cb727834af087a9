import Memcached
import MemcachedTestSupport
import Testing

/// What the text protocol (the one twemproxy and mcrouter speak) can and cannot do.
@Suite struct TextProtocolTests {
  private func textPool(_ server: MemcachedServer, prefix: String) throws -> MemcachedPool {
    var configuration = MemcachedConfiguration(servers: [server])
    configuration.binaryProtocol = false
    configuration.keyPrefix = prefix
    return try MemcachedPool(configuration: configuration)
  }

  @Test func aCounterWithAnInitialValueIsCreatedAndCountedOverTheTextProtocol() async throws {
    try await withMemcached { processes in
      let pool = try textPool(processes[0].server, prefix: uniqueKeyPrefix())
      #expect(try await pool.increment("up", by: 5, initial: 10) == 10)
      #expect(try await pool.increment("up", by: 5, initial: 10) == 15)
      #expect(try await pool.decrement("down", by: 1, initial: 7) == 7)
      #expect(try await pool.decrement("down", by: 1, initial: 7) == 6)
      // Without an initial value a missing counter is still a miss, and nothing is created.
      #expect(try await pool.increment("absent") == nil)
      #expect(try await pool.get("absent") == nil)
    }
  }

  @Test func aCounterWithAnInitialValueOnAnItemThatIsNotANumberIsAClientError() async throws {
    try await withMemcached { processes in
      let pool = try textPool(processes[0].server, prefix: uniqueKeyPrefix())
      try await pool.set("text", value: Array("abc".utf8))
      let error = await #expect(throws: MemcachedError.self) {
        try await pool.increment("text", by: 1, initial: 0)
      }
      #expect(error?.returnCode == .clientError)
      // The connection still works, and the item is untouched.
      #expect(try await pool.get("text")?.value == Array("abc".utf8))
    }
  }

  @Test func concurrentCreatorsOfATextProtocolCounterLoseNoCount() async throws {
    try await withMemcached { processes in
      let pool = try textPool(processes[0].server, prefix: uniqueKeyPrefix())
      // 8 tasks × 25 increments of one missing counter: exactly one call creates it (with the
      // initial value 0, counting nothing), every other adds 1, whoever loses a race to create.
      try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<8 {
          group.addTask {
            for _ in 0..<25 { _ = try await pool.increment("shared", by: 1, initial: 0) }
          }
        }
        try await group.waitForAll()
      }
      #expect(try await pool.increment("shared", by: 0) == 199)
    }
  }

  @Test func saslOverTheTextProtocolIsRefusedAtSetUp() throws {
    // A port nothing listens on: the refusal comes from the configuration, not from a call.
    let down = try ListeningSocket.refusing()
    defer { down.close() }
    var configuration = MemcachedConfiguration(servers: [down.server])
    configuration.binaryProtocol = false
    configuration.credentials = .init(username: "user", password: "secret")
    for makeIt in [
      { _ = try MemcachedPool(configuration: configuration) },
      { _ = try MemcachedClient(configuration: configuration) },
    ] as [() throws -> Void] {
      let error = #expect(throws: MemcachedError.self) { try makeIt() }
      #expect(error?.returnCode == .invalidConfiguration)
      #expect(error?.message == "SASL needs the binary protocol")
    }
  }
}
