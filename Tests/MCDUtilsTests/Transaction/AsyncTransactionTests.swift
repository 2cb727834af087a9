import Dispatch
import Synchronization
import Testing

@testable import MCDUtils

private func currentTransactionSeenByAnAsyncFunction() async -> Transaction? {
  await Task.yield()
  return Transaction.current
}

/// Counts inside a transaction body without awaiting, which only compiles if the body runs
/// in the actor's isolation.
private actor BodyCounter {
  var count = 0

  func countInsideATransaction() async throws {
    try await withTransaction { _ in count += 1 }
  }
}

@Suite struct AsyncTransactionTests {
  @Test func commitsWhenTheBodyReturns() async throws {
    let log = TransactionCallLog()

    let result = try await withTransaction { transaction in
      try transaction.join(TransactionTestDataManager("m", log: log))
      await Task.yield()
      return 42
    }

    #expect(result == 42)
    #expect(log.calls == ["m.tpcBegin", "m.commit", "m.tpcVote", "m.tpcFinish"])
  }

  @Test func abortsAndRethrowsWhenTheBodyThrows() async throws {
    let log = TransactionCallLog()

    await #expect(throws: TransactionBodyFailure()) {
      try await withTransaction { transaction in
        try transaction.join(TransactionTestDataManager("m", log: log))
        await Task.yield()
        throw TransactionBodyFailure()
      }
    }

    #expect(log.calls == ["m.abort"])
  }

  @Test func anAbortErrorDoesNotHideTheBodyError() async throws {
    await #expect(throws: TransactionBodyFailure()) {
      try await withTransaction { transaction in
        try transaction.join(
          TransactionTestDataManager("m", log: TransactionCallLog(), failingIn: [.abort]))
        throw TransactionBodyFailure()
      }
    }
  }

  @Test func theTransactionIsCurrentInsideTheBodyOnly() async throws {
    #expect(Transaction.current == nil)

    try await withTransaction { transaction in
      #expect(Transaction.current === transaction)
    }

    #expect(Transaction.current == nil)
  }

  @Test func calledAsyncFunctionsAndChildTasksSeeTheCurrentTransaction() async throws {
    try await withTransaction { transaction in
      async let fromAsyncLet = currentTransactionSeenByAnAsyncFunction()
      let fromGroup = await withTaskGroup(of: Transaction?.self) { group in
        group.addTask { await currentTransactionSeenByAnAsyncFunction() }
        return await group.next() ?? nil
      }
      let fromCall = await currentTransactionSeenByAnAsyncFunction()

      #expect(await fromAsyncLet === transaction)
      #expect(fromGroup === transaction)
      #expect(fromCall === transaction)
    }
  }

  @Test func detachedTasksDoNotSeeTheCurrentTransaction() async throws {
    try await withTransaction { _ in
      let seen = await Task.detached { Transaction.current }.value
      #expect(seen == nil)
    }
  }

  @Test func asyncCommitRunsEveryPhaseOnTheBlockingQueue() async throws {
    let manager = TransactionTestDataManager("m", log: TransactionCallLog())
    let transaction = Transaction()
    try transaction.join(manager)

    try await transaction.commit()

    #expect(manager.calledOnBlockingQueue == [true, true, true, true])
  }

  @Test func asyncCommitWithNothingThatMayBlockStaysInPlace() async throws {
    let manager = TransactionTestDataManager(
      "m", log: TransactionCallLog(), blocks: false)
    let transaction = Transaction()
    try transaction.join(manager)

    try await transaction.commit()

    #expect(manager.calledOnBlockingQueue == [false, false, false, false])
    #expect(transaction.status == .committed)
  }

  @Test func oneManagerThatMayBlockMovesTheWholeCommitToTheBlockingQueue() async throws {
    let quiet = TransactionTestDataManager("a", log: TransactionCallLog(), blocks: false)
    let writer = TransactionTestDataManager("b", log: TransactionCallLog())
    let transaction = Transaction()
    try transaction.join(quiet)
    try transaction.join(writer)

    try await transaction.commit()

    #expect(quiet.calledOnBlockingQueue == [true, true, true, true])
    #expect(writer.calledOnBlockingQueue == [true, true, true, true])
  }

  @Test func asyncAbortRunsOnTheBlockingQueue() async throws {
    let manager = TransactionTestDataManager("m", log: TransactionCallLog())
    let transaction = Transaction()
    try transaction.join(manager)

    try await transaction.abort()

    #expect(manager.calledOnBlockingQueue == [true])
  }

  @Test func synchronousCommitRunsOnTheCallersThread() throws {
    let manager = TransactionTestDataManager("m", log: TransactionCallLog())
    let transaction = Transaction()
    try transaction.join(manager)

    try transaction.commit()

    #expect(manager.calledOnBlockingQueue == [false, false, false, false])
  }

  @Test func withTransactionCommitsOnTheBlockingQueue() async throws {
    let manager = TransactionTestDataManager("m", log: TransactionCallLog())

    try await withTransaction { transaction in try transaction.join(manager) }

    #expect(manager.calledOnBlockingQueue == [true, true, true, true])
  }

  @Test func asyncCommitErrorsReachTheCaller() async throws {
    let transaction = Transaction()
    try transaction.join(
      TransactionTestDataManager("m", log: TransactionCallLog(), failingIn: [.tpcBegin]))

    await #expect(throws: TransactionTestFailure(manager: "m", phase: .tpcBegin)) {
      try await transaction.commit()
    }
    #expect(transaction.status == .aborted)
  }

  @MainActor @Test func theBodyRunsOnTheCallersActor() async throws {
    try await withTransaction { _ in
      MainActor.assertIsolated()
      await Task.yield()
      MainActor.assertIsolated()
    }
    MainActor.assertIsolated()
  }

  @Test func anActorCanChangeItsStateInsideTheBodyWithoutAwaiting() async throws {
    let counter = BodyCounter()

    try await counter.countInsideATransaction()

    #expect(await counter.count == 1)
  }

  @Test func managersOfOneExecutorCommitThereAndOfTwoOnTheBlockingQueue() async throws {
    let store = RecordingExecutor()
    let first = ExecutorManager(executor: store)
    let second = ExecutorManager(executor: store)
    let together = Transaction()
    try together.join(first)
    try together.join(second)
    try await together.commit()
    #expect(store.runs == 1)
    #expect(!first.ranOnBlockingQueue)

    let other = RecordingExecutor()
    let apart = Transaction()
    let third = ExecutorManager(executor: other)
    try apart.join(ExecutorManager(executor: store))
    try apart.join(third)
    try await apart.commit()
    #expect(store.runs == 1 && other.runs == 0)
    #expect(third.ranOnBlockingQueue)
  }
}

