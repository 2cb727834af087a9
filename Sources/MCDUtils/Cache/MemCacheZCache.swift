import Foundation
import Logging
import Memcached

/// A page/result cache in memcached, shared by every instance of a service: the original's
/// `MemCacheZCache` (Zope's `IZCache`), made race-free.
///
/// Entries are keyed by ``aggregateKey(path:view:request:requestNames:keywords:)``. Each object
/// has a generation counter in memcached; every entry records the generation it was written
/// under, and a lookup fetches the entry and the current generation in one multi-get, so
/// ``invalidate(_:)`` drops every entry of an object (every view, request variation and
/// keyword) with one atomic increment, and an entry written before it is never returned again.
///
/// ```swift
/// let cache = try manager.cache()
/// let page = try await cache.getOrCompute(String.self, for: document, view: "index_html") {
///   try await render(document)
/// }
/// try await cache.invalidate(document)  // after the document changes
/// ```
///
/// Beyond the original: entries older than the object's ``Cacheable/modificationTime`` are
/// misses, entries expire after their maximum age, `getOrCompute` computes a missing entry once however many callers ask at the same moment, entries that
/// cannot be read (another program's bytes, another format version) are misses, and large
/// entries are stored compressed. Make one cache (or one manager) and keep it: the statistics
/// and the generation memo live with it.
public final class MemCacheZCache: Sendable {
  /// Where entries are stored.
  public let store: any MemCacheStore
  /// The request values that vary the key, sorted (the original's `request_names`).
  public let requestNames: [String]
  /// How long an entry stays fresh when `set` is given no maximum age; `nil` for no limit.
  public let defaultMaxAge: Duration?
  /// Stale copies, leases, compression and key length.
  public let tuning: Tuning

  let logger: Logger
  let shared: MemCacheZCacheSharedState
  private let keyPrefixLength: Int

  /// A cache over `store`.
  ///
  /// - Parameters:
  ///   - store: where entries go; a ``MemcachedPool`` to share them between processes.
  ///   - requestNames: the request values that vary the key; they are sorted.
  ///   - defaultMaxAge: how long entries stay fresh unless a `set` says otherwise; `nil` for
  ///     no limit.
  ///   - tuning: stale copies, leases, compression and key length.
  ///   - logger: receives unreadable entries at debug level; silent by default.
  public convenience init(
    store: any MemCacheStore, requestNames: [String] = [],
    defaultMaxAge: Duration? = .seconds(3600),
    tuning: Tuning = Tuning(),
    logger: Logger = Logger(label: "mcdutils.zcache", factory: { _ in SwiftLogNoOpLogHandler() })
  ) {
    self.init(
      store: store, requestNames: requestNames, defaultMaxAge: defaultMaxAge, tuning: tuning,
      logger: logger, shared: MemCacheZCacheSharedState())
  }

  init(
    store: any MemCacheStore, requestNames: [String], defaultMaxAge: Duration?, tuning: Tuning,
    logger: Logger, shared: MemCacheZCacheSharedState
  ) {
    self.store = store
    self.requestNames = requestNames.sorted(by: codePointOrder)
    self.defaultMaxAge = defaultMaxAge
    self.tuning = tuning
    self.logger = logger
    self.shared = shared
    self.keyPrefixLength =
      tuning.keyPrefixLength ?? (store as? MemcachedPool)?.configuration.keyPrefix.utf8.count ?? 0
  }

  // MARK: Keys

  /// The original's aggregate key of an entry, with this cache's request names.
  public func key(
    for object: some Cacheable, view: String = "", request: [String: String] = [:],
    keywords: [String: String] = [:]
  ) -> String {
    aggregateKey(
      path: object.physicalPath, view: view, request: request, requestNames: requestNames,
      keywords: keywords)
  }

  /// The memcached key an entry is stored under: its aggregate key, or, when that is longer
  /// than memcached allows (with the store's key prefix) or holds control characters, a
  /// readable start followed by `#sha256:` and the SHA-256 digest of the whole key.
  public func storageKey(
    for object: some Cacheable, view: String = "", request: [String: String] = [:],
    keywords: [String: String] = [:]
  ) -> String {
    CacheStorageKey.make(
      key(for: object, view: view, request: request, keywords: keywords),
      prefixLength: keyPrefixLength)
  }

  /// The keys one entry involves.
  struct Keys: Sendable {
    /// The aggregate key, for logs.
    var aggregate: String
    /// Where the entry is stored.
    var entry: String
    /// The object's generation counter.
    var generation: String
    /// The lease of the caller computing the entry.
    var lease: String
    /// The object's modification time in seconds since 1970.
    var modificationTime: Double?
  }

  func keys(
    for object: some Cacheable, view: String = "", request: [String: String] = [:],
    keywords: [String: String] = [:]
  ) -> Keys {
    let aggregate = key(for: object, view: view, request: request, keywords: keywords)
    return Keys(
      aggregate: aggregate,
      entry: storage(aggregate),
      generation: generationKey(for: object),
      lease: storage(aggregate + "|#lease"),
      modificationTime: object.modificationTime?.timeIntervalSince1970)
  }

