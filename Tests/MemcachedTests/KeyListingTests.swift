import Foundation
import Memcached
import MemcachedTestSupport
import Testing

/// A server's key listing (`lru_crawler metadump all`), read from real memcached servers.
@Suite struct KeyListingTests {
  private func listed(_ server: MemcachedServer) throws -> [String: MemcachedListedItem] {
    var items: [String: MemcachedListedItem] = [:]
    try server.forEachItem(timeout: .seconds(10)) { items[$0.key] = $0 }
    return items
  }

  @Test func everyItemIsListedWithItsKeyAndLifetime() async throws {
    try await withMemcached { processes in
      let client = try MemcachedClient(
        configuration: MemcachedConfiguration(servers: [processes[0].server]))
      let keys = (0..<300).map { "listed-\($0)" }
      for key in keys { try client.set(key, value: Array(key.utf8), expiration: .never) }
      // memcached prints keys percent-encoded: they come back as they were stored.
      let odd = "odd%20key/ü+?"
      try client.set(odd, value: [1], expiration: .seconds(100))

      let items = try listed(processes[0].server)
      #expect(Set(items.keys) == Set(keys + [odd]))
      #expect(items["listed-0"]?.expires == nil)
      let expires = try #require(items[odd]?.expires)
      #expect(abs(expires.timeIntervalSinceNow - 100) < 30, "\(expires)")
      #expect((items[odd]?.size ?? 0) > 0)
    }
  }

  @Test func anEmptyServerListsNothing() async throws {
    try await withMemcached { processes in
      let items = try listed(processes[0].server)
      #expect(items.isEmpty)
    }
  }

  @Test func whatTheBodyThrowsEndsTheListing() async throws {
    struct Enough: Error {}
    try await withMemcached { processes in
      let client = try MemcachedClient(
        configuration: MemcachedConfiguration(servers: [processes[0].server]))
      for index in 0..<10 { try client.set("stop-\(index)", value: [1]) }
      var seen = 0
      #expect(throws: Enough.self) {
        try processes[0].server.forEachItem {
          _ in
          seen += 1
          throw Enough()
        }
      }
      #expect(seen == 1)
      // The server's crawler is free again for the next listing.
      #expect(try listed(processes[0].server).count == 10)
    }
  }

  @Test func aServerThatIsDownFailsWithAConnectionFailure() throws {
    let down = try ListeningSocket.refusing()
    defer { down.close() }
    #expect {
      try down.server.forEachItem(timeout: .seconds(5)) { _ in }
    } throws: { error in
      (error as? MemcachedError)?.returnCode == .connectionFailure
        && (error as? MemcachedError)?.isConnectionRefused == true
    }
  }

  @Test func aServerThatRequiresSASLHasNoListing() async throws {
    try await withSASLMemcached(users: ["listing": "secret"]) { processes in
      let server = processes[0].server
      #expect {
        try server.forEachItem(timeout: .seconds(10)) { _ in }
      } throws: { error in
        (error as? MemcachedError)?.returnCode == .notSupported
      }
    }
  }
}
