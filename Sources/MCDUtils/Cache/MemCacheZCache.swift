import Foundation
import Logging
import Memcached

/// A page/result cache in memcached, shared by every instance of a service, race-free and
/// failing open (see <doc:PageCache>).
public final class MemCacheZCache: Sendable {
  /// Where entries are stored.
  public let store: any MemCacheStore
  /// The request values that vary the key, sorted (the original's `request_names`).
  public let requestNames: [String]
  /// How long an entry stays fresh when `set` is given no maximum age; `nil` for no limit.
  public let defaultMaxAge: Duration?
  /// Stale copies, leases and compression.
  public let tuning: Tuning
  /// The keys entries are sealed with, or `nil` (see ``SealingKeyRing``).
  public let sealing: SealingKeyRing?

  let logger: Logger
  let shared: MemCacheZCacheSharedState

  /// A cache over `store`, with statistics of its own.
  public convenience init(
    store: any MemCacheStore, requestNames: [String] = [],
    defaultMaxAge: Duration? = .seconds(3600), tuning: Tuning = Tuning(),
    sealing: SealingKeyRing? = nil, logger: Logger = .disabled
  ) {
    self.init(
      store: store, requestNames: requestNames, defaultMaxAge: defaultMaxAge, tuning: tuning,
      sealing: sealing, logger: logger, shared: MemCacheZCacheSharedState(name: ""))
  }

  init(
    store: any MemCacheStore, requestNames: [String], defaultMaxAge: Duration?, tuning: Tuning,
    sealing: SealingKeyRing?, logger: Logger, shared: MemCacheZCacheSharedState
  ) {
    self.store = store
    self.sealing = sealing
    self.requestNames = requestNames.sorted(by: codePointOrder)
    self.defaultMaxAge = defaultMaxAge
    self.tuning = tuning
    self.logger = logger
    self.shared = shared
  }

  // MARK: Keys

  /// The original's aggregate key of an entry: its display form, for logs.
  public func key(
    for object: some Cacheable, view: String = "", request: [String: String] = [:],
    keywords: [String: String] = [:]
  ) -> String {
    aggregateKey(
      path: object.physicalPath, view: view, request: request, requestNames: requestNames,
      keywords: keywords)
  }

  /// The memcached key an entry is stored under: ``key(for:view:request:keywords:)`` escaped,
  /// with a digest when too long.
  public func storageKey(
    for object: some Cacheable, view: String = "", request: [String: String] = [:],
    keywords: [String: String] = [:]
  ) -> String {
    keys(for: object, view: view, request: request, keywords: keywords).entry
  }

  /// The keys one entry involves (the aggregate one for logs), and the object's modification
  /// time in seconds since 1970.
  struct Keys: Sendable {
    var aggregate: String
    var entry: String
    var generation: String
    var lease: String
    var modificationTime: Double?
  }

  func keys(
    for object: some Cacheable, view: String = "", request: [String: String] = [:],
    keywords: [String: String] = [:]
  ) -> Keys {
    let entry = CacheStorageKey.entry(
      path: object.physicalPath, view: view, request: request, requestNames: requestNames,
      keywords: keywords)
    let prefix = store.keyPrefixLength
    return Keys(
      aggregate: key(for: object, view: view, request: request, keywords: keywords),
      entry: CacheStorageKey.shortened(entry, prefixLength: prefix),
      generation: generationKey(for: object),
      lease: CacheStorageKey.shortened(entry + "|#lease", prefixLength: prefix),
      modificationTime: object.modificationTime?.timeIntervalSince1970)
  }

  func generationKey(for object: some Cacheable) -> String {
    CacheStorageKey.shortened(
      CacheStorageKey.generation(path: object.physicalPath), prefixLength: store.keyPrefixLength)
  }

  // MARK: Statistics

  /// What the cache did so far, shared by every cache of one manager.
  public var statistics: MemCacheZCacheStatistics {
    shared.statistics.withLock { $0 }
  }

  /// Sets every statistic back to zero.
  public func resetStatistics() {
    shared.statistics.withLock { $0 = MemCacheZCacheStatistics() }
  }

  /// The error of the last store call that failed, until the store answers again.
  public var lastStoreError: MemCacheError? {
    shared.lastStoreError.withLock { $0 }
  }

  // MARK: Blocking API

