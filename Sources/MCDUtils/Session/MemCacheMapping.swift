import Foundation
import Memcached
import Synchronization

/// One user's session: a dictionary of ``SessionValue``s stored as one memcached item under the
/// browser id. The original's `MemCacheMapping`.
///
/// Get one from ``MemCacheSessionDataContainer/get(_:)`` or
/// ``MemCacheSessionDataContainer/newOrExisting(_:)``. Reading and changing it happens in memory;
/// memcached is only used when the session is loaded and when its transaction commits.
///
/// **Transactions.** The first change joins ``Transaction/current``. At commit the session is
/// written, in the vote phase after every other data manager has voted (memcached cannot
/// prepare a write), and only if its encoded entries changed: a request that only reads writes
/// nothing. An abort drops the changes; rolling back a savepoint restores the entries as they
/// were at the savepoint. The write is a CAS write, and another request's write in between is
/// resolved by the container's ``MemCacheSessionDataContainer/ConflictPolicy``. A vote that
/// fails (server unreachable, session too large) throws ``MemCacheError`` and the transaction
/// aborts with nothing written.
///
/// Without a current transaction changes stay in memory until ``save()``.
///
/// ```swift
/// try await withTransaction { _ in
///   let session = try await container.newOrExisting(browserId)
///   session["user_id"] = 4711
///   try session.set(cart, forKey: "cart")
/// }
/// ```
///
/// The session is `Sendable`: its state sits behind a lock, so several tasks may use it, though a
/// session normally belongs to one request.
public final class MemCacheMapping: Sendable {
  struct State: Sendable {
    /// The entries as the request sees them.
    var data: [String: SessionValue]
    /// The entries as stored when the session was loaded or last written: the changes to write
    /// are the difference between `data` and this.
    var baseline: [String: SessionValue]
    /// The CAS value of the stored item the baseline came from.
    var cas: UInt64?
    /// Created in this transaction and not stored yet: written with `add`.
    var isNew: Bool
    /// Written by this mapping since it was loaded, so `cas` is unknown.
    var needsReload = false
    var created: Date
    var accessed: Date
    /// The transaction this mapping joined, if any.
    var joined: Transaction?
    var invalidated = false
  }

  /// The browser id the session is stored under (after the configuration's key prefix): the
  /// original's `getContainerKey()`.
  public let containerKey: String
  let proxy: MemCacheProxy
  let settings: MemCacheSessionDataContainer.Settings
  let state: Mutex<State>

  init(
    key: String, proxy: MemCacheProxy, settings: MemCacheSessionDataContainer.Settings,
    record: SessionRecord, cas: UInt64?
  ) {
    self.containerKey = key
    self.proxy = proxy
    self.settings = settings
    self.state = Mutex(
      State(
        data: record.data, baseline: record.data, cas: cas, isNew: cas == nil,
        created: record.created, accessed: record.accessed))
  }

  // MARK: Dictionary API

  /// The value for `key`, or `nil`; assigning `nil` deletes the key. Assigning joins the
  /// current transaction.
  public subscript(key: String) -> SessionValue? {
    get { state.withLock { $0.data[key] } }
    set { change { $0.data[key] = newValue } }
  }

  /// The keys, sorted.
  public var keys: [String] { state.withLock { $0.data.keys.sorted() } }

  /// The values, in the order of ``keys``.
  public var values: [SessionValue] {
    state.withLock { state in state.data.keys.sorted().compactMap { state.data[$0] } }
  }

  /// A copy of every entry.
  public var contents: [String: SessionValue] { state.withLock { $0.data } }

  /// How many entries the session has.
  public var count: Int { state.withLock { $0.data.count } }

  /// Whether the session has no entries.
  public var isEmpty: Bool { count == 0 }

  /// Whether `key` has a value: the original's `has_key` (and `__contains__`).
  public func contains(_ key: String) -> Bool {
    state.withLock { $0.data[key] != nil }
  }

  /// The value for `key`, or `defaultValue`: the original's `get(key, default)`.
  public func get(_ key: String, default defaultValue: SessionValue? = nil) -> SessionValue? {
    self[key] ?? defaultValue
  }

  /// Stores `value` under `key`: the original's `set` (and `__setitem__`).
  public func set(_ key: String, _ value: SessionValue) {
    self[key] = value
  }

  /// Removes `key` and returns its value: the original's `delete` (and `__delitem__`).
  @discardableResult
  public func delete(_ key: String) -> SessionValue? {
    change { $0.data.removeValue(forKey: key) }
  }

  /// Removes every entry: the original's `clear`.
  public func removeAll() {
    change { $0.data.removeAll() }
  }

  /// Stores any `Encodable` value under `key`, through ``SessionValueEncoder``.
  ///
  /// - Throws: ``MemCacheError/encodingFailed(_:)`` when the value cannot be encoded.
  public func set(_ value: some Encodable, forKey key: String) throws(MemCacheError) {
    let encoded: SessionValue
    do {
      encoded = try SessionValueEncoder().encode(value)
    } catch {
      throw .encodingFailed(error)
    }
    self[key] = encoded
  }

