import Synchronization

/// A unit of work over several data managers, committed or aborted as one: Zope's
/// `transaction.Transaction`.
///
/// Data managers ``join(_:)`` the transaction that holds their changes; `commit()` then runs
/// two-phase commit over them and `abort()` throws their changes away. Most code does not
/// create one directly but runs inside ``withTransaction(_:)``, which commits or aborts for it
/// and makes the transaction reachable as ``current``. Code that wants explicit control (Zope's
/// `transaction.begin()`) creates one with ``init()`` and ends it itself.
///
/// A transaction is meant to be driven by one task at a time. Its state sits behind a lock, so
/// concurrent use is memory-safe, but data managers are called with the lock released: a
/// manager may read ``status`` or join another manager from inside its callbacks without
/// deadlocking.
///
/// ```swift
/// let transaction = Transaction()
/// try transaction.join(sessionManager)
/// try transaction.commit()
/// ```
public final class Transaction: Sendable {
  /// Where a transaction is in its life. Zope's `transaction._transaction.Status`.
  public enum Status: Sendable, Equatable {
    /// Open for joins, savepoints and changes.
    case active
    /// Still open, but `Transaction.commit()` will throw ``TransactionError/doomed``; only
    /// `Transaction.abort()` ends it.
    case doomed
    /// Two-phase commit is running.
    case committing
    /// Every data manager finished the commit.
    case committed
    /// Ended without committing: aborted, or a commit that failed before the finish phase.
    case aborted
    /// A data manager failed in the finish phase after every manager had voted yes, so some
    /// changes may be final and others not. Zope's `COMMITFAILED` (old ZODB called it "hosed").
    case commitFailed

    /// Whether the transaction has ended and accepts nothing more.
    public var isFinished: Bool {
      switch self {
      case .committed, .aborted, .commitFailed: return true
      case .active, .doomed, .committing: return false
      }
    }
  }

  struct State {
    var status = Status.active
    /// In join order, which breaks ties between equal sort keys.
    var managers: [any DataManager] = []
    /// Indices of the savepoints that can still be rolled back, ascending.
    var liveSavepoints: [Int] = []
    var nextSavepointIndex = 0
    var afterCommitHooks: [@Sendable (Bool) -> Void] = []
    var suppressedErrors: [any Error] = []
    /// Managers joined on behalf of an owner (a proxy's read cache), found by the owner.
    var attachments: [ObjectIdentifier: any DataManager] = [:]

    /// Throws unless the transaction is open for joins, savepoints and rollbacks.
    func checkOpen() throws(TransactionError) {
      switch status {
      case .active, .doomed: return
      case .committing: throw .commitInProgress
      case .committed, .aborted, .commitFailed: throw .alreadyFinished
      }
    }
  }

  let state = Mutex(State())

  /// Creates an active transaction with no data managers. Zope's `transaction.begin()`, without
  /// the thread-local binding: use ``withTransaction(_:)`` for that.
  public init() {}

  /// Where the transaction is in its life.
  public var status: Status {
    state.withLock { $0.status }
  }

  /// Errors that data managers threw while the transaction was cleaning up after another
  /// error, which was the one thrown to the caller.
  ///
  /// Zope logs these; a library here keeps them for the caller to log.
  public var suppressedErrors: [any Error] {
    state.withLock { $0.suppressedErrors }
  }

  /// Adds a data manager to the transaction, so that it takes part in commit, abort and
  /// savepoints.
  ///
  /// Joining a manager that already joined does nothing: managers are told apart by identity.
  /// A manager that joins after a savepoint is aborted and removed if that savepoint is rolled
  /// back.
  ///
  /// - Throws: ``TransactionError/managerJoinedDuringCommit`` while committing,
  ///   ``TransactionError/alreadyFinished`` once the transaction ended.
  public func join(_ manager: any DataManager) throws {
    try state.withLock { (state) throws(TransactionError) in
      switch state.status {
      case .active, .doomed:
        if !state.managers.contains(where: { $0 === manager }) {
          state.managers.append(manager)
        }
      case .committing:
        throw .managerJoinedDuringCommit
      case .committed, .aborted, .commitFailed:
        throw .alreadyFinished
      }
    }
  }

  /// Marks the transaction so that it can never commit, only abort: for work that must not be
  /// saved, such as a request that turned out to be read-only or failed validation.
  ///
  /// Dooming a doomed transaction does nothing. ``withTransaction(_:)`` aborts a doomed
  /// transaction instead of committing it.
  ///
  /// - Throws: ``TransactionError/commitInProgress`` while committing,
  ///   ``TransactionError/alreadyFinished`` once the transaction ended.
  public func doom() throws {
    try state.withLock { (state) throws(TransactionError) in
      try state.checkOpen()
      state.status = .doomed
    }
  }

  /// Registers a closure to run once a commit has ended, told whether it succeeded. Zope's
  /// `addAfterCommitHook`.
  ///
  /// Hooks run after a commit, whether it succeeded or failed, on the thread that ran it; an
  /// abort discards them without running them.
  ///
  /// - Throws: ``TransactionError/alreadyFinished`` once the transaction ended.
  public func addAfterCommitHook(_ hook: @escaping @Sendable (_ success: Bool) -> Void) throws {
    try state.withLock { (state) throws(TransactionError) in
      if state.status.isFinished { throw .alreadyFinished }
      state.afterCommitHooks.append(hook)
    }
  }

