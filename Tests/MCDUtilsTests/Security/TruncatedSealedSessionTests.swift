import Crypto
import Memcached
import MemcachedTestSupport
import Testing

@testable import MCDUtils

/// A sealed session cut short in memcached, to any length, is no session, and a new session is
/// written over it: a cut item never locks its user out until it expires.
@Suite struct TruncatedSealedSessionTests {
  /// The lengths a sealed item is cut to: nothing, one byte, the envelope's header, the header
  /// with the key id, nonce and part of the tag, and all but the last byte.
  private static func cuts(of count: Int) -> [Int] {
    [0, 1, ValueFormat.headerSize, ValueFormat.headerSize + 4 + 12 + 8, count - 1]
  }

  /// A sealing container and typed store over one real node, and a raw client that sees the
  /// same keys.
  private struct Fixture {
    let container: MemCacheSessionDataContainer
    let sessions: SessionStore
    let raw: MemcachedClient

    init(_ processes: [MemcachedProcess]) throws {
      var configuration = MemcachedConfiguration(servers: processes.map(\.server))
      configuration.keyPrefix = uniqueKeyPrefix("cut")
      let proxy = MemCacheProxy(
        store: try MemcachedPool(configuration: configuration),
        sealing: try SealingKeyRing(keys: [SymmetricKey(size: .bits256)]))
      container = MemCacheSessionDataContainer(proxy: proxy)
      sessions = SessionStore(proxy: proxy)
      raw = try MemcachedClient(configuration: configuration)
    }

    /// The size of the item under `key`.
    func size(_ key: String) throws -> Int {
      try #require(try raw.get(key), "nothing stored under \(key)").value.count
    }

    // The blocking API, in functions of their own so that the async overloads are not chosen.

    /// The session of `id` through the blocking API.
    func blockingGet(_ id: String) throws -> MemCacheMapping? {
      try container.get(id)
    }

    /// Sets `user` in the session of `id` in a transaction, through the blocking API.
    func blockingSetUser(_ id: String, _ user: String) throws {
      try withTransaction { _ in try container.newOrExisting(id)["user"] = .string(user) }
    }

    /// Creates the session of `id` without a transaction and saves `user` in it, through the
    /// blocking API; returns whether it was empty.
    func blockingSave(_ id: String, _ user: String) throws -> Bool {
      let session = try container.newOrExisting(id)
      let wasEmpty = session.isEmpty
      session["user"] = .string(user)
      try session.save()
      return wasEmpty
    }

    /// Replaces the item under `key` with its first `length` bytes, keeping its flags.
    func cut(_ key: String, to length: Int) throws {
      let item = try #require(try raw.get(key), "nothing stored under \(key)")
      try raw.set(key, value: Array(item.value.prefix(length)), flags: item.flags)
    }
  }

  @Test func aCutContainerSessionIsNoSessionAndANewOneIsWrittenOverIt() async throws {
    try await withMemcached { processes in
      let fixture = try Fixture(processes)
      let container = fixture.container
      try await withTransaction { _ in try await container.newOrExisting("probe")["k"] = "v" }
      let full = try fixture.size("probe")
      for (index, length) in Self.cuts(of: full).enumerated() {
        for blocking in [false, true] {
          let id = "session-\(index)-\(blocking)"
          try await withTransaction { _ in try await container.newOrExisting(id)["user"] = "alice" }
          try fixture.cut(id, to: length)
          #expect(try await container.get(id) == nil, "\(length) bytes")
          #expect(try fixture.blockingGet(id) == nil, "\(length) bytes")
          #expect(try await container.hasKey(id) == false, "\(length) bytes")
          if blocking {
            try fixture.blockingSetUser(id, "bob")
          } else {
            try await withTransaction { _ in try await container.newOrExisting(id)["user"] = "bob" }
          }
          #expect(try await container.get(id)?["user"] == "bob", "\(length) bytes")
          #expect(try fixture.blockingGet(id)?["user"] == "bob", "\(length) bytes")
        }
      }
    }
  }

  @Test func aCutContainerSessionIsReplacedWithoutATransaction() async throws {
    try await withMemcached { processes in
      let fixture = try Fixture(processes)
      let container = fixture.container
      _ = try await container.newOrExisting("probe")
      let full = try fixture.size("probe")
      for (index, length) in Self.cuts(of: full).enumerated() {
        let id = "saved-\(index)"
        let first = try await container.newOrExisting(id)
        first["user"] = "alice"
        try await first.save()
        try fixture.cut(id, to: length)
        #expect(try fixture.blockingSave(id, "bob"), "\(length) bytes")
        #expect(try await container.get(id)?["user"] == "bob", "\(length) bytes")
      }
    }
  }

  @Test func aCutTypedSessionIsNoSessionAndCreateWritesOverIt() async throws {
    try await withMemcached { processes in
      let fixture = try Fixture(processes)
      let sessions = fixture.sessions
      #expect(try await sessions.create("probe", "v"))
      let full = try fixture.size("probe")
      for (index, length) in Self.cuts(of: full).enumerated() {
        let id = "typed-\(index)"
        #expect(try await sessions.create(id, "alice"))
        try fixture.cut(id, to: length)
        #expect(try await sessions.get(id, as: String.self) == nil, "\(length) bytes")
        #expect(try await sessions.create(id, "bob"), "\(length) bytes")
        #expect(try await sessions.get(id, as: String.self) == "bob", "\(length) bytes")
      }
    }
  }
}
