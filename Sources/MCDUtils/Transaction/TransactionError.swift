/// A transaction used in a way its state does not allow (data managers' errors pass unchanged).
public enum TransactionError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The transaction was committed or aborted already.
  case alreadyFinished

  /// The transaction was doomed, so it can only be aborted. Zope's `DoomedTransaction`.
  case doomed

  /// The savepoint was invalidated by rolling back an earlier savepoint. Zope's
  /// `InvalidSavepointRollbackError`.
  case savepointInvalid

  /// A data manager tried to join while the transaction was committing.
  case managerJoinedDuringCommit

  /// The transaction was asked to change while its commit was running.
  case commitInProgress

  /// A stable, human-readable explanation.
  public var description: String {
    switch self {
    case .alreadyFinished:
      return "the transaction has already been committed or aborted"
    case .doomed:
      return "the transaction is doomed and can only be aborted"
    case .savepointInvalid:
      return "the savepoint was invalidated by rolling back an earlier savepoint"
    case .managerJoinedDuringCommit:
      return "a data manager cannot join a transaction while it commits"
    case .commitInProgress:
      return "the transaction is committing"
    }
  }
}
