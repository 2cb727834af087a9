import Foundation
import Memcached
import Synchronization

/// One user's session: a dictionary of ``SessionValue``s stored under the browser id. The
/// original's `MemCacheMapping`. See <doc:SessionsAndTransactions>.
public final class MemCacheMapping: Sendable {
  struct State: Sendable {
    /// The entries as the request sees them.
    var data: [String: SessionValue]
    /// The entries as loaded or last written; the changes to write are `data` minus this.
    var baseline: [String: SessionValue]
    /// What the store held when the session was read; `nil` after a write.
    var copies: SessionCopies?
    var epoch: UInt64
    var version: UInt64
    /// Created by this request and not stored yet.
    var isNew: Bool
    var created: Date
    var accessed: Date
    var joined: Transaction?
    var invalidated = false
    /// The proxy's count of this session's writes in this process when `copies` was read.
    var writesSeen: UInt64 = 0
  }

  /// The browser id the session is stored under: the original's `getContainerKey()`.
  public let containerKey: String
  /// The key the session is stored under: the browser id, or its keyed hash.
  let storageKey: String
  let proxy: MemCacheProxy
  let settings: MemCacheSessionDataContainer.Settings
  let state: Mutex<State>
  /// `~mcdutils:` and the browser id, which sorts the session after ordinary data managers.
  public let sortKey: String

  init(
    key: String, storageKey: String, proxy: MemCacheProxy,
    settings: MemCacheSessionDataContainer.Settings, record: SessionRecord, copies: SessionCopies,
    isNew: Bool
  ) {
    self.containerKey = key
    self.sortKey = "~mcdutils:" + key
    self.storageKey = storageKey
    self.proxy = proxy
    self.settings = settings
    let data = record.data.mapValue ?? [:]
    self.state = Mutex(
      State(
        data: data, baseline: data, copies: copies, epoch: record.epoch, version: record.version,
        isNew: isNew, created: record.created, accessed: record.accessed,
        writesSeen: proxy.sessionWrites.count(storageKey)))
  }

  // MARK: Dictionary API

  /// The value for `key`, or `nil`; assigning `nil` deletes the key.
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
  /// - Throws: ``MemCacheError/nestingTooDeep(limit:)`` or ``MemCacheError/encodingFailed(_:)``.
  public func set(_ value: some Encodable, forKey key: String) throws(MemCacheError) {
    let encoded: SessionValue
    do {
      encoded = try SessionValueEncoder().encode(value)
    } catch {
      throw MemCacheError.encoding(error)
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

  /// When the session was last written or refreshed, to the container's resolution window.
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

  /// Joins `transaction`; when it refuses, the changes wait for the next one or for `save()`.
  func joinOrForget(_ transaction: Transaction) {
    do {
      try transaction.join(self)
    } catch {
      state.withLock { if $0.joined === transaction { $0.joined = nil } }
    }
  }

  /// Ends the session for good and empties it: the original's `invalidate()`.
  ///
  /// - Throws: ``MemCacheError/unavailable(_:)`` or ``MemCacheError/storeFailed(_:)``.
  public func invalidate() throws(MemCacheError) {
    let window = settings.timeout
    try proxy.run { try self.writeTombstone(on: $0, window: window) }
  }

  /// Ends the session for good asynchronously.
  ///
  /// - Throws: as the blocking `invalidate()`.
  public func invalidate() async throws(MemCacheError) {
    let window = settings.timeout
    try await proxy.run { try self.writeTombstone(on: $0, window: window) }
  }

  /// Whether `invalidate()` was called.
  public var isInvalidated: Bool { state.withLock { $0.invalidated } }

  /// Writes the changes now, for code that runs without a transaction.
  ///
  /// - Throws: ``MemCacheError/unavailable(_:)``, ``MemCacheError/valueTooLarge(size:maximum:)``,
  ///   ``MemCacheError/conflict(attempts:)``, ``MemCacheError/sessionEnded``.
  public func save() throws(MemCacheError) {
    guard let plan = writePlan() else { return }
    try writeBackInTurn(plan, in: nil)
  }

  /// Writes the changes now asynchronously.
  ///
  /// - Throws: as `save()`.
  public func save() async throws(MemCacheError) {
    guard let plan = writePlan() else { return }
    try await proxy.commitTurns.withTurn(storageKey) { () async throws(MemCacheError) in
      try await proxy.run { try self.writeBack(plan, on: $0, in: nil) }
    }
  }
}

extension MemCacheMapping: Sequence {
  /// Iterates over a snapshot of the entries as `(key, value)` pairs, sorted by key.
  public func makeIterator() -> IndexingIterator<[(key: String, value: SessionValue)]> {
    state.withLock { $0.data.sorted { $0.key < $1.key } }.makeIterator()
  }
}

extension MemCacheMapping: CustomStringConvertible {
  /// The words, matched in any case, that mark a key whose value ``description`` hides.
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

  /// The entries, sorted, with secret values hidden and without the browser id.
  public var description: String {
    let entries = redactedContents.sorted { $0.key < $1.key }
      .map { "\($0.key.debugDescription): \($0.value)" }
    return "MemCacheMapping([\(entries.joined(separator: ", "))])"
  }
}
