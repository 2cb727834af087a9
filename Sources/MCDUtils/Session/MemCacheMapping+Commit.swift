import Foundation
import Memcached

extension MemCacheMapping: DataManager {
  /// Sorts after ordinary data managers, so that the CAS write in ``tpcVote(_:)`` happens after
  /// every other manager has voted: `~mcdutils:` and the browser id.
  public var sortKey: String { "~mcdutils:" + containerKey }

  /// Drops the changes of the aborted transaction: the entries return to what was loaded.
  public func abort(_ transaction: Transaction) throws {
    state.withLock { state in
      state.data = state.baseline
      if state.joined === transaction { state.joined = nil }
    }
  }

  /// Nothing to do: memcached has no transactions.
  public func tpcBegin(_ transaction: Transaction) throws {}

  /// Whether the vote will talk to memcached: the session changed, is new, or is due for a
  /// refresh of its expiration.
  public var commitMayBlock: Bool {
    let snapshot = state.withLock { $0 }
    guard !snapshot.invalidated else { return false }
    if snapshot.isNew || Self.hasChanges(from: snapshot.baseline, to: snapshot.data) {
      return true
    }
    return !snapshot.needsReload && snapshot.cas != nil
      && isRefreshDue(snapshot.accessed, now: Date())
  }

  /// Runs `commit` on the calling thread when the session's store allows a brief inline call
  /// now (``MemCacheStore/runInline(_:)``): the vote's write then costs no thread hop.
  public func commitInline(_ commit: () throws -> Void) throws -> Bool {
    try proxy.store.runInline(commit) != nil
  }

  /// Nothing to do: the write happens in ``tpcVote(_:)``.
  public func commit(_ transaction: Transaction) throws {}

  /// Writes the session if its entries changed (with `add` for a new session, CAS otherwise,
  /// resolving conflicts by the container's policy), or refreshes its expiration if a read-only
  /// access is due for one. Zope's `tpc_vote`.
  ///
  /// - Throws: ``MemCacheError``: `storeFailed` when the server cannot be reached,
  ///   `sessionTooLarge` with the size, `conflict` when the policy gives up.
  ///
  /// > Important: memcached cannot prepare a write, so the write is the vote. When one
  /// > transaction holds two sessions and the second one's vote fails, the first one's write
  /// > has already happened and is not undone. Keep one session per transaction, as a request
  /// > does.
  public func tpcVote(_ transaction: Transaction) throws {
    do {
      try writeBack(using: proxy.store, in: transaction)
    } catch {
      throw MemCacheError.wrapping(error)
    }
  }

  /// Forgets the finished transaction.
  public func tpcFinish(_ transaction: Transaction) throws {
    state.withLock { state in
      if state.joined === transaction { state.joined = nil }
    }
  }

  /// Drops changes that were not written: the entries return to what is stored.
  public func tpcAbort(_ transaction: Transaction) throws {
    try abort(transaction)
  }

  /// Records the entries, so that a rollback restores them.
  public func savepoint() throws -> any DataManagerSavepoint {
    MappingSavepoint(mapping: self, data: state.withLock { $0.data })
  }
}

/// The entries of a ``MemCacheMapping`` at a savepoint.
private struct MappingSavepoint: DataManagerSavepoint {
  let mapping: MemCacheMapping
  let data: [String: SessionValue]

  func rollback() throws {
    mapping.state.withLock { $0.data = data }
  }
}

extension MemCacheMapping {
  /// Where the next write attempt goes.
  private enum Step {
    /// Create the session: nobody has stored it yet (as far as this mapping knows).
    case add
    /// Replace the stored item whose CAS value is given.
    case cas(UInt64)
    /// Read the stored session and apply this transaction's changes to it.
    case reload
  }

  /// Writes the changes (or refreshes a read-only session that is due for it) to `store`.
  ///
  /// - Throws: ``MemCacheError``.
  func writeBack(using store: any MemCacheStore, in transaction: Transaction?) throws {
    try proxy.withWriteLock(for: containerKey) {
      try writeBackLocked(using: store, in: transaction)
    }
  }