  /// The value under `key` decoded as `type`, or `nil` when the key is absent.
  ///
  /// - Throws: ``MemCacheError/decodingFailed(_:)`` when the stored value is not a `T`.
  public func get<T: Decodable>(_ type: T.Type, forKey key: String) throws(MemCacheError) -> T? {
    guard let value = self[key] else { return nil }
    do {
      return try SessionValueDecoder().decode(type, from: value)
    } catch {
      throw .decodingFailed(error)
    }
  }

  // MARK: Times

  /// When the session was created.
  public var created: Date { state.withLock { $0.created } }

  /// When the session was last written or refreshed, to the container's resolution window:
  /// a read-only access updates it at most once per window.
  public var lastAccessed: Date { state.withLock { $0.accessed } }

  // MARK: Changes

  /// Applies `body` to the state and joins the current transaction.
  @discardableResult
  private func change<R>(_ body: (inout State) -> R) -> R {
    let current = Transaction.current
    let (result, mustJoin) = state.withLock { state in
      let result = body(&state)
      guard let current, state.joined !== current else { return (result, false) }
      state.joined = current
      return (result, true)
    }
    if mustJoin, let current { joinOrForget(current) }
    return result
  }

  /// Joins `transaction`; a transaction that is committing or has ended refuses, and then the
  /// changes wait for the next transaction or for ``save()``.
  func joinOrForget(_ transaction: Transaction) {
    do {
      try transaction.join(self)
    } catch {
      state.withLock { if $0.joined === transaction { $0.joined = nil } }
    }
  }

  /// Deletes the session from memcached and empties it: the original's `invalidate()`. Later
  /// changes to this mapping are not written.
  ///
  /// - Throws: ``MemCacheError/storeFailed(_:)``.
  public func invalidate() throws(MemCacheError) {
    markInvalidated()
    try proxy.delete(containerKey)
  }

  /// Deletes the session from memcached asynchronously.
  ///
  /// - Throws: ``MemCacheError/storeFailed(_:)``.
  public func invalidate() async throws(MemCacheError) {
    markInvalidated()
    try await proxy.delete(containerKey)
  }

  private func markInvalidated() {
    state.withLock { state in
      state.invalidated = true
      state.data.removeAll()
      state.baseline.removeAll()
    }
  }

  /// Whether ``invalidate()`` was called.
  public var isInvalidated: Bool { state.withLock { $0.invalidated } }

  /// Writes the changes now, for code that runs without a transaction; inside one, the commit
  /// writes them. Does nothing when nothing changed.
  ///
  /// - Throws: what a failed vote throws: ``MemCacheError/storeFailed(_:)``,
  ///   ``MemCacheError/sessionTooLarge(size:maximum:)``, ``MemCacheError/conflict(attempts:)``.
  public func save() throws(MemCacheError) {
    do {
      try writeBack(using: proxy.store, in: nil)
    } catch {
      throw MemCacheError.wrapping(error)
    }
  }

  /// Writes the changes now asynchronously.
  ///
  /// - Throws: as ``save()``.
  public func save() async throws(MemCacheError) {
    try await proxy.run { [self] store in try writeBack(using: store, in: nil) }
  }
}

extension MemCacheMapping: Sequence {
  /// Iterates over a snapshot of the entries as `(key, value)` pairs, sorted by key.
  public func makeIterator() -> IndexingIterator<[(key: String, value: SessionValue)]> {
    state.withLock { $0.data.sorted { $0.key < $1.key } }.makeIterator()
  }
}

extension MemCacheMapping: CustomStringConvertible {
  /// The words that mark a key whose value ``description`` hides, matched in any case: the
  /// original's `passw`, `pwd`, `secret`, `token`, `cred`.
  public static let secretKeyMarkers = ["passw", "pwd", "secret", "token", "cred"]

  /// Whether the value of `key` is hidden in printed forms.
  public static func isSecret(key: String) -> Bool {
    let lowered = key.lowercased()
    return secretKeyMarkers.contains { lowered.contains($0) }
  }

  /// The entries with every secret value replaced by `"***"`, for printing.
  public var redactedContents: [String: SessionValue] {
    var entries = contents
    for key in entries.keys where Self.isSecret(key: key) { entries[key] = "***" }
    return entries
  }

  /// The entries, sorted, with the values of keys containing `passw`, `pwd`, `secret`,
  /// `token` or `cred` (in any case) hidden. The browser id is left out.
  public var description: String {
    let entries = redactedContents.sorted { $0.key < $1.key }
      .map { "\($0.key.debugDescription): \($0.value)" }
    return "MemCacheMapping([\(entries.joined(separator: ", "))])"
  }
}
