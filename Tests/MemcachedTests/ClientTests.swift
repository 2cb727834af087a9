import Foundation
import Memcached
import MemcachedTestSupport
import Testing

/// A client for one test: the servers given, and a key prefix of the test's own.
func makeClient(
  _ processes: [MemcachedProcess], prefix: String = uniqueKeyPrefix(#function),
  configure: (inout MemcachedConfiguration) -> Void = { _ in }
) throws -> MemcachedClient {
  var configuration = MemcachedConfiguration(servers: processes.map(\.server))
  configuration.keyPrefix = prefix
  configure(&configuration)
  return try MemcachedClient(configuration: configuration)
}

@Suite("MemcachedClient against a real memcached")
struct ClientTests {
  @Test func getReturnsNilOnAMiss() async throws {
    try await withMemcached { servers in
      let client = try makeClient(servers)
      #expect(try client.get("absent") == nil)
    }
  }

  @Test func setThenGetReturnsBytesFlagsAndCAS() async throws {
    try await withMemcached { servers in
      let client = try makeClient(servers)
      try client.set("k", value: [1, 2, 3, 0, 255], flags: 0xDEAD_BEEF)
      let item = try #require(try client.get("k"))
      #expect(item.value == [1, 2, 3, 0, 255])
      #expect(item.flags == 0xDEAD_BEEF)
      #expect(item.cas != 0)
    }
  }

  @Test func emptyValueRoundTrips() async throws {
    try await withMemcached { servers in
      let client = try makeClient(servers)
      try client.set("empty", value: [])
      #expect(try client.get("empty")?.value == [])
    }
  }

  @Test func getMultiReturnsOnlyTheHitsUnderTheirOwnKeys() async throws {
    try await withMemcached(count: 3) { servers in
      let client = try makeClient(servers)
      let keys = (0..<50).map { "key-\($0)" }
      for key in keys where key.hasSuffix("0") == false {
        try client.set(key, value: Array(key.utf8))
      }
      let found = try client.getMulti(keys + ["never-set"])
      #expect(found.count == 45)
      for (key, item) in found {
        #expect(item.value == Array(key.utf8))
        #expect(!key.hasSuffix("0"))
      }
      #expect(try client.getMulti([]).isEmpty)
    }
  }

  @Test func existsTellsWhetherAKeyIsStored() async throws {
    try await withMemcached { servers in
      let client = try makeClient(servers)
      #expect(try client.exists("x") == false)
      try client.set("x", value: [1])
      #expect(try client.exists("x"))
    }
  }

  @Test func addStoresOnlyWhenTheKeyIsAbsent() async throws {
    try await withMemcached { servers in
      let client = try makeClient(servers)
      #expect(try client.add("a", value: [1]))
      #expect(try client.add("a", value: [2]) == false)
      #expect(try client.get("a")?.value == [1])
    }
  }

  @Test func replaceStoresOnlyWhenTheKeyExists() async throws {
    try await withMemcached { servers in
      let client = try makeClient(servers)
      #expect(try client.replace("r", value: [1]) == false)
      #expect(try client.get("r") == nil)
      try client.set("r", value: [1])
      #expect(try client.replace("r", value: [2]))
      #expect(try client.get("r")?.value == [2])
    }
  }

  @Test func appendAndPrependExtendAnExistingItemOnly() async throws {
    try await withMemcached { servers in
      let client = try makeClient(servers)
      #expect(try client.append("p", value: [9]) == false)
      try client.set("p", value: [5], flags: 7)
      #expect(try client.append("p", value: [6]))
      #expect(try client.prepend("p", value: [4]))
      let item = try #require(try client.get("p"))
      #expect(item.value == [4, 5, 6])
      #expect(item.flags == 7)
    }
  }

  @Test func casReportsStoredConflictAndNotFound() async throws {
    try await withMemcached { servers in
      let client = try makeClient(servers)
      try client.set("c", value: [1])
      let first = try #require(try client.get("c"))
      try client.set("c", value: [2])
      #expect(try client.cas("c", value: [3], cas: first.cas) == .conflict)
      #expect(try client.get("c")?.value == [2])
      let second = try #require(try client.get("c"))
      #expect(try client.cas("c", value: [4], cas: second.cas) == .stored)
      #expect(try client.get("c")?.value == [4])
      try client.delete("c")
      #expect(try client.cas("c", value: [5], cas: second.cas) == .notFound)
    }
  }

  @Test func deleteTellsWhetherTheItemExisted() async throws {
    try await withMemcached { servers in
      let client = try makeClient(servers)
      try client.set("d", value: [1])
      #expect(try client.delete("d"))
      #expect(try client.delete("d") == false)
      #expect(try client.get("d") == nil)
    }
  }

  @Test func incrementAndDecrementCountWithAndWithoutInitialValue() async throws {
    try await withMemcached { servers in
      let client = try makeClient(servers)
      #expect(try client.increment("n") == nil)
      #expect(try client.increment("n", by: 5, initial: 10) == 10)
      #expect(try client.increment("n", by: 5) == 15)
      #expect(try client.decrement("n", by: 20) == 0)
      #expect(try client.decrement("m", by: 1, initial: 3) == 3)
      // memcached keeps a counter's length when it shrinks and pads it with spaces.
      let stored = try #require(try client.get("n"))
      #expect(
        String(decoding: stored.value, as: UTF8.self).trimmingCharacters(in: .whitespaces) == "0")
    }
  }

  @Test func incrementOfANonNumberIsAnError() async throws {
    try await withMemcached { servers in
      let client = try makeClient(servers)
      try client.set("text", value: Array("abc".utf8))
      #expect(throws: MemcachedError.self) { try client.increment("text") }
    }
  }

  @Test func touchSetsANewExpirationAndTellsWhetherTheItemExisted() async throws {
    try await withMemcached { servers in
      let client = try makeClient(servers)
      #expect(try client.touch("t", expiration: .seconds(60)) == false)
      try client.set("t", value: [1], expiration: .seconds(60))
      #expect(try client.touch("t", expiration: .expired))
      #expect(try client.get("t") == nil)
    }
  }

  @Test func expiredExpirationStoresNothingReadable() async throws {
    try await withMemcached { servers in
      let client = try makeClient(servers)
      try client.set("gone", value: [1], expiration: .expired)
      #expect(try client.get("gone") == nil)
      try client.set("past", value: [1], expiration: .at(Date(timeIntervalSinceNow: -3600)))
      #expect(try client.get("past") == nil)
    }
  }

  @Test func relativeAndAbsoluteExpirationsExpireAfterTheirTime() async throws {
    try await withMemcached { servers in
      let client = try makeClient(servers)
      try client.set("rel", value: [1], expiration: .seconds(1))
      try client.set("abs", value: [1], expiration: .at(Date(timeIntervalSinceNow: 1)))
      try client.set("long", value: [1], expiration: .seconds(40 * 24 * 3600))
      #expect(try client.get("rel") != nil)
      // memcached's clock ticks once a second on a timer of its own, which a loaded machine
      // delays: give it a few ticks.
      try await Task.sleep(for: .milliseconds(3_500))
      #expect(try client.get("rel") == nil)
      #expect(try client.get("abs") == nil)
      #expect(try client.get("long") != nil)
    }
  }

  @Test func flushInvalidatesEveryItem() async throws {
    try await withMemcached(count: 2) { servers in
      let client = try makeClient(servers)
      for index in 0..<20 { try client.set("f\(index)", value: [1]) }
      try client.flush()
      #expect(try client.getMulti((0..<20).map { "f\($0)" }).isEmpty)
    }
  }

  @Test func keyPrefixSeparatesNamespaces() async throws {
    try await withMemcached { servers in
      let one = try makeClient(servers, prefix: "one:")
      let two = try makeClient(servers, prefix: "two:")
      try one.set("shared", value: [1])
      #expect(try two.get("shared") == nil)
      let raw = try makeClient(servers, prefix: "")
      #expect(try raw.get("one:shared")?.value == [1])
    }
  }

  @Test func versionReportsEachServer() async throws {
    try await withMemcached(count: 2) { servers in
      let client = try makeClient(servers)
      let versions = client.version()
      #expect(versions.map(\.server) == servers.map(\.server))
      for version in versions {
        let text = try version.result.get()
        #expect(text.split(separator: ".").count == 3)
        #expect(text != "0.0.0")
      }
    }
  }

  @Test func statsReportsEachServer() async throws {
    try await withMemcached(count: 2) { servers in
      let client = try makeClient(servers)
      let stats = client.stats()
      #expect(stats.map(\.server) == servers.map(\.server))
      for (stat, process) in zip(stats, servers) {
        let values = try stat.result.get()
        #expect(values["pid"] == "\(process.pid ?? -1)")
      }
    }
  }
}