/// An executor that runs commits in place and counts them.
private final class RecordingExecutor: CommitExecutor {
  private let count = Mutex(0)
  var runs: Int { count.withLock { $0 } }

  func runCommit(_ commit: @escaping @Sendable () throws -> Void) async throws {
    count.withLock { $0 += 1 }
    try commit()
  }
}

/// A manager whose phases run on a given executor and record where they ran.
private final class ExecutorManager: DataManager {
  let executor: RecordingExecutor
  private let onQueue = Mutex(false)
  var ranOnBlockingQueue: Bool { onQueue.withLock { $0 } }

  init(executor: RecordingExecutor) { self.executor = executor }

  var sortKey: String { "e" }
  var commitExecutor: (any CommitExecutor)? { executor }
  func abort(_ transaction: Transaction) throws {}
  func tpcBegin(_ transaction: Transaction) throws {}
  func commit(_ transaction: Transaction) throws {
    let queue = DispatchQueue.getSpecific(key: BlockingQueueExecutor.key) != nil
    onQueue.withLock { $0 = queue }
  }
  func tpcVote(_ transaction: Transaction) throws {}
  func tpcFinish(_ transaction: Transaction) throws {}
  func tpcAbort(_ transaction: Transaction) throws {}
  func savepoint() throws -> any DataManagerSavepoint { Nothing() }
  struct Nothing: DataManagerSavepoint { func rollback() throws {} }
}
