/// A resource that takes part in a ``Transaction``: Zope's `IDataManager`.
///
/// A data manager joins the transaction whose changes it holds (``Transaction/join(_:)``) and is
/// then driven through two-phase commit, or aborted. The methods are synchronous on purpose: a
/// manager may do blocking network I/O in them (the session data manager does its memcached
/// write in ``tpcVote(_:)``), and the async entry points move the whole commit off Swift's
/// cooperative pool instead of asking every manager to be async, unless the manager says its
/// blocking is brief now (``commitInline(_:)``).
///
/// A manager is joined by identity, so the same instance joined twice takes part once.
public protocol DataManager: AnyObject, Sendable {
  /// Orders the managers of a commit: managers run each phase in ascending `sortKey` order,
  /// ties kept in join order. Zope's `sortKey()`.
  ///
  /// A manager that must see every other manager's vote before it writes (as a memcached CAS
  /// write must) sorts last.
  var sortKey: String { get }

  /// Whether committing this manager may block on I/O now (see the default in the extension).
  var commitMayBlock: Bool { get }

  /// Runs `commit` (the whole two-phase commit, which calls this manager's blocking phases) on
  /// the calling thread and returns `true` when the manager can promise its blocking there is
  /// brief now; returns `false` without running it otherwise. An async commit asks the one
  /// joined manager that may block, and leaves the cooperative pool when it says no.
  ///
  /// - Throws: what `commit` throws. The default returns `false`.
  func commitInline(_ commit: () throws -> Void) throws -> Bool

  /// Throws away the changes made in `transaction` outside of two-phase commit: the transaction
  /// was aborted, or the manager joined after a savepoint that is being rolled back.
  ///
  /// Throws if the changes cannot be discarded; the transaction still aborts every other manager.
  func abort(_ transaction: Transaction) throws

  /// Starts two-phase commit. Zope's `tpc_begin`.
  ///
  /// Throws to refuse the commit; every joined manager then gets ``tpcAbort(_:)``.
  func tpcBegin(_ transaction: Transaction) throws

  /// Stages the changes of `transaction` so that ``tpcVote(_:)`` can decide on them.
  ///
  /// Throws to refuse the commit; every joined manager then gets ``tpcAbort(_:)``.
  func commit(_ transaction: Transaction) throws

  /// Promises that ``tpcFinish(_:)`` will succeed, or throws to veto the commit. Zope's
  /// `tpc_vote`.
  ///
  /// This is the last moment a manager can refuse: a manager that cannot prepare a write (as
  /// memcached cannot) performs it here, after every manager sorted before it has voted.
  func tpcVote(_ transaction: Transaction) throws

  /// Makes the voted changes final. Zope's `tpc_finish`.
  ///
  /// Throwing here breaks the promise given by the vote: the transaction ends as
  /// ``Transaction/Status/commitFailed`` and the error reaches the caller of commit.
  func tpcFinish(_ transaction: Transaction) throws

  /// Discards whatever two-phase commit staged. Zope's `tpc_abort`.
  ///
  /// Called on every joined manager when any manager fails before the finish phase, including
  /// managers whose ``tpcBegin(_:)`` was never called, so it must also discard changes that were
  /// never staged. Errors thrown here are kept in ``Transaction/suppressedErrors``.
  func tpcAbort(_ transaction: Transaction) throws

  /// Records the manager's current state so that a later rollback can return to it.
  ///
  /// Throws if the manager cannot take a savepoint; ``Transaction/savepoint()`` then fails.
  func savepoint() throws -> any DataManagerSavepoint
}

extension DataManager {
  /// Whether committing this manager may block on I/O now. Async commits leave Swift's
  /// cooperative pool only when a joined manager says it may; a manager that has nothing to
  /// write (a read-only session, a read cache) says `false` and saves the thread hop.
  ///
  /// The default is `true`.
  public var commitMayBlock: Bool { true }

  /// `false`: by default a commit that may block leaves the cooperative pool.
  public func commitInline(_ commit: () throws -> Void) throws -> Bool { false }
}

/// A data manager's state at one savepoint: Zope's `IDataManagerSavepoint`.
///
/// It may be rolled back more than once, as long as its transaction has not ended.
public protocol DataManagerSavepoint: Sendable {
  /// Returns the data manager to the state it had when the savepoint was taken.
  ///
  /// Throws if the state cannot be restored; the transaction is then doomed.
  func rollback() throws
}
