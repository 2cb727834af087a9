import Foundation
import Memcached
import MemcachedTestSupport
import Testing

@testable import MCDUtils

/// Nothing stored can crash the process: random session records (well-formed MessagePack with
/// hostile numbers and wrong types) and random bytes, read through every public read path, give
/// values or typed errors.
///
/// A run does `MCDUTILS_FUZZ_ITERATIONS` items (default 2,000, a few seconds); set it higher for
/// a long run, as the README says.
@Suite struct StoredDataFuzzTests {
  private static let iterations =
    ProcessInfo.processInfo.environment["MCDUTILS_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 2_000

  /// A number or a value of the wrong type, for a record's fields.
  private static func hostileField(_ random: inout some RandomNumberGenerator) -> SessionValue {
    let choices: [SessionValue] = [
      .double(1e300), .double(-1e300), .double(.nan), .double(.infinity),
      .double(-.infinity), .double(.greatestFiniteMagnitude), .double(-0.0), .double(1.5),
      .int(.max), .int(.min), .int(-1), .int(0), .int(Int64.max - 1), .int(1_764_236_400),
      .string("1764236400"), .bool(true), .nil, .bytes([0xFF]), .array([.int(1)]),
      .map(["x": 1]),
    ]
    return choices.randomElement(using: &random)!
  }

  /// A random value tree of limited depth.
  private static func tree(_ depth: Int, _ random: inout some RandomNumberGenerator)
    -> SessionValue
  {
    switch Int.random(in: 0..<(depth > 2 ? 6 : 8), using: &random) {
    case 0: return hostileField(&random)
    case 1: return .string(String(repeating: "s", count: Int.random(in: 0...40, using: &random)))
    case 2: return .int(Int64.random(in: .min ... .max, using: &random))
    case 3: return .double(Double(bitPattern: UInt64.random(in: 0 ... .max, using: &random)))
    case 4:
      return .bytes(
        (0..<Int.random(in: 0...8, using: &random)).map { _ in
          UInt8.random(in: 0...255, using: &random)
        })
    case 5: return .nil
    case 6:
      return .array(
        (0..<Int.random(in: 0...3, using: &random)).map { _ in tree(depth + 1, &random) })
    default:
      var map: [String: SessionValue] = [:]
      for index in 0..<Int.random(in: 0...4, using: &random) {
        map["k\(index)"] = tree(depth + 1, &random)
      }
      return .map(map)
    }
  }

  /// A session record with each field right, missing, or hostile.
  private static func record(_ random: inout some RandomNumberGenerator) -> SessionValue {
    var map: [String: SessionValue] = [:]
    let right: [String: SessionValue] = [
      "v": [1, 2].randomElement(using: &random)!, "e": 0, "n": 3,
      "created": .double(1_764_236_400), "accessed": .double(Date().timeIntervalSince1970),
      "data": ["cart": ["book"]],
    ]
    for (field, good) in right {
      switch Int.random(in: 0..<4, using: &random) {
      case 0: continue
      case 1: map[field] = hostileField(&random)
      case 2: map[field] = tree(0, &random)
      default: map[field] = good
      }
    }
    for field in ["ended", "expires", "ttl"] where Bool.random(using: &random) {
      map[field] = hostileField(&random)
    }
    return Bool.random(using: &random) ? .map(map) : tree(0, &random)
  }

  /// Bytes under a key: a record in our format, a random tree in it, truncated or flipped
  /// bytes of either, or noise with random flags.
  private static func item(_ random: inout some RandomNumberGenerator) throws -> (
    [UInt8], UInt32
  ) {
    let value = Bool.random(using: &random) ? record(&random) : tree(0, &random)
    var (bytes, flags) = try ValueFormat.encode(value, compressionThreshold: 64)
    switch Int.random(in: 0..<6, using: &random) {
    case 0: bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &random)))
    case 1:
      if !bytes.isEmpty {
        bytes[Int.random(in: 0..<bytes.count, using: &random)] ^= UInt8.random(
          in: 1...255, using: &random)
      }
    case 2:
      bytes = (0..<Int.random(in: 0...64, using: &random)).map { _ in
        UInt8.random(in: 0...255, using: &random)
      }
      flags = Bool.random(using: &random) ? flags : UInt32.random(in: 0 ... .max, using: &random)
    default: break
    }
    return (bytes, flags)
  }

  /// Every public read path over one key; anything thrown must be a `MemCacheError`.
  private static func readEverything(_ key: String, _ store: InProcessStore) async -> [String] {
    let proxy = MemCacheProxy(store: store)
    let container = MemCacheSessionDataContainer(
      proxy: proxy, resolution: .zero, conflictPolicy: .merge)
    let sessions = SessionStore(proxy: proxy, slidingRefresh: .zero)
    let cache = MemCacheZCache(store: store)
    let page = CacheablePath([key])
    var untyped: [String] = []
    func run(_ name: String, _ body: () async throws -> Void) async {
      do { try await body() } catch is MemCacheError {} catch {
        untyped.append("\(name): \(error)")
      }
    }
    await run("proxy.get") { _ = try await proxy.get(key, as: SessionValue.self) }
    await run("proxy.getMulti") { _ = try await proxy.getMulti([key], as: [String: Int].self) }
    await run("proxy.getWithCAS") { _ = try await proxy.getWithCAS(key, as: String.self) }
    await run("container.get") {
      try await withTransaction { _ in _ = try await container.get(key)?.contents }
    }
    await run("container.hasKey") { _ = try await container.hasKey(key) }
    await run("container.newOrExisting") {
      try await withTransaction { _ in try await container.newOrExisting(key)["x"] = 1 }
    }
    await run("sessions.get") {
      _ = try await sessions.getWithTimeToLive(key, as: SessionValue.self)
    }
    await run("sessions.update") {
      _ = try await sessions.update(key, as: SessionValue.self) { _ in }
    }
    await run("sessions.set") { try await sessions.set(key, 1) }
    _ = await cache.get(SessionValue.self, for: page)
    await run("cache.getOrCompute") {
      _ = try await cache.getOrCompute(String.self, for: page) { "computed" }
    }
    return untyped
  }

  @Test func randomRecordsAndBytesGiveValuesOrTypedErrorsOnEveryReadPath() async throws {
    var random = SystemRandomNumberGenerator()
    let store = InProcessStore()
    var untyped: [String] = []
    for index in 0..<Self.iterations {
      let key = "fuzz\(index % 64)"
      let (bytes, flags) = try Self.item(&random)
      try await store.set(key, value: bytes, flags: flags)
      // The page cache reads its entry and the object's generation counter: fill both.
      let cache = MemCacheZCache(store: store)
      let keys = cache.keys(for: CacheablePath([key]))
      try await store.set(keys.entry, value: bytes, flags: flags)
      if Bool.random(using: &random) {
        try await store.set(keys.generation, value: Array(String(UInt64.random(in: 0...9)).utf8))
      }
      untyped += await Self.readEverything(key, store)
    }
    #expect(untyped.isEmpty, "\(untyped.prefix(5))")
  }

  @Test func hostileSessionsOverMemcachedGiveTypedErrors() async throws {
    try await withMemcached { processes in
      let pool = try makePool(processes.map(\.server), prefix: uniqueKeyPrefix())
      let container = MemCacheSessionDataContainer(proxy: MemCacheProxy(store: pool))
      var random = SystemRandomNumberGenerator()
      for index in 0..<200 {
        let (bytes, flags) = try Self.item(&random)
        try await pool.set("h\(index)", value: bytes, flags: flags)
        do {
          _ = try await container.get("h\(index)")?.contents
        } catch let error as MemCacheError {
          #expect(!error.isUnavailable)
        }
      }
    }
  }
}