@Suite("ping")
struct PingTests {
  @Test func pingTimesARealRoundTripToEveryServer() async throws {
    try await withMemcached(count: 2) { servers in
      let client = try makeClient(servers)
      let before = try servers.map {
        try makeClient([$0], prefix: "").stats()[0].result.get()["cmd_get"]
      }
      let results = client.ping()
      #expect(results.map(\.server) == servers.map(\.server))
      for result in results {
        let rtt = try result.result.get()
        #expect(rtt > .zero && rtt < .seconds(1))
      }
      // A second ping reaches the servers again: it is no cached answer.
      _ = client.ping()
      let after = try servers.map {
        try makeClient([$0], prefix: "").stats()[0].result.get()["cmd_get"]
      }
      for (old, new) in zip(before, after) {
        #expect(Int(new ?? "") ?? 0 >= (Int(old ?? "") ?? 0) + 2)
      }
    }
  }

  @Test func pingReportsEachDeadServerAsAnError() async throws {
    try await withMemcached { servers in
      let down = try ListeningSocket.refusing()
      defer { down.close() }
      var configuration = MemcachedConfiguration(servers: [servers[0].server, down.server])
      configuration.keyPrefix = uniqueKeyPrefix()
      let client = try MemcachedClient(configuration: configuration)
      let results = client.ping()
      #expect((try? results[0].result.get()) != nil)
      guard case .failure(let error) = results[1].result else {
        Issue.record("the dead server answered")
        return
      }
      #expect(error.isConnectionRefused, "\(error)")
    }
  }
}
