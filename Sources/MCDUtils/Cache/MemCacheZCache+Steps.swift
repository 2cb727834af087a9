import Foundation
import Memcached

/// The steps of every operation, run on the connection the blocking or the async API borrowed.
extension MemCacheZCache {
  /// What a lookup found: the usable value (maybe stale), the object's current generation and
  /// the state of the entry's lease.
  struct Lookup<Value> {
    var value: Value?
    var isStale = false
    var generation: UInt64?
    var lease = Lease.free
  }

  /// The state of an entry's lease, from the item stored under its lease key.
  enum Lease: Equatable {
    /// Nobody computes the entry.
    case free
    /// Another caller computes the entry: waiting for its value is cheaper than computing.
    case computing
    /// The last caller that computed the entry could not store it: waiting is pointless, so
    /// every caller computes until the marker expires or a value is stored.
    case storeFailed

    /// The lease value of a caller that computes.
    static let computingValue = Array("lease".utf8)
    /// The lease value left by a caller whose store failed.
    static let storeFailedValue = Array("store-failed".utf8)

    init(_ item: MemcachedItem?) {
      guard let item else {
        self = .free
        return
      }
      self = item.value == Self.storeFailedValue ? .storeFailed : .computing
    }
  }

  /// What `getOrCompute` does next.
  enum Step<Value> {
    case done(Value)
    /// Compute and store under `generation` (`nil`: the current one); `leased`: release after.
    case compute(generation: UInt64?, leased: Bool)
    /// Another caller computes: look again after the poll interval.
    case wait
  }

  /// Fetches an entry with its object's generation (and the lease) in one multi-get.
  func lookup<Value: Decodable>(
    _ type: Value.Type, _ keys: Keys, on store: any MemcachedOperations, withLease: Bool
  ) throws -> Lookup<Value> {
    var wanted = [keys.entry, keys.generation]
    if withLease { wanted.append(keys.lease) }
    let items = try store.getMulti(wanted)
    var found = Lookup<Value>()
    if withLease { found.lease = Lease(items[keys.lease]) }
    found.generation = items[keys.generation].flatMap { Self.parseGeneration($0.value) }
    guard let generation = found.generation else { return found }
    shared.remember(generation, for: keys.generation, lifetime: tuning.generationMemoLifetime)
    guard let item = items[keys.entry] else { return found }
    let entry: StoredCacheEntry<Value>
    do {
      entry = try ValueFormat.decode(
        StoredCacheEntry<Value>.self, from: item.value, flags: item.flags, sealing: sealing,
        key: self.store.prefixedKey(keys.entry))
    } catch {
      logger.debug(
        "unreadable cache entry treated as a miss",
        metadata: ["key": "\(keys.aggregate)", "error": "\(error)"])
      return found
    }
    guard entry.generation == generation else { return found }
    if let modified = keys.modificationTime, entry.writtenAt < modified { return found }
    if let maxAge = entry.maxAge {
      let age = Date().timeIntervalSince1970 - entry.writtenAt
      if age >= maxAge {
        guard age < maxAge + tuning.staleWindow.seconds else { return found }
        found.isStale = true
      }
    }
    found.value = entry.value
    return found
  }

  /// Counts a `get`'s hit or miss and returns its value.
  func countedGet<Value>(_ found: Lookup<Value>?) -> Value? {
    let value = found.flatMap { $0.isStale ? nil : $0.value }
    shared.record(value == nil ? .miss : .hit)
    return value
  }

  /// One look of `getOrCompute`: a fresh value, the lease to compute, the stale copy, or wait.
  func step<Value: Decodable>(
    _ type: Value.Type, _ keys: Keys, deadlinePassed: Bool, on store: any MemcachedOperations
  ) throws -> Step<Value> {
    let found = try lookup(Value.self, keys, on: store, withLease: true)
    if let value = found.value, !found.isStale {
      shared.record(.hit)
      return .done(value)
    }
    if found.lease == .free,
      try store.add(
        keys.lease, value: Lease.computingValue, flags: 0,
        expiration: .after(tuning.leaseDuration))
    {
      // Without a generation, one is created before computing: a value computed while an
      // invalidation creates it would otherwise be stored under the new generation.
      let generation: UInt64
      do {
        generation = try found.generation ?? counter(keys.generation, delta: 0, on: store)
      } catch {
        // Nothing will be stored: the lease would only make the others wait for nothing.
        markStoreFailed(keys, on: store)
        throw error
      }
      shared.record(.miss)
      return .compute(generation: generation, leased: true)
    }
    if let value = found.value {
      shared.record(.staleHit)
      return .done(value)
    }
    guard deadlinePassed || found.lease == .storeFailed else { return .wait }
    let generation = try found.generation ?? counter(keys.generation, delta: 0, on: store)
    shared.record(.miss)
    return .compute(generation: generation, leased: false)
  }

