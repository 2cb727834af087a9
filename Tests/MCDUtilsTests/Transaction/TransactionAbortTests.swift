import Testing

@testable import MCDUtils

@Suite struct TransactionAbortTests {
  @Test func abortCallsAbortOnEveryManagerEvenIfOneThrows() throws {
    let log = TransactionCallLog()
    let transaction = Transaction()
    try transaction.join(TransactionTestDataManager("a", log: log, failingIn: [.abort]))
    try transaction.join(TransactionTestDataManager("b", log: log, failingIn: [.abort]))
    try transaction.join(TransactionTestDataManager("c", log: log))

    #expect(throws: TransactionTestFailure(manager: "a", phase: .abort)) {
      try transaction.abort()
    }

    #expect(log.calls == ["a.abort", "b.abort", "c.abort"])
    #expect(transaction.status == .aborted)
    let suppressed = transaction.suppressedErrors.compactMap { $0 as? TransactionTestFailure }
    #expect(suppressed == [TransactionTestFailure(manager: "b", phase: .abort)])
  }

  @Test func abortingAnAbortedTransactionDoesNothing() throws {
    let log = TransactionCallLog()
    let transaction = Transaction()
    try transaction.join(TransactionTestDataManager("m", log: log))
    try transaction.abort()

    try transaction.abort()

    #expect(log.calls == ["m.abort"])
  }

  @Test func abortingAfterAFailedCommitDoesNothing() throws {
    let log = TransactionCallLog()
    let transaction = Transaction()
    try transaction.join(TransactionTestDataManager("m", log: log, failingIn: [.tpcVote]))
    _ = try? transaction.commit()

    try transaction.abort()

    #expect(!log.calls.contains("m.abort"))
  }

  @Test func abortingACommittedTransactionThrows() throws {
    let transaction = Transaction()
    try transaction.commit()

    #expect(throws: TransactionError.alreadyFinished) { try transaction.abort() }
    #expect(transaction.status == .committed)
  }
}

/// How a test ends a transaction before checking that it refuses further use.
enum TransactionEnding: String, CaseIterable, Sendable {
  case committed, aborted

  func end(_ transaction: Transaction) throws {
    switch self {
    case .committed: try transaction.commit()
    case .aborted: try transaction.abort()
    }
  }
}

@Suite struct FinishedTransactionTests {
  @Test(arguments: TransactionEnding.allCases)
  func finishedTransactionRefusesToCommit(ending: TransactionEnding) throws {
    let transaction = Transaction()
    try ending.end(transaction)

    #expect(throws: TransactionError.alreadyFinished) { try transaction.commit() }
  }

  @Test(arguments: TransactionEnding.allCases)
  func finishedTransactionRefusesJoins(ending: TransactionEnding) throws {
    let transaction = Transaction()
    try ending.end(transaction)

    #expect(throws: TransactionError.alreadyFinished) {
      try transaction.join(TransactionTestDataManager("m", log: TransactionCallLog()))
    }
  }

  @Test(arguments: TransactionEnding.allCases)
  func finishedTransactionRefusesSavepoints(ending: TransactionEnding) throws {
    let transaction = Transaction()
    try ending.end(transaction)

    #expect(throws: TransactionError.alreadyFinished) { try transaction.savepoint() }
  }

  @Test(arguments: TransactionEnding.allCases)
  func finishedTransactionCannotBeDoomed(ending: TransactionEnding) throws {
    let transaction = Transaction()
    try ending.end(transaction)

    #expect(throws: TransactionError.alreadyFinished) { try transaction.doom() }
  }

  @Test func commitReleasesTheJoinedManagers() throws {
    let transaction = Transaction()
    weak var released: TransactionTestDataManager?
    do {
      let manager = TransactionTestDataManager("m", log: TransactionCallLog())
      released = manager
      try transaction.join(manager)
    }

    try transaction.commit()

    #expect(released == nil)
  }
}
