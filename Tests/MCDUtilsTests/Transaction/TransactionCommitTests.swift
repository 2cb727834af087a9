import Synchronization
import Testing

@testable import MCDUtils

@Suite struct TransactionCommitTests {
  @Test func commitCallsTheFourPhasesInOrder() throws {
    let log = TransactionCallLog()
    let transaction = Transaction()
    try transaction.join(TransactionTestDataManager("m", log: log))

    try transaction.commit()

    #expect(log.calls == ["m.tpcBegin", "m.commit", "m.tpcVote", "m.tpcFinish"])
  }

  @Test func commitRunsEveryPhaseOnAllManagersInSortKeyOrder() throws {
    let log = TransactionCallLog()
    let transaction = Transaction()
    try transaction.join(TransactionTestDataManager("b", log: log))
    try transaction.join(TransactionTestDataManager("a", log: log))

    try transaction.commit()

    #expect(
      log.calls == [
        "a.tpcBegin", "b.tpcBegin", "a.commit", "b.commit",
        "a.tpcVote", "b.tpcVote", "a.tpcFinish", "b.tpcFinish",
      ])
  }

  @Test func managersWithEqualSortKeysRunInJoinOrder() throws {
    let log = TransactionCallLog()
    let transaction = Transaction()
    for name in ["z", "x", "y"] {
      try transaction.join(TransactionTestDataManager(name, sortKey: "same", log: log))
    }

    try transaction.commit()

    #expect(
      log.calls.filter { $0.hasSuffix(".tpcVote") } == ["z.tpcVote", "x.tpcVote", "y.tpcVote"])
  }

  @Test func joiningTheSameManagerTwiceTakesPartOnce() throws {
    let log = TransactionCallLog()
    let transaction = Transaction()
    let manager = TransactionTestDataManager("m", log: log)
    try transaction.join(manager)
    try transaction.join(manager)

    try transaction.commit()

    #expect(log.calls == ["m.tpcBegin", "m.commit", "m.tpcVote", "m.tpcFinish"])
  }

  @Test func successfulCommitMarksTheTransactionCommitted() throws {
    let transaction = Transaction()
    try transaction.join(TransactionTestDataManager("m", log: TransactionCallLog()))

    try transaction.commit()

    #expect(transaction.status == .committed)
  }

  @Test(arguments: [TransactionTestPhase.tpcBegin, .commit, .tpcVote])
  func failureBeforeFinishCallsTpcAbortOnEveryManagerAndNoFinish(
    phase: TransactionTestPhase
  ) throws {
    let log = TransactionCallLog()
    let transaction = Transaction()
    try transaction.join(TransactionTestDataManager("a", log: log))
    try transaction.join(TransactionTestDataManager("b", log: log, failingIn: [phase]))
    try transaction.join(TransactionTestDataManager("c", log: log))

    #expect(throws: TransactionTestFailure(manager: "b", phase: phase)) {
      try transaction.commit()
    }

    #expect(log.calls.suffix(3) == ["a.tpcAbort", "b.tpcAbort", "c.tpcAbort"])
    #expect(!log.calls.contains { $0.hasSuffix(".tpcFinish") })
    #expect(transaction.status == .aborted)
  }

  @Test func theFirstFailingManagerErrorIsRethrown() throws {
    let log = TransactionCallLog()
    let transaction = Transaction()
    try transaction.join(TransactionTestDataManager("b", log: log, failingIn: [.tpcVote]))
    try transaction.join(TransactionTestDataManager("a", log: log, failingIn: [.tpcVote]))

    #expect(throws: TransactionTestFailure(manager: "a", phase: .tpcVote)) {
      try transaction.commit()
    }
  }

  @Test func tpcAbortErrorsAreSuppressedAndEveryManagerIsStillAborted() throws {
    let log = TransactionCallLog()
    let transaction = Transaction()
    try transaction.join(
      TransactionTestDataManager("a", log: log, failingIn: [.tpcVote, .tpcAbort]))
    try transaction.join(TransactionTestDataManager("b", log: log))

    #expect(throws: TransactionTestFailure(manager: "a", phase: .tpcVote)) {
      try transaction.commit()
    }

    #expect(log.calls.suffix(2) == ["a.tpcAbort", "b.tpcAbort"])
    let suppressed = transaction.suppressedErrors.compactMap { $0 as? TransactionTestFailure }
    #expect(suppressed == [TransactionTestFailure(manager: "a", phase: .tpcAbort)])
  }

  @Test func failureInFinishStillFinishesTheOthersAndEndsCommitFailed() throws {
    let log = TransactionCallLog()
    let transaction = Transaction()
    try transaction.join(TransactionTestDataManager("a", log: log, failingIn: [.tpcFinish]))
    try transaction.join(TransactionTestDataManager("b", log: log))

    #expect(throws: TransactionTestFailure(manager: "a", phase: .tpcFinish)) {
      try transaction.commit()
    }

    #expect(log.calls.suffix(2) == ["a.tpcFinish", "b.tpcFinish"])
    #expect(!log.calls.contains { $0.hasSuffix(".tpcAbort") })
    #expect(transaction.status == .commitFailed)
  }

  @Test func doomedTransactionRefusesToCommitAndCanStillAbort() throws {
    let log = TransactionCallLog()
    let transaction = Transaction()
    try transaction.join(TransactionTestDataManager("m", log: log))
    try transaction.doom()

    #expect(throws: TransactionError.doomed) { try transaction.commit() }
    #expect(transaction.status == .doomed)
    try transaction.abort()

    #expect(log.calls == ["m.abort"])
    #expect(transaction.status == .aborted)
  }

  @Test func managerJoiningDuringCommitIsRefused() throws {
    let log = TransactionCallLog()
    let latecomer = TransactionTestDataManager("late", log: log)
    let joinError = Mutex<TransactionError?>(nil)
    let transaction = Transaction()
    try transaction.join(
      TransactionTestDataManager("m", log: log) { transaction in
        do {
          try transaction.join(latecomer)
        } catch let error as TransactionError {
          joinError.withLock { $0 = error }
        }
      })

    try transaction.commit()

    #expect(joinError.withLock { $0 } == .managerJoinedDuringCommit)
    #expect(!log.calls.contains { $0.hasPrefix("late.") })
  }

  @Test(arguments: [true, false])
  func afterCommitHookIsToldWhetherTheCommitSucceeded(succeeds: Bool) throws {
    let outcome = Mutex<[Bool]>([])
    let transaction = Transaction()
    try transaction.join(
      TransactionTestDataManager(
        "m", log: TransactionCallLog(), failingIn: succeeds ? [] : [.tpcVote]))
    try transaction.addAfterCommitHook { success in outcome.withLock { $0.append(success) } }

    _ = try? transaction.commit()

    #expect(outcome.withLock { $0 } == [succeeds])
  }

  @Test func abortDiscardsAfterCommitHooksWithoutRunningThem() throws {
    let ran = Mutex(false)
    let transaction = Transaction()
    try transaction.addAfterCommitHook { _ in ran.withLock { $0 = true } }

    try transaction.abort()

    #expect(ran.withLock { $0 } == false)
  }
}
