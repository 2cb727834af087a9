import Foundation
import Memcached

extension MemCacheMapping: DataManager {
  /// Drops the changes of the aborted transaction: the entries return to what was loaded.
  public func abort(_ transaction: Transaction) throws {
    state.withLock { state in
      state.data = state.baseline
      if state.joined === transaction { state.joined = nil }
    }
  }

  /// Nothing to do: memcached has no transactions.
  public func tpcBegin(_ transaction: Transaction) throws {}

  /// The session's store when the commit will write; `nil` when there is nothing to write.
  public var commitExecutor: (any CommitExecutor)? {
    writePlan() == nil ? nil : SessionCommitExecutor(proxy: proxy, key: storageKey)
  }

  /// Nothing to do: the write happens in ``tpcVote(_:)``.
  public func commit(_ transaction: Transaction) throws {}

  /// Writes the session if it changed, or refreshes its expiration if due. Zope's `tpc_vote`.
  ///
  /// - Throws: ``MemCacheError``: `unavailable`, `valueTooLarge`, `conflict` when the policy
  ///   gives up, `sessionEnded`.
  public func tpcVote(_ transaction: Transaction) throws {
    // A read-only request talks to nobody: no connection is borrowed for it.
    guard let plan = writePlan() else { return }
    do {
      try writeBackInTurn(plan, in: transaction)
    } catch {
      throw settings.metrics.counted(error)
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

/// Runs a session's commit on its store, after this process's earlier commits of the session:
/// the task waits for the session's turn without blocking a thread, and lends the turn to the
/// thread that runs the commit.
private final class SessionCommitExecutor: CommitExecutor {
  let proxy: MemCacheProxy
  let key: String

  init(proxy: MemCacheProxy, key: String) {
    self.proxy = proxy
    self.key = key
  }

  func runCommit(_ commit: @escaping @Sendable () throws -> Void) async throws {
    let (turns, key) = (proxy.commitTurns, key)
    try await turns.withTurn(key) {
      try await proxy.store.runCommit { try turns.lending(key) { try commit() } }
    }
  }
}

extension MemCacheMapping {
  /// What a commit writes: the changes (or a new session), or a due refresh of a read-only one.
  enum Write {
    case changes
    case refresh
  }

  /// A snapshot of the mapping and what a commit of it writes at `now`.
  struct WritePlan {
    let snapshot: State
    let write: Write
    let now: Date
  }

  /// What a commit now would write, or `nil` when nothing.
  func writePlan() -> WritePlan? {
    let snapshot = state.withLock { $0 }
    let now = Date()
    guard let write = writeNeeded(snapshot, now: now) else { return nil }
    return WritePlan(snapshot: snapshot, write: write, now: now)
  }

  private func writeNeeded(_ snapshot: State, now: Date) -> Write? {
    guard !snapshot.invalidated else { return nil }
    if snapshot.isNew || Self.hasChanges(from: snapshot.baseline, to: snapshot.data) {
      return .changes
    }
    return snapshot.copies != nil && isRefreshDue(snapshot.accessed, now: now) ? .refresh : nil
  }

  /// Writes what `plan` says in the session's turn in this process, blocking until then: the
  /// blocking commits of one session wait for each other as async ones do, instead of making
  /// each other's compare-and-swap fail.
  ///
  /// - Throws: ``MemCacheError``.
  func writeBackInTurn(_ plan: WritePlan, in transaction: Transaction?) throws(MemCacheError) {
    try proxy.commitTurns.withTurn(storageKey) { () throws(MemCacheError) in
      try proxy.run { try writeBack(plan, on: $0, in: transaction) }
    }
  }

  /// Writes what `plan` says.
  ///
  /// - Throws: ``MemCacheError``.
  func writeBack(
    _ plan: WritePlan, on connection: any MemcachedOperations, in transaction: Transaction?
  )
    throws(MemCacheError)
  {
    let (snapshot, write, now) = (plan.snapshot, plan.write, plan.now)
    defer { proxy.dropCached(storageKey, in: transaction) }
    if write == .refresh {
      refresh(snapshot, now: now, on: connection)
      return
    }
    var target = snapshot.data
    var (created, version) = (snapshot.created, snapshot.version)
    var writes = 0
    // Reads the copies again and decides what to write over the newest, by the policy.
    func readAgain() throws(MemCacheError) -> SessionCopies {
      let copies = try readCopies(on: connection, everyCopy: true)
      guard let stored = try copies.newestRecord() else {
        // Gone since it was read: a session this request created is created again; one it
        // loaded has expired or was removed, and stays so.
        guard snapshot.isNew else { throw .sessionEnded }
        return copies
      }
      guard !stored.isEnded, stored.epoch == snapshot.epoch else { throw .sessionEnded }
      // Unchanged since it was read (the write failed for another reason, or the counter
      // below was another session's): write the same again.
      guard stored.version != version else { return copies }
      switch settings.conflictPolicy {
      case .fail:
        throw .conflict(attempts: Swift.max(writes, 1))
      case .overwrite:
        target = snapshot.data
      case .merge:
        target = Self.apply(
          Self.changes(from: snapshot.baseline, to: snapshot.data), to: stored.data.mapValue ?? [:])
      }
      (created, version) = (stored.created, stored.version)
      return copies
    }
    var copies: SessionCopies
    if let known = snapshot.copies,
      proxy.sessionWrites.count(storageKey) == snapshot.writesSeen
    {
      copies = known
    } else {
      // Not read yet, or this process wrote the session since it was read: its CAS value is
      // stale, and a write with it would only fail.
      copies = try readAgain()
    }
    while true {
      guard writes < settings.maximumWriteAttempts else { throw .conflict(attempts: writes) }
      writes += 1
      var record = SessionRecord(
        epoch: snapshot.epoch, version: version, created: created, accessed: now,
        data: .map(target))
      record.version = record.nextVersion
      let (bytes, flags) = try proxy.encode(record, key: storageKey)
      let written = try copies.write(
        bytes, flags: flags, expiration: .outlasting(settings.timeout), on: connection,
        logger: proxy.logger)
      if written == .stored {
        version = record.version
        proxy.sessionWrites.add(storageKey)
        break
      }
      settings.metrics.retries.increment()
      ConflictBackoff.pause(after: writes)
      copies = try readAgain()
    }
    state.withLock { state in
      if state.data == snapshot.data { state.data = target }
      state.baseline = target
      state.created = created
      state.accessed = now
      state.version = version
      state.copies = nil
      state.isNew = false
    }
  }

  /// Rewrites an unchanged session with a new access time and lifetime; a failure is logged.
  private func refresh(_ snapshot: State, now: Date, on connection: any MemcachedOperations) {
    guard let copies = snapshot.copies else { return }
    var record = SessionRecord(
      epoch: snapshot.epoch, version: snapshot.version, created: snapshot.created,
      accessed: now, data: .map(snapshot.baseline))
    record.version = record.nextVersion
    do {
      let (bytes, flags) = try proxy.encode(record, key: storageKey)
      let written = try copies.write(
        bytes, flags: flags, expiration: .outlasting(settings.timeout), on: connection,
        logger: proxy.logger)
      guard written == .stored else { return }
      proxy.sessionWrites.add(storageKey)
      state.withLock { state in
        state.accessed = now
        state.version = record.version
        state.copies = nil
      }
    } catch {
      proxy.logger.warning(
        "could not refresh a session's expiration", metadata: ["error": "\(error)"])
    }
  }

  /// Replaces every copy with a tombstone of the newest epoch and empties the mapping.
  ///
  /// - Throws: ``MemCacheError``.
  func writeTombstone(on connection: any MemcachedOperations, window: Duration)
    throws(MemCacheError)
  {
    let snapshot = state.withLock { state in
      state.invalidated = true
      state.data.removeAll()
      state.baseline.removeAll()
      return state
    }
    defer { proxy.dropCached(storageKey) }
    var copies: SessionCopies
    if let known = snapshot.copies {
      copies = known
    } else {
      copies = try readCopies(on: connection, everyCopy: true)
    }
    let attempts = Swift.max(settings.maximumWriteAttempts, 3)
    for attempt in 1...attempts {
      let stored = try? copies.newestRecord()
      if let stored, stored.isEnded, stored.epoch >= snapshot.epoch { return }
      let epoch = Swift.max(snapshot.epoch, stored?.epoch ?? 0)
      let tombstone = SessionRecord(
        epoch: epoch, version: SessionRecord.ended, created: snapshot.created,
        accessed: snapshot.accessed, data: .nil)
      let (bytes, flags) = try proxy.encode(tombstone, key: storageKey)
      let written = try copies.write(
        bytes, flags: flags, expiration: .outlasting(settings.timeout), on: connection,
        logger: proxy.logger)
      if written == .stored {
        proxy.sessionWrites.add(storageKey)
        return
      }
      if attempt == attempts { throw .conflict(attempts: attempt) }
      ConflictBackoff.pause(after: attempt)
      copies = try readCopies(on: connection, everyCopy: true)
    }
  }

  func readCopies(on connection: any MemcachedOperations, everyCopy: Bool) throws(MemCacheError)
    -> SessionCopies
  {
    try SessionCopies.read(
      storageKey, on: connection, proxy: proxy, window: settings.timeout, everyCopy: everyCopy)
  }

  /// Whether a read-only access at `now` should push the expiration back; never traps.
  func isRefreshDue(_ accessed: Date, now: Date) -> Bool {
    Duration(saturatingSeconds: now.timeIntervalSince(accessed)) >= settings.resolution
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
}
