/// A resource that takes part in a ``Transaction``: Zope's `IDataManager`. See <doc:TransactionsAndDataManagers>.
public protocol DataManager: AnyObject, Sendable {
  /// Orders the managers of a commit, ascending, ties in join order. Zope's `sortKey()`.
  var sortKey: String { get }

  /// Where an async commit or abort runs this manager's phases; `nil` when they do not block now.
  var commitExecutor: (any CommitExecutor)? { get }

  /// Throws away the changes made in `transaction` outside of two-phase commit.
  ///
  /// - Throws: if the changes cannot be discarded; the other managers are still aborted.
  func abort(_ transaction: Transaction) throws

  /// Starts two-phase commit. Zope's `tpc_begin`.
  ///
  /// - Throws: to refuse the commit; every joined manager then gets ``tpcAbort(_:)``.
  func tpcBegin(_ transaction: Transaction) throws

  /// Stages the changes of `transaction` so that ``tpcVote(_:)`` can decide on them.
  ///
  /// - Throws: to refuse the commit; every joined manager then gets ``tpcAbort(_:)``.
  func commit(_ transaction: Transaction) throws

  /// Promises that ``tpcFinish(_:)`` will succeed. Zope's `tpc_vote`.
  ///
  /// - Throws: to veto the commit; every joined manager then gets ``tpcAbort(_:)``.
  func tpcVote(_ transaction: Transaction) throws

  /// Makes the voted changes final. Zope's `tpc_finish`.
  ///
  /// - Throws: an error that breaks the vote's promise and ends the transaction as
  ///   ``Transaction/Status/commitFailed``.
  func tpcFinish(_ transaction: Transaction) throws

  /// Discards whatever two-phase commit staged, or never got to stage. Zope's `tpc_abort`.
  ///
  /// - Throws: an error that is kept in ``Transaction/suppressedErrors``.
  func tpcAbort(_ transaction: Transaction) throws

  /// Records the manager's current state so that a later rollback can return to it.
  ///
  /// - Throws: if it cannot; ``Transaction/savepoint()`` then fails.
  func savepoint() throws -> any DataManagerSavepoint
}

extension DataManager {
  /// The transaction layer's blocking queue: a manager that says nothing may block anywhere.
  public var commitExecutor: (any CommitExecutor)? { BlockingQueueExecutor.shared }
}

/// Runs the phases of an async commit or abort where they may block on I/O.
public protocol CommitExecutor: AnyObject, Sendable {
  /// Runs `commit` and returns when it has run.
  ///
  /// - Throws: what `commit` throws.
  func runCommit(_ commit: @escaping @Sendable () throws -> Void) async throws
}

/// A data manager's state at one savepoint: Zope's `IDataManagerSavepoint`.
public protocol DataManagerSavepoint: Sendable {
  /// Returns the data manager to the state it had when the savepoint was taken.
  ///
  /// - Throws: if the state cannot be restored; the transaction is then doomed.
  func rollback() throws
}
