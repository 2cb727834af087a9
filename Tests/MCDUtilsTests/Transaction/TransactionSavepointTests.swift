import Testing

@testable import MCDUtils

@Suite struct TransactionSavepointTests {
  @Test func rollbackRestoresEveryJoinedManager() throws {
    let log = TransactionCallLog()
    let a = TransactionTestDataManager("a", log: log)
    let b = TransactionTestDataManager("b", log: log)
    let transaction = Transaction()
    try transaction.join(a)
    try transaction.join(b)
    a.value = 1
    b.value = 2
    let savepoint = try transaction.savepoint()
    a.value = 10
    b.value = 20

    try savepoint.rollback()

    #expect(a.value == 1)
    #expect(b.value == 2)
  }

  @Test func managerJoinedAfterTheSavepointIsAbortedAndRemovedOnRollback() throws {
    let log = TransactionCallLog()
    let transaction = Transaction()
    try transaction.join(TransactionTestDataManager("early", log: log))
    let savepoint = try transaction.savepoint()
    try transaction.join(TransactionTestDataManager("late", log: log))

    try savepoint.rollback()
    try transaction.commit()

    #expect(log.calls.filter { $0.hasPrefix("late.") } == ["late.abort"])
    #expect(log.calls.contains("early.tpcFinish"))
  }

  @Test func theSameSavepointCanBeRolledBackTwice() throws {
    let manager = TransactionTestDataManager("m", log: TransactionCallLog())
    let transaction = Transaction()
    try transaction.join(manager)
    manager.value = 1
    let savepoint = try transaction.savepoint()
    manager.value = 2
    try savepoint.rollback()
    manager.value = 3

    try savepoint.rollback()

    #expect(manager.value == 1)
    #expect(savepoint.isValid)
  }

  @Test func rollingBackInvalidatesLaterSavepoints() throws {
    let manager = TransactionTestDataManager("m", log: TransactionCallLog())
    let transaction = Transaction()
    try transaction.join(manager)
    let earlier = try transaction.savepoint()
    manager.value = 1
    let later = try transaction.savepoint()

    try earlier.rollback()

    #expect(!later.isValid)
    #expect(throws: TransactionError.savepointInvalid) { try later.rollback() }
    #expect(manager.value == 0)
  }

  @Test func savepointTakenAfterARollbackIsValid() throws {
    let transaction = Transaction()
    try transaction.join(TransactionTestDataManager("m", log: TransactionCallLog()))
    let earlier = try transaction.savepoint()
    _ = try transaction.savepoint()
    try earlier.rollback()

    let fresh = try transaction.savepoint()

    #expect(fresh.isValid)
    try fresh.rollback()
  }

  @Test(arguments: TransactionEnding.allCases)
  func savepointOfAFinishedTransactionCannotBeRolledBack(ending: TransactionEnding) throws {
    let transaction = Transaction()
    try transaction.join(TransactionTestDataManager("m", log: TransactionCallLog()))
    let savepoint = try transaction.savepoint()
    try ending.end(transaction)

    #expect(!savepoint.isValid)
    #expect(throws: TransactionError.alreadyFinished) { try savepoint.rollback() }
  }

  @Test func failedRollbackRestoresTheOthersAndDoomsTheTransaction() throws {
    let log = TransactionCallLog()
    let a = TransactionTestDataManager("a", log: log, failingIn: [.rollback])
    let b = TransactionTestDataManager("b", log: log)
    let transaction = Transaction()
    try transaction.join(a)
    try transaction.join(b)
    let savepoint = try transaction.savepoint()
    b.value = 5

    #expect(throws: TransactionTestFailure(manager: "a", phase: .rollback)) {
      try savepoint.rollback()
    }

    #expect(b.value == 0)
    #expect(transaction.status == .doomed)
  }

  @Test func failingManagerSavepointLeavesTheTransactionActive() throws {
    let transaction = Transaction()
    try transaction.join(
      TransactionTestDataManager("m", log: TransactionCallLog(), failingIn: [.savepoint]))

    #expect(throws: TransactionTestFailure(manager: "m", phase: .savepoint)) {
      try transaction.savepoint()
    }

    #expect(transaction.status == .active)
  }
}