  /// The cached value of an object's rendering, or `nil` on a miss (also when the store
  /// fails); blocks the calling thread.
  public func get<Value: Decodable>(
    _ type: Value.Type = Value.self, for object: some Cacheable, view: String = "",
    request: [String: String] = [:], keywords: [String: String] = [:]
  ) -> Value? {
    let keys = keys(for: object, view: view, request: request, keywords: keywords)
    return countedGet(failingOpen(nil) { try lookup(Value.self, keys, on: $0, withLease: false) })
  }

  /// Stores a value for an object's rendering, fresh for `maxAge` (``defaultMaxAge`` if `nil`).
  /// - Throws: ``MemCacheError`` when the value cannot be encoded or stored.
  public func set<Value: Encodable>(
    _ value: Value, for object: some Cacheable, view: String = "",
    request: [String: String] = [:], keywords: [String: String] = [:], maxAge: Duration? = nil
  ) throws(MemCacheError) {
    let keys = keys(for: object, view: view, request: request, keywords: keywords)
    let maxAge = maxAge ?? defaultMaxAge
    try reporting { try write(value, keys, generation: nil, maxAge: maxAge, on: $0) }
  }

  /// Drops every cached entry of an object, every view and every key, in one round trip.
  /// - Throws: ``MemCacheError`` when the store failed: then nothing was invalidated.
  public func invalidate(_ object: some Cacheable) throws(MemCacheError) {
    let key = generationKey(for: object)
    try reporting { try bumpGeneration(key, on: $0) }
  }

  /// The cached value of an object's rendering, computed and stored on a miss, with stampede
  /// protection.
  /// - Throws: what `compute` throws, or ``MemCacheError`` for a value that cannot be encoded.
  public func getOrCompute<Value: Codable>(
    _ type: Value.Type = Value.self, for object: some Cacheable, view: String = "",
    request: [String: String] = [:], keywords: [String: String] = [:], maxAge: Duration? = nil,
    compute: () throws -> Value
  ) throws -> Value {
    let keys = keys(for: object, view: view, request: request, keywords: keywords)
    let maxAge = maxAge ?? defaultMaxAge
    let deadline = ContinuousClock.now.advanced(by: tuning.leaseWait)
    while true {
      let passed = ContinuousClock.now >= deadline
      let next = failingOpen(Step<Value>.compute(generation: nil, leased: false)) {
        try step(Value.self, keys, deadlinePassed: passed, on: $0)
      }
      switch next {
      case .done(let value):
        return value
      case .compute(let generation, let leased):
        // Without a generation the store failed: a miss, computed without a lease.
        if generation == nil { shared.record(.miss) }
        let value: Value
        do {
          value = try compute()
        } catch {
          if leased { failingOpen(()) { releaseLease(keys, on: $0) } }
          throw error
        }
        // The value is returned even when the store fails or refuses it; a value that cannot
        // be encoded at all is the caller's to know.
        do {
          try reporting {
            try storeComputed(
              value, keys, generation: generation, leased: leased, maxAge: maxAge, on: $0)
          }
        } catch {
          // (A `catch … where` here crashes swift-frontend 6.3.1 with typed throws.)
          guard error.isStoreFailure else { throw error }
        }
        return value
      case .wait:
        shared.record(.wait)
        Thread.sleep(forTimeInterval: tuning.pollInterval.seconds)
      }
    }
  }

  /// Runs a step on a connection; a store failure is counted and logged and gives `fallback`.
  @discardableResult
  func failingOpen<R>(_ fallback: R, _ body: (any MemcachedOperations) throws -> R) -> R {
    do {
      return try reporting(body)
    } catch {
      return fallback
    }
  }

  /// Runs a step on a connection, noting whether the store failed; the error is thrown.
  func reporting<R>(_ body: (any MemcachedOperations) throws -> R) throws(MemCacheError) -> R {
    do {
      let result = try store.withConnection { (connection: any MemcachedOperations) in
        try body(connection)
      }
      shared.noteSuccess(logger: logger)
      return result
    } catch {
      throw noted(error)
    }
  }

  /// Wraps what a step threw and counts it when the store failed.
  func noted(_ error: any Error) -> MemCacheError {
    let wrapped = MemCacheError.wrapping(error)
    switch wrapped {
    case .unavailable, .storeFailed: shared.noteFailure(wrapped, logger: logger)
    default: break
    }
    return wrapped
  }
}
