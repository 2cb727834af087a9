/// A resource that takes part in a ``Transaction``: Zope's `IDataManager`.
///
/// A data manager joins the transaction whose changes it holds (``Transaction/join(_:)``) and is
/// then driven through two-phase commit, or aborted. The methods are synchronous on purpose: a
/// manager may block on network I/O in them (a session does its memcached write in
/// ``tpcVote(_:)``), and an async commit runs them where its ``commitExecutor`` says.
///
/// A manager is joined by identity, so the same instance joined twice takes part once.
public protocol DataManager: AnyObject, Sendable {
  /// Orders the managers of a commit: managers run each phase in ascending `sortKey` order,
  /// ties kept in join order. Zope's `sortKey()`.
  ///
  /// A manager that must see every other manager's vote before it writes (as a memcached CAS
  /// write must) sorts last.
  var sortKey: String { get }

  /// Where an async commit or abort runs this manager's phases, which may block on I/O: `nil`
  /// when they do no blocking I/O now. The default is a dispatch queue of the transaction
  /// layer's own; a session answers with its store, and `nil` when it has nothing to write.
  var commitExecutor: (any CommitExecutor)? { get }

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
  /// The transaction layer's blocking queue: a manager that says nothing may block anywhere.
  public var commitExecutor: (any CommitExecutor)? { BlockingQueueExecutor.shared }
}

/// Runs the phases of an async commit (or abort) somewhere they may block on I/O, off Swift's
/// cooperative thread pool or briefly on it when that is safe.
public protocol CommitExecutor: AnyObject, Sendable {
  /// Runs `commit` and returns when it has run.
  ///
  /// - Throws: what `commit` throws.
  func runCommit(_ commit: @escaping @Sendable () throws -> Void) async throws
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
