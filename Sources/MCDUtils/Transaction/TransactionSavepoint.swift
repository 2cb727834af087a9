/// A point inside a transaction that its data managers can be rolled back to: Zope's
/// `transaction._transaction.Savepoint`. See <doc:TransactionsAndDataManagers>.
public struct TransactionSavepoint: Sendable {
  struct Entry: Sendable {
    let manager: any DataManager
    let savepoint: any DataManagerSavepoint
  }

  /// The transaction the savepoint belongs to.
  public let transaction: Transaction
  /// Orders savepoints within their transaction.
  let index: Int
  /// The managers joined when the savepoint was taken, in join order.
  let entries: [Entry]

  /// Whether ``rollback()`` can still succeed. Zope's `valid`.
  public var isValid: Bool {
    transaction.state.withLock { state in
      (try? state.checkOpen()) != nil && state.liveSavepoints.contains(index)
    }
  }

  /// Returns every data manager of the transaction to its state at this savepoint.
  ///
  /// - Throws: ``TransactionError/savepointInvalid`` if an earlier savepoint was rolled back
  ///   since, ``TransactionError/alreadyFinished`` once the transaction ended,
  ///   ``TransactionError/commitInProgress`` while it commits, or the first error a data manager
  ///   threw (which dooms the transaction).
  public func rollback() throws {
    try transaction.rollback(to: self)
  }
}

extension Transaction {
  /// Takes a savepoint of every joined data manager, to roll back to later.
  ///
  /// - Throws: ``TransactionError/commitInProgress`` while committing,
  ///   ``TransactionError/alreadyFinished`` once the transaction ended, or the error of the
  ///   first manager that could not take a savepoint.
  public func savepoint() throws -> TransactionSavepoint {
    let joined = try state.withLock { (state) throws(TransactionError) in
      try state.checkOpen()
      return state.managers
    }
    let entries = try joined.map {
      TransactionSavepoint.Entry(manager: $0, savepoint: try $0.savepoint())
    }
    let index = try state.withLock { (state) throws(TransactionError) in
      try state.checkOpen()
      state.nextSavepointIndex += 1
      state.liveSavepoints.append(state.nextSavepointIndex)
      return state.nextSavepointIndex
    }
    return TransactionSavepoint(transaction: self, index: index, entries: entries)
  }

  fileprivate func rollback(to savepoint: TransactionSavepoint) throws {
    let lateJoiners = try state.withLock {
      (state) throws(TransactionError) -> [any DataManager] in
      try state.checkOpen()
      guard let position = state.liveSavepoints.firstIndex(of: savepoint.index) else {
        throw .savepointInvalid
      }
      state.liveSavepoints.removeSubrange((position + 1)...)
      let kept = Set(savepoint.entries.map { ObjectIdentifier($0.manager) })
      let late = state.managers.filter { !kept.contains(ObjectIdentifier($0)) }
      state.managers.removeAll { !kept.contains(ObjectIdentifier($0)) }
      state.attachments = state.attachments.filter { kept.contains(ObjectIdentifier($0.value)) }
      return late
    }
    var errors: [any Error] = []
    for entry in savepoint.entries {
      do { try entry.savepoint.rollback() } catch { errors.append(error) }
    }
    for manager in lateJoiners {
      do { try manager.abort(self) } catch { errors.append(error) }
    }
    guard let first = errors.first else { return }
    state.withLock { state in
      if state.status == .active { state.status = .doomed }
      state.suppressedErrors += errors.dropFirst()
    }
    throw first
  }
}
