import Dispatch
import Synchronization

@testable import MCDUtils

/// The calls a transaction made, shared by the data managers of one test so that their
/// interleaving shows.
final class TransactionCallLog: Sendable {
  private let entries = Mutex<[String]>([])

  var calls: [String] { entries.withLock { $0 } }

  func record(_ entry: String) {
    entries.withLock { $0.append(entry) }
  }
}

/// The methods of a data manager, to choose where a test manager fails.
enum TransactionTestPhase: String, Sendable, CaseIterable {
  case abort, tpcBegin, commit, tpcVote, tpcFinish, tpcAbort, savepoint, rollback
}

/// The error a test manager throws, naming who threw it where.
struct TransactionTestFailure: Error, Equatable {
  let manager: String
  let phase: TransactionTestPhase
}

/// A data manager that records every call as "name.phase", throws in the phases it is told to,
/// and holds an integer value that savepoints save and restore.
final class TransactionTestDataManager: DataManager {
  private struct State {
    var value = 0
    var failing: Set<TransactionTestPhase>
    var calledOnBlockingQueue: [Bool] = []
  }

  let name: String
  let sortKey: String
  let blocks: Bool
  /// Where its phases may block: the transaction layer's queue, or nowhere.
  var commitExecutor: (any CommitExecutor)? { blocks ? BlockingQueueExecutor.shared : nil }
  private let log: TransactionCallLog
  private let state: Mutex<State>
  /// Runs inside `tpcVote`, for tests that call back into the transaction.
  private let onVote: (@Sendable (Transaction) throws -> Void)?

  init(
    _ name: String,
    sortKey: String? = nil,
    log: TransactionCallLog,
    failingIn failing: Set<TransactionTestPhase> = [],
    blocks: Bool = true,
    onVote: (@Sendable (Transaction) throws -> Void)? = nil
  ) {
    self.name = name
    self.blocks = blocks
    self.sortKey = sortKey ?? name
    self.log = log
    self.state = Mutex(State(failing: failing))
    self.onVote = onVote
  }

  var value: Int {
    get { state.withLock { $0.value } }
    set { state.withLock { $0.value = newValue } }
  }

  /// For every call, whether it ran on the queue that async commits use.
  var calledOnBlockingQueue: [Bool] { state.withLock { $0.calledOnBlockingQueue } }

  func abort(_ transaction: Transaction) throws { try record(.abort) }
  func tpcBegin(_ transaction: Transaction) throws { try record(.tpcBegin) }
  func commit(_ transaction: Transaction) throws { try record(.commit) }
  func tpcFinish(_ transaction: Transaction) throws { try record(.tpcFinish) }
  func tpcAbort(_ transaction: Transaction) throws { try record(.tpcAbort) }

  func tpcVote(_ transaction: Transaction) throws {
    try record(.tpcVote)
    try onVote?(transaction)
  }

  func savepoint() throws -> any DataManagerSavepoint {
    try record(.savepoint)
    return Savepoint(manager: self, value: value)
  }

  fileprivate func record(_ phase: TransactionTestPhase) throws {
    log.record("\(name).\(phase.rawValue)")
    let onBlockingQueue = DispatchQueue.getSpecific(key: BlockingQueueExecutor.key) != nil
    let fails = state.withLock { state in
      state.calledOnBlockingQueue.append(onBlockingQueue)
      return state.failing.contains(phase)
    }
    if fails { throw TransactionTestFailure(manager: name, phase: phase) }
  }
}

private struct Savepoint: DataManagerSavepoint {
  let manager: TransactionTestDataManager
  let value: Int

  func rollback() throws {
    try manager.record(.rollback)
    manager.value = value
  }
}

/// The error a `withTransaction` body throws in tests, to tell it from the managers' errors.
struct TransactionBodyFailure: Error, Equatable {}