  /// The manager joined on behalf of `owner`, made with `make` and joined on first use; `nil`
  /// when there is none and `make` makes none, or the transaction no longer accepts managers
  /// (it is committing or has ended).
  package func attachment<Manager: DataManager>(
    for owner: ObjectIdentifier, make: () -> Manager?
  ) -> Manager? {
    state.withLock { state in
      if let attached = state.attachments[owner] { return attached as? Manager }
      guard state.status == .active || state.status == .doomed, let manager = make() else {
        return nil
      }
      state.attachments[owner] = manager
      state.managers.append(manager)
      return manager
    }
  }

  /// Commits the work of every joined data manager with two-phase commit.
  ///
  /// Managers run each phase in ``DataManager/sortKey`` order, ties in join order:
  /// `tpcBegin` on all, `commit` on all, `tpcVote` on all, then `tpcFinish` on all.
  ///
  /// - A failure before the finish phase calls `tpcAbort` on every joined manager, leaves the
  ///   transaction ``Status/aborted`` and rethrows that first error; errors from `tpcAbort` go
  ///   to ``suppressedErrors``.
  /// - A failure in the finish phase comes after every manager voted yes, when nothing can be
  ///   undone: the remaining managers are still finished (their vote promised it), no
  ///   `tpcAbort` is called, the transaction ends as ``Status/commitFailed`` and the first
  ///   finish error is rethrown. Zope instead stops finishing, calls `tpc_abort` on all and
  ///   logs that "resources may be in an inconsistent state".
  ///
  /// Either way the transaction has ended, its savepoints are invalid and its managers are
  /// released. In async code the async overload is chosen instead, which runs the phases where
  /// the managers' ``DataManager/commitExecutor`` says.
  ///
  /// - Throws: ``TransactionError/doomed`` for a doomed transaction (which stays open, to be
  ///   aborted), ``TransactionError/commitInProgress`` or
  ///   ``TransactionError/alreadyFinished`` when it cannot start, or the first error a data
  ///   manager threw.
  public func commit() throws {
    let joined = try state.withLock { (state) throws(TransactionError) -> [any DataManager] in
      switch state.status {
      case .active: break
      case .doomed: throw .doomed
      case .committing: throw .commitInProgress
      case .committed, .aborted, .commitFailed: throw .alreadyFinished
      }
      state.status = .committing
      state.liveSavepoints.removeAll()
      return state.managers
    }
    let ordered = Self.commitOrder(joined)
    do {
      for manager in ordered { try manager.tpcBegin(self) }
      for manager in ordered { try manager.commit(self) }
      for manager in ordered { try manager.tpcVote(self) }
    } catch {
      var suppressed: [any Error] = []
      for manager in ordered {
        do { try manager.tpcAbort(self) } catch { suppressed.append(error) }
      }
      end(as: .aborted, suppressed: suppressed)
      throw error
    }
    var errors: [any Error] = []
    for manager in ordered {
      do { try manager.tpcFinish(self) } catch { errors.append(error) }
    }
    guard let first = errors.first else {
      end(as: .committed, suppressed: [])
      return
    }
    end(as: .commitFailed, suppressed: Array(errors.dropFirst()))
    throw first
  }

  /// Throws away the work of every joined data manager by calling `abort` on each, in join
  /// order.
  ///
  /// Every manager is aborted even if one throws; the first error is rethrown afterwards and
  /// the rest go to ``suppressedErrors``. Aborting a transaction that already aborted, or whose
  /// commit failed, does nothing, so cleanup code may abort without checking.
  ///
  /// - Throws: ``TransactionError/commitInProgress`` while committing,
  ///   ``TransactionError/alreadyFinished`` after a successful commit, or the first error a
  ///   data manager threw.
  public func abort() throws {
    let joined = try state.withLock { (state) throws(TransactionError) -> [any DataManager] in
      switch state.status {
      case .active, .doomed: break
      case .committing: throw .commitInProgress
      case .aborted, .commitFailed: return []
      case .committed: throw .alreadyFinished
      }
      let joined = state.managers
      state.status = .aborted
      state.managers.removeAll()
      state.attachments.removeAll()
      state.liveSavepoints.removeAll()
      state.afterCommitHooks.removeAll()
      return joined
    }
    var errors: [any Error] = []
    for manager in joined {
      do { try manager.abort(self) } catch { errors.append(error) }
    }
    guard let first = errors.first else { return }
    state.withLock { $0.suppressedErrors += errors.dropFirst() }
    throw first
  }

  /// Sorts by sort key, keeping join order between equal keys whatever the sort algorithm.
  private static func commitOrder(_ managers: [any DataManager]) -> [any DataManager] {
    if managers.count < 2 { return managers }
    if managers.count == 2 {
      return managers[1].sortKey < managers[0].sortKey ? [managers[1], managers[0]] : managers
    }
    return managers.enumerated()
      .map { (key: $0.element.sortKey, joinIndex: $0.offset, manager: $0.element) }
      .sorted { ($0.key, $0.joinIndex) < ($1.key, $1.joinIndex) }
      .map(\.manager)
  }

  /// Records the end of a commit and runs the after-commit hooks outside the lock.
  private func end(as status: Status, suppressed: [any Error]) {
    let hooks = state.withLock { state in
      state.status = status
      state.managers.removeAll()
      state.attachments.removeAll()
      state.suppressedErrors += suppressed
      defer { state.afterCommitHooks.removeAll() }
      return state.afterCommitHooks
    }
    for hook in hooks { hook(status == .committed) }
  }
}
