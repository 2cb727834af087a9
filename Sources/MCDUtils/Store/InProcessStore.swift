import Dispatch
import Foundation
import Memcached
import Synchronization

/// A memcached stand-in that keeps items in this process: the original's `FauxClient` (see
/// "Stores" in <doc:ProxyAndReadCache>).
public final class InProcessStore: MemCacheStore, MemcachedOperations {
  private struct Entry {
    var item: MemcachedItem
    var expires: ContinuousClock.Instant?
  }

  private struct State {
    var entries: [String: Entry] = [:]
    var nextCAS: UInt64 = 1
    /// When a delayed flush takes effect: items stored before it are gone from then on.
    var flushAt: (at: ContinuousClock.Instant, before: UInt64)?
  }

  private let state = Mutex(State())
  private let clock = ContinuousClock()
  /// The operations called and the expirations set, for tests that count round trips.
  let journal = Mutex(Journal())

  struct Journal {
    var counts: [String: Int] = [:]
    var expirations: [MemcachedExpiration] = []
  }

  private func note(_ operation: String, _ expiration: MemcachedExpiration? = nil) {
    journal.withLock { journal in
      journal.counts[operation, default: 0] += 1
      if let expiration { journal.expirations.append(expiration) }
    }
  }
  /// The largest value stored; a larger one throws `MemcachedReturnCode.e2big`.
  public let maximumValueSize: Int

  /// An empty store.
  public init(maximumValueSize: Int = 1_048_000) {
    self.maximumValueSize = maximumValueSize
  }

  /// `in-process`.
  public var storeDescription: String { "in-process" }

  /// Always `false`: items live only as long as this process.
  public var isPersistent: Bool { false }

  /// Empty: keys are stored as given.
  public var keyPrefix: String { "" }

  /// 0: there is one copy of everything, in this process.
  public var replicas: Int { 0 }

  /// How many unexpired items the store holds.
  public var count: Int {
    let now = clock.now
    return state.withLock { state in
      state.entries.values.count { entry in entry.expires.map { $0 > now } ?? true }
    }
  }

  private func live(_ state: inout State, _ key: String) -> Entry? {
    if let flush = state.flushAt, flush.at <= clock.now {
      state.entries = state.entries.filter { $0.value.item.cas >= flush.before }
      state.flushAt = nil
    }
    guard let entry = state.entries[key] else { return nil }
    if let expires = entry.expires, expires <= clock.now {
      state.entries[key] = nil
      return nil
    }
    return entry
  }

  private func deadline(_ expiration: MemcachedExpiration) -> ContinuousClock.Instant?? {
    // nil: never; .some(nil) cannot happen; the outer optional says "already expired".
    let seconds = expiration.secondsFromNow
    if seconds == 0 { return .some(nil) }
    if seconds < 0 { return nil }
    return .some(clock.now.advanced(by: .seconds(seconds)))
  }

  private func check(_ key: String, _ value: [UInt8], _ operation: String) throws {
    try MemcachedKey.validate(key)
    guard value.count <= maximumValueSize else {
      throw MemcachedError.itemTooLarge(
        size: value.count, maximum: maximumValueSize, operation: operation)
    }
  }

  private func write(
    _ state: inout State, _ key: String, _ value: [UInt8], _ flags: UInt32,
    _ expiration: MemcachedExpiration
  ) {
    guard let expires = deadline(expiration) else {
      state.entries[key] = nil
      return
    }
    state.entries[key] = Entry(
      item: MemcachedItem(value: value, flags: flags, cas: state.nextCAS), expires: expires)
    state.nextCAS += 1
  }

  /// Reads one item.
  public func get(_ key: String) throws -> MemcachedItem? {
    note("get")
    try MemcachedKey.validate(key)
    return state.withLock { live(&$0, key)?.item }
  }

  /// Reads several items; returns the hits.
  public func getMulti(_ keys: [String]) throws -> [String: MemcachedItem] {
    note("getMulti")
    for key in keys { try MemcachedKey.validate(key) }
    return state.withLock { state in
      var found: [String: MemcachedItem] = [:]
      for key in keys {
        if let entry = live(&state, key) { found[key] = entry.item }
      }
      return found
    }
  }

  /// Whether an item exists.
  public func exists(_ key: String) throws -> Bool {
    note("exists")
    try MemcachedKey.validate(key)
    return state.withLock { live(&$0, key) != nil }
  }

  /// Stores an item.
  public func set(
    _ key: String, value: [UInt8], flags: UInt32 = 0,
    expiration: MemcachedExpiration = .never
  ) throws {
    note("set", expiration)
    try check(key, value, "set")
    state.withLock { write(&$0, key, value, flags, expiration) }
  }

  /// Stores an item if the key is absent.
  public func add(
    _ key: String, value: [UInt8], flags: UInt32 = 0,
    expiration: MemcachedExpiration = .never
  ) throws -> Bool {
    note("add", expiration)
    try check(key, value, "add")
    return state.withLock { state in
      if live(&state, key) != nil { return false }
      write(&state, key, value, flags, expiration)
      return true
    }
  }

  /// Stores an item if the key exists.
  public func replace(
    _ key: String, value: [UInt8], flags: UInt32 = 0,
    expiration: MemcachedExpiration = .never
  ) throws -> Bool {
    note("replace", expiration)
    try check(key, value, "replace")
    return state.withLock { state in
      if live(&state, key) == nil { return false }
      write(&state, key, value, flags, expiration)
      return true
    }
  }