  func generationKey(for object: some Cacheable) -> String {
    storage(object.physicalPath.joined(separator: "/").replacing(" ", with: "_") + "|#generation")
  }

  private func storage(_ key: String) -> String {
    CacheStorageKey.make(key, prefixLength: keyPrefixLength)
  }

  // MARK: Statistics

  /// Hits, misses, stale hits, sets and invalidations so far, shared by every cache of one
  /// manager.
  public var statistics: MemCacheZCacheStatistics {
    shared.statistics.withLock { $0 }
  }

  /// Sets every statistic back to zero.
  public func resetStatistics() {
    shared.statistics.withLock { $0 = MemCacheZCacheStatistics() }
  }

  // MARK: Blocking API

  /// The cached value of an object's rendering, or `nil` on a miss (the original's
  /// `ZCache_get`), in one round trip.
  ///
  /// An entry is a miss when it is absent, was written before the object's last invalidation
  /// or modification time, is older than its maximum age, or cannot be read as `Value` (logged
  /// at debug level). This blocks the calling thread; use the `async` form in async code.
  /// - Throws: ``Memcached/MemcachedError`` when the store fails.
  public func get<Value: Decodable>(
    _ type: Value.Type = Value.self, for object: some Cacheable, view: String = "",
    request: [String: String] = [:], keywords: [String: String] = [:]
  ) throws -> Value? {
    let keys = keys(for: object, view: view, request: request, keywords: keywords)
    return countedGet(try lookup(Value.self, keys, on: store, withLease: false))
  }

  /// The cached value of an object's rendering, or `defaultValue` on a miss.
  /// - Throws: ``Memcached/MemcachedError`` when the store fails.
  public func get<Value: Decodable>(
    for object: some Cacheable, view: String = "", request: [String: String] = [:],
    keywords: [String: String] = [:], default defaultValue: Value
  ) throws -> Value {
    try get(Value.self, for: object, view: view, request: request, keywords: keywords)
      ?? defaultValue
  }

  /// Stores a value for an object's rendering (the original's `ZCache_set`).
  ///
  /// It costs one round trip when a `get` of the same object ran within
  /// ``Tuning/generationMemoLifetime`` (the generation it saw is reused), two otherwise.
  /// - Parameter maxAge: how long the entry stays fresh; `nil` for ``defaultMaxAge``.
  /// - Throws: `EncodingError` for a value that cannot be encoded,
  ///   ``Memcached/MemcachedError`` when the store fails (for example a value above the
  ///   server's item size).
  public func set<Value: Encodable>(
    _ value: Value, for object: some Cacheable, view: String = "",
    request: [String: String] = [:], keywords: [String: String] = [:], maxAge: Duration? = nil
  ) throws {
    let keys = keys(for: object, view: view, request: request, keywords: keywords)
    try write(value, keys, generation: nil, maxAge: maxAge ?? defaultMaxAge, on: store)
  }

  /// Drops every cached entry of an object, every view and every key, in one round trip (the
  /// original's `ZCache_invalidate`).
  ///
  /// Once it returns, no lookup anywhere returns an entry written before it.
  /// - Throws: ``Memcached/MemcachedError`` when the store fails.
  public func invalidate(_ object: some Cacheable) throws {
    try bumpGeneration(generationKey(for: object), on: store)
  }

  /// The cached value of an object's rendering, computing and storing it on a miss, with
  /// stampede protection.
  ///
  /// Of many callers that miss the same entry at once, one takes a short lease (a memcached
  /// `add`) and computes; the others return the stale copy when there is one, or wait for the
  /// value (polling every ``Tuning/pollInterval``, at most ``Tuning/leaseWait`` before
  /// computing it themselves). A computation that throws releases the lease at once, so the
  /// next caller computes without waiting. The value is stored under the generation seen before
  /// computing, so an invalidation during the computation makes it a miss.
  /// - Throws: what `compute` throws, `EncodingError` for a value that cannot be encoded,
  ///   ``Memcached/MemcachedError`` when the store fails.
  public func getOrCompute<Value: Codable>(
    _ type: Value.Type = Value.self, for object: some Cacheable, view: String = "",
    request: [String: String] = [:], keywords: [String: String] = [:], maxAge: Duration? = nil,
    compute: () throws -> Value
  ) throws -> Value {
    let keys = keys(for: object, view: view, request: request, keywords: keywords)
    let maxAge = maxAge ?? defaultMaxAge
    let deadline = ContinuousClock.now.advanced(by: tuning.leaseWait)
    while true {
      let next = try step(
        Value.self, keys, deadlinePassed: ContinuousClock.now >= deadline, on: store)
      switch next {
      case .done(let value):
        return value
      case .compute(let generation, let leased):
        let value: Value
        do {
          value = try compute()
        } catch {
          if leased { releaseLease(keys, on: store) }
          throw error
        }
        try storeComputed(
          value, keys, generation: generation, leased: leased, maxAge: maxAge, on: store)
        return value
      case .wait:
        Thread.sleep(forTimeInterval: Self.seconds(tuning.pollInterval))
      }
    }
  }
}