  private func writeBackLocked(using store: any MemCacheStore, in transaction: Transaction?)
    throws
  {
    let snapshot = state.withLock { $0 }
    guard !snapshot.invalidated else { return }
    let now = Date()
    guard snapshot.isNew || Self.hasChanges(from: snapshot.baseline, to: snapshot.data) else {
      if !snapshot.needsReload, let cas = snapshot.cas, isRefreshDue(snapshot.accessed, now: now) {
        refresh(snapshot, cas: cas, now: now, using: store, in: transaction)
      }
      return
    }

    var target = snapshot.data
    var created = snapshot.created
    var step: Step =
      snapshot.isNew ? .add : snapshot.needsReload ? .reload : .cas(snapshot.cas ?? 0)
    var writes = 0
    let expiration = MemcachedExpiration.after(settings.timeout)
    let maximum = settings.maximumWriteAttempts
    defer { proxy.dropCached(containerKey, in: transaction) }
    write: while true {
      if case .reload = step {
        guard let item = try store.get(containerKey) else {
          step = .add
          continue
        }
        let stored = try SessionRecord(item: item)
        target = Self.apply(
          Self.changes(from: snapshot.baseline, to: snapshot.data), to: stored.data)
        created = stored.created
        step = .cas(item.cas)
        continue
      }
      guard writes < maximum else { throw MemCacheError.conflict(attempts: writes) }
      writes += 1
      let record = SessionRecord(created: created, accessed: now, data: target)
      let (bytes, flags) = try proxy.encode(record.value)
      let conflicted: Bool
      switch step {
      case .add:
        conflicted =
          !(try store.add(containerKey, value: bytes, flags: flags, expiration: expiration))
      case .cas(let cas):
        switch try store.cas(
          containerKey, value: bytes, cas: cas, flags: flags, expiration: expiration)
        {
        case .stored: conflicted = false
        case .conflict: conflicted = true
        case .notFound:
          // Expired or invalidated since it was loaded: create it again with what we have.
          step = .add
          continue write
        }
      case .reload:
        continue write
      }
      guard conflicted else { break write }
      switch settings.conflictPolicy {
      case .fail:
        throw MemCacheError.conflict(attempts: writes)
      case .overwrite:
        try store.set(containerKey, value: bytes, flags: flags, expiration: expiration)
        break write
      case .merge:
        Self.backOff(after: writes)
        step = .reload
      }
    }

    state.withLock { state in
      if state.data == snapshot.data { state.data = target }
      state.baseline = target
      state.created = created
      state.accessed = now
      state.cas = nil
      state.isNew = false
      state.needsReload = true
    }
  }

  /// Whether a read-only access at `now` should push the expiration back.
  func isRefreshDue(_ accessed: Date, now: Date) -> Bool {
    Duration.seconds(now.timeIntervalSince(accessed)) >= settings.resolution
  }

  /// Rewrites an unchanged session with a new last-accessed time and a fresh TTL. A conflict or
  /// a miss means another request wrote or removed it meanwhile, which needs no refresh; a
  /// failure is logged, because a read-only request should not fail for it.
  private func refresh(
    _ snapshot: State, cas: UInt64, now: Date, using store: any MemCacheStore,
    in transaction: Transaction?
  ) {
    let record = SessionRecord(created: snapshot.created, accessed: now, data: snapshot.baseline)
    do {
      let (bytes, flags) = try proxy.encode(record.value)
      let result = try store.cas(
        containerKey, value: bytes, cas: cas, flags: flags,
        expiration: .after(settings.timeout))
      proxy.dropCached(containerKey, in: transaction)
      guard result == .stored else { return }
      state.withLock { state in
        state.accessed = now
        state.cas = nil
        state.needsReload = true
      }
    } catch {
      proxy.logger.warning(
        "could not refresh a session's expiration", metadata: ["error": "\(error)"])
    }
  }

  /// The keys set or deleted (`nil`) between `old` and `new`.
  static func changes(from old: [String: SessionValue], to new: [String: SessionValue])
    -> [String: SessionValue?]
  {
    var changes: [String: SessionValue?] = [:]
    for (key, value) in new where old[key] != value { changes[key] = .some(value) }
    for key in old.keys where new[key] == nil { changes[key] = .some(nil) }
    return changes
  }

  /// Whether ``changes(from:to:)`` is not empty, without building the changes.
  static func hasChanges(from old: [String: SessionValue], to new: [String: SessionValue])
    -> Bool
  {
    // Every key of `new` found in `old` with an equal value, and as many keys in both, means
    // the same keys: nothing set and nothing deleted.
    guard old.count == new.count else { return true }
    // The entries are a copy of the baseline changed in place, which keeps the baseline's
    // layout unless keys were added or removed: compare side by side while the keys line up,
    // and look keys up only when they do not.
    var oldIndex = old.startIndex
    for (key, value) in new {
      let (oldKey, oldValue) = old[oldIndex]
      guard key == oldKey else { return hasChangesByLookup(from: old, to: new) }
      if value != oldValue { return true }
      old.formIndex(after: &oldIndex)
    }
    return false
  }

  private static func hasChangesByLookup(
    from old: [String: SessionValue], to new: [String: SessionValue]
  ) -> Bool {
    for (key, value) in new where old[key] != value { return true }
    return false
  }

  static func apply(_ changes: [String: SessionValue?], to data: [String: SessionValue])
    -> [String: SessionValue]
  {
    var result = data
    for (key, value) in changes { result[key] = value }
    return result
  }

  /// Waits a random moment before retrying a write that lost a race, growing with the number
  /// of writes lost (up to about 20 ms), so that writers contending for one session spread out
  /// instead of colliding again at once.
  static func backOff(after writes: Int) {
    let ceiling = Swift.min(200 << Swift.min(writes, 7), 20_000)
    Thread.sleep(forTimeInterval: Double(Int.random(in: 0...ceiling)) / 1_000_000)
  }
}
