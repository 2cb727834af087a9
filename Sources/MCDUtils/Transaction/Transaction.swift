import Synchronization

/// A unit of work over several data managers, committed or aborted as one: Zope's
/// `transaction.Transaction`. See <doc:TransactionsAndDataManagers>.
public final class Transaction: Sendable {
  /// Where a transaction is in its life. Zope's `transaction._transaction.Status`.
  public enum Status: Sendable, Equatable {
    /// Open for joins, savepoints and changes.
    case active
    /// Still open, but only `Transaction.abort()` can end it.
    case doomed
    /// Two-phase commit is running.
    case committing
    /// Every data manager finished the commit.
    case committed
    /// Ended without committing: aborted, or a commit that failed before the finish phase.
    case aborted
    /// A data manager failed in the finish phase: some changes may be final, others not.
    /// Zope's `COMMITFAILED`.
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
    /// Managers joined on behalf of an owner (a proxy's read cache).
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

  /// Creates an active transaction with no data managers. Zope's `transaction.begin()`, unbound.
  public init() {}

  /// Where the transaction is in its life.
  public var status: Status {
    state.withLock { $0.status }
  }

  /// Errors that data managers threw while the transaction cleaned up after the one it threw.
  public var suppressedErrors: [any Error] {
    state.withLock { $0.suppressedErrors }
  }

  /// Adds a data manager, by identity, to take part in commit, abort and savepoints.
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

  /// Marks the transaction so that it can never commit, only abort.
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
  /// - Throws: ``TransactionError/alreadyFinished`` once the transaction ended.
  public func addAfterCommitHook(_ hook: @escaping @Sendable (_ success: Bool) -> Void) throws {
    try state.withLock { (state) throws(TransactionError) in
      if state.status.isFinished { throw .alreadyFinished }
      state.afterCommitHooks.append(hook)
    }
  }

  /// The manager joined on behalf of `owner`, made and joined on first use; `nil` when `make`
  /// makes none or the transaction no longer accepts managers.
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
  /// - Throws: ``TransactionError/doomed``, ``TransactionError/commitInProgress`` or
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

  /// Throws away the work of every joined data manager; does nothing once aborted.
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