  /// Stores what `getOrCompute` computed and releases its lease; when the value cannot be
  /// stored, the lease is replaced by the "store failed" marker, so that the callers waiting for
  /// the value compute it at once.
  func storeComputed<Value: Encodable>(
    _ value: Value, _ keys: Keys, generation: UInt64?, leased: Bool, maxAge: Duration?,
    on store: any MemcachedOperations
  ) throws {
    do {
      try write(value, keys, generation: generation, maxAge: maxAge, on: store)
    } catch {
      if leased { markStoreFailed(keys, on: store) }
      throw error
    }
    if leased { releaseLease(keys, on: store) }
  }

  /// Replaces a lease by the "store failed" marker, which lasts as long as a lease would have;
  /// when even that fails, the lease is deleted. A failure is logged, not thrown: the store's
  /// failure is what the caller is told.
  func markStoreFailed(_ keys: Keys, on store: any MemcachedOperations) {
    do {
      try store.set(
        keys.lease, value: Lease.storeFailedValue, flags: 0,
        expiration: .after(tuning.leaseDuration))
    } catch {
      logger.debug("cannot mark the cache lease as failed", metadata: ["error": "\(error)"])
      releaseLease(keys, on: store)
    }
  }

  /// Drops a lease; a failure only delays the next computation, so it is logged, not thrown.
  func releaseLease(_ keys: Keys, on store: any MemcachedOperations) {
    do {
      _ = try store.delete(keys.lease)
    } catch {
      logger.debug("cannot release cache lease", metadata: ["error": "\(error)"])
    }
  }

  /// Writes an entry under `generation`, else the one seen recently, else memcached's.
  func write<Value: Encodable>(
    _ value: Value, _ keys: Keys, generation: UInt64?, maxAge: Duration?,
    on store: any MemcachedOperations
  ) throws {
    let generation =
      try generation ?? shared.recentGeneration(for: keys.generation)
      ?? counter(keys.generation, delta: 0, on: store)
    let entry = StoredCacheEntry(
      generation: generation, writtenAt: Date().timeIntervalSince1970,
      maxAge: maxAge.map(\.seconds), value: value)
    let (bytes, flags): ([UInt8], UInt32)
    do {
      (bytes, flags) = try ValueFormat.encode(
        entry, compressionThreshold: tuning.compressionThreshold, sealing: sealing,
        key: self.store.prefixedKey(keys.entry))
    } catch {
      throw MemCacheError.encoding(error)
    }
    let expiration: MemcachedExpiration = maxAge.map { .after($0 + tuning.staleWindow) } ?? .never
    try store.set(keys.entry, value: bytes, flags: flags, expiration: expiration)
    shared.record(.set)
  }

  /// Increments an object's generation, which makes every entry written before a miss.
  func bumpGeneration(_ key: String, on store: any MemcachedOperations) throws {
    _ = try counter(key, delta: 1, on: store)
    shared.record(.invalidation)
  }

  /// Adds `delta` to a generation counter, creating it from the clock when absent, and returns
  /// its value.
  func counter(_ key: String, delta: UInt64, on store: any MemcachedOperations) throws -> UInt64 {
    let value: UInt64
    do {
      guard
        let counted = try store.increment(
          key, by: delta, initial: Self.freshGeneration(), expiration: .never)
      else { throw MemCacheError.generationUnavailable }
      value = counted
    } catch let error as MemcachedError where error.returnCode == .clientError {
      // memcached refuses to count an item that is not a decimal number. Such an item (another
      // program's) already makes every entry of the object a miss, so it is replaced.
      guard let item = try store.get(key), Self.parseGeneration(item.value) == nil else {
        throw error
      }
      value = Self.freshGeneration()
      try store.set(key, value: Array(String(value).utf8), flags: 0, expiration: .never)
    }
    shared.remember(value, for: key, lifetime: tuning.generationMemoLifetime)
    return value
  }

  /// A new generation: the wall clock in microseconds.
  static func freshGeneration() -> UInt64 {
    UInt64(max(0, Date().timeIntervalSince1970 * 1_000_000))
  }

  /// A counter's decimal text (memcached may pad it with spaces), or `nil` for anything else.
  static func parseGeneration(_ bytes: [UInt8]) -> UInt64? {
    guard bytes.count <= 32 else { return nil }
    return UInt64(String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces))
  }
}

extension MemCacheZCache.Step: Sendable where Value: Sendable {}

extension MemCacheZCache.Lookup: Sendable where Value: Sendable {}