  /// Appends bytes to an existing item.
  public func append(_ key: String, value: [UInt8]) throws -> Bool {
    try concatenate(key, value, atEnd: true)
  }

  /// Prepends bytes to an existing item.
  public func prepend(_ key: String, value: [UInt8]) throws -> Bool {
    try concatenate(key, value, atEnd: false)
  }

  private func concatenate(_ key: String, _ value: [UInt8], atEnd: Bool) throws -> Bool {
    note(atEnd ? "append" : "prepend")
    try check(key, value, atEnd ? "append" : "prepend")
    return try state.withLock { state in
      guard var entry = live(&state, key) else { return false }
      let joined = atEnd ? entry.item.value + value : value + entry.item.value
      guard joined.count <= maximumValueSize else {
        throw MemcachedError.itemTooLarge(
          size: joined.count, maximum: maximumValueSize, operation: "append")
      }
      entry.item.value = joined
      entry.item.cas = state.nextCAS
      state.nextCAS += 1
      state.entries[key] = entry
      return true
    }
  }

  /// Compare-and-swap.
  public func cas(
    _ key: String, value: [UInt8], cas: UInt64, flags: UInt32 = 0,
    expiration: MemcachedExpiration = .never
  ) throws -> MemcachedCASResult {
    note("cas", expiration)
    try check(key, value, "cas")
    return state.withLock { state in
      guard let entry = live(&state, key) else { return .notFound }
      guard entry.item.cas == cas else { return .conflict }
      write(&state, key, value, flags, expiration)
      return .stored
    }
  }

  /// Deletes an item.
  public func delete(_ key: String) throws -> Bool {
    note("delete")
    try MemcachedKey.validate(key)
    return state.withLock { state in
      guard live(&state, key) != nil else { return false }
      state.entries[key] = nil
      return true
    }
  }

  /// Adds to a counter stored as decimal text, as memcached does.
  public func increment(
    _ key: String, by delta: UInt64 = 1, initial: UInt64? = nil,
    expiration: MemcachedExpiration = .never
  ) throws -> UInt64? {
    try counter(key, "increment", initial, expiration) { $0 &+ delta }
  }

  /// Subtracts from a counter stored as decimal text, stopping at 0, as memcached does.
  public func decrement(
    _ key: String, by delta: UInt64 = 1, initial: UInt64? = nil,
    expiration: MemcachedExpiration = .never
  ) throws -> UInt64? {
    try counter(key, "decrement", initial, expiration) { $0 > delta ? $0 - delta : 0 }
  }

  private func counter(
    _ key: String, _ operation: String, _ initial: UInt64?, _ expiration: MemcachedExpiration,
    _ next: (UInt64) -> UInt64
  ) throws -> UInt64? {
    note(operation, initial == nil ? nil : expiration)
    try MemcachedKey.validate(key)
    return try state.withLock { state -> UInt64? in
      guard let entry = live(&state, key) else {
        guard let initial else { return nil }
        write(&state, key, Array(String(initial).utf8), 0, expiration)
        return initial
      }
      let text = String(decoding: entry.item.value, as: UTF8.self).trimmingCharacters(
        in: .whitespaces)
      guard let current = UInt64(text) else {
        throw MemcachedError.notANumber(operation: operation)
      }
      let value = next(current)
      var updated = entry
      updated.item.value = Array(String(value).utf8)
      updated.item.cas = state.nextCAS
      state.nextCAS += 1
      state.entries[key] = updated
      return value
    }
  }

  /// Sets a new expiration.
  public func touch(_ key: String, expiration: MemcachedExpiration) throws -> Bool {
    note("touch", expiration)
    try MemcachedKey.validate(key)
    return state.withLock { state in
      guard var entry = live(&state, key) else { return false }
      guard let expires = deadline(expiration) else {
        state.entries[key] = nil
        return true
      }
      entry.expires = expires
      state.entries[key] = entry
      return true
    }
  }

  /// Removes every item, now or after `delay`.
  public func flush(after delay: MemcachedExpiration = .never) throws {
    let seconds = delay.secondsFromNow
    state.withLock { state in
      if seconds == 0 {
        state.entries.removeAll()
      } else {
        state.flushAt = (clock.now.advanced(by: .seconds(max(0, seconds))), state.nextCAS)
      }
    }
  }

  /// Empty: there are no servers.
  public func ping() -> [MemcachedPingResult] { [] }

  /// Empty: there are no servers.
  public func stats(_ group: String? = nil) -> [MemcachedServerStats] { [] }

  /// `nil`: there are no servers.
  public func server(forKey key: String) throws -> MemcachedServer? {
    try MemcachedKey.validate(key)
    return nil
  }

  /// 1: everything is in this process.
  public var nodeCount: Int { 1 }

  /// `[0]`: the one copy is here.
  public func nodes(forKey key: String, replicas: Int) throws -> [Int] {
    try MemcachedKey.validate(key)
    return [0]
  }

  /// Runs `body` on this store.
  public func onNode<R>(_ node: Int, _ body: (InProcessStore) throws -> R) rethrows -> R {
    try body(self)
  }

  /// Up: this process is never down to itself.
  public func nodeStatus(_ node: Int) -> MemcachedNodeStatus { MemcachedNodeStatus() }

  /// Runs `body` with this store on the calling thread.
  public func withConnection<R>(_ body: (InProcessStore) throws -> R) throws -> R {
    try body(self)
  }

  /// Runs `body` at once: nothing here blocks on the network.
  public func withConnection<R: Sendable>(
    _ body: @escaping @Sendable (InProcessStore) throws -> R
  ) async throws -> R {
    try body(self)
  }
}
