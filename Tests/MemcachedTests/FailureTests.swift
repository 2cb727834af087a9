import Foundation
import Memcached
import MemcachedTestSupport
import Testing

@Suite("Bad input and failing servers give typed errors")
struct FailureTests {
  @Test(arguments: [
    "", "has space", "new\nline", "tab\t", "del\u{7F}", String(repeating: "k", count: 251),
  ])
  func badKeysAreRefusedBeforeAnyIO(key: String) throws {
    // No server listens here: an error other than the key error would mean I/O happened.
    let client = try MemcachedClient(
      configuration: .init(servers: [.init(host: "127.0.0.1", port: 1)]))
    let error = try #require(throws: MemcachedError.self) { try client.set(key, value: [1]) }
    #expect(error.returnCode == .badKeyProvided || error.returnCode == .keyTooBig)
    #expect(throws: MemcachedError.self) { try client.get(key) }
    #expect(throws: MemcachedError.self) { try client.getMulti(["fine", key]) }
  }

  @Test func theKeyLimitCountsThePrefix() throws {
    var configuration = MemcachedConfiguration(servers: [.init(host: "127.0.0.1", port: 1)])
    configuration.keyPrefix = "prefix:"
    let client = try MemcachedClient(configuration: configuration)
    let error = try #require(throws: MemcachedError.self) {
      try client.get(String(repeating: "k", count: 250 - 6))
    }
    #expect(error.returnCode == .keyTooBig)
  }

  @Test func errorsLeaveKeysOutUnlessAskedTo() throws {
    var configuration = MemcachedConfiguration(servers: [.init(host: "127.0.0.1", port: 1)])
    let hidden = try MemcachedClient(configuration: configuration)
    let secret = "session id with space"
    let error = try #require(throws: MemcachedError.self) { try hidden.get(secret) }
    #expect(!error.description.contains(secret))
    #expect(error.key == nil)
    configuration.publicKeysInErrors = true
    let shown = try MemcachedClient(configuration: configuration)
    let visible = try #require(throws: MemcachedError.self) { try shown.get(secret) }
    #expect(visible.description.contains(secret))
  }

  @Test func oversizedValuesThrowBeforeSending() async throws {
    try await withMemcached { servers in
      let client = try makeClient(servers) { $0.maximumValueSize = 1_000 }
      let error = try #require(throws: MemcachedError.self) {
        try client.set("big", value: [UInt8](repeating: 1, count: 1_001))
      }
      #expect(error.isItemTooLarge)
      #expect(try client.get("big") == nil)
      try client.set("fits", value: [UInt8](repeating: 1, count: 1_000))
    }
  }

  @Test func theDefaultMaximumIsWhatADefaultMemcachedStores() async throws {
    try await withMemcached { servers in
      let client = try makeClient(servers)
      let largest = [UInt8](repeating: 7, count: client.configuration.maximumValueSize)
      try client.set("largest", value: largest)
      #expect(try client.get("largest")?.value.count == largest.count)
      // Past our check, memcached's own refusal is an item-too-large error, not silence.
      let raw = try makeClient(servers) { $0.maximumValueSize = 4 << 20 }
      let error = try #require(throws: MemcachedError.self) {
        try raw.set("too-large", value: [UInt8](repeating: 7, count: 2 << 20))
      }
      #expect(error.isItemTooLarge || error.isServerError)
    }
  }

  @Test func aRefusedConnectionIsDistinguishable() throws {
    let down = try ListeningSocket.refusing()
    defer { down.close() }
    let port = down.port
    let client = try MemcachedClient(
      configuration: .init(servers: [.init(host: "127.0.0.1", port: port)]))
    let error = try #require(throws: MemcachedError.self) { try client.get("k") }
    #expect(error.isConnectionRefused, "\(error)")
    #expect(!error.isTimeout)
    #expect(error.server == MemcachedServer(host: "127.0.0.1", port: port))
  }

  @Test func aServerThatNeverAnswersTimesOutWithinTheConfiguredTimeouts() throws {
    let silent = try ListeningSocket()
    var configuration = MemcachedConfiguration(servers: [silent.server])
    configuration.connectTimeout = .milliseconds(200)
    configuration.pollTimeout = .milliseconds(300)
    configuration.sendTimeout = .milliseconds(300)
    configuration.receiveTimeout = .milliseconds(300)
    let client = try MemcachedClient(configuration: configuration)
    let start = ContinuousClock.now
    let error = try #require(throws: MemcachedError.self) { try client.get("k") }
    let elapsed = ContinuousClock.now - start
    #expect(error.isTimeout, "\(error)")
    #expect(elapsed < .milliseconds(300 + 200 + 500), "took \(elapsed)")
  }

  @Test func everyServerDownIsDistinguishable() throws {
    let down = try (0..<2).map { _ in try ListeningSocket.refusing() }
    defer { for socket in down { socket.close() } }
    let configuration = MemcachedConfiguration(servers: down.map(\.server))
    let client = try MemcachedClient(configuration: configuration)
    var last: MemcachedError?
    for index in 0..<10 {
      do { _ = try client.get("k\(index)") } catch let error as MemcachedError { last = error }
    }
    let error = try #require(last)
    #expect(error.isNoServerAvailable, "\(error)")
  }

  @Test func anEmptyServerListFailsWithNoServers() throws {
    let client = try MemcachedClient(configuration: .init(servers: []))
    let error = try #require(throws: MemcachedError.self) { try client.get("k") }
    #expect(error.returnCode == .noServers, "\(error)")
  }

  @Test func inconsistentConfigurationsAreRefused() throws {
    var configuration = MemcachedConfiguration(servers: [])
    configuration.binaryProtocol = false
    configuration.replicas = -1
    #expect(throws: MemcachedError.self) { try MemcachedClient(configuration: configuration) }
    configuration.replicas = 0
    configuration.credentials = .init(username: "u", password: "p")
    #expect(throws: MemcachedError.self) { try MemcachedClient(configuration: configuration) }
    var prefix = MemcachedConfiguration(servers: [])
    prefix.keyPrefix = "bad prefix"
    #expect(throws: MemcachedError.self) { try MemcachedClient(configuration: prefix) }
  }
}
