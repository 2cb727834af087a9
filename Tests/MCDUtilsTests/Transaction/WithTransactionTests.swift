import Testing

@testable import MCDUtils

@Suite struct WithTransactionTests {
  @Test func commitsWhenTheBodyReturns() throws {
    let log = TransactionCallLog()

    let result = try withTransaction { transaction in
      try transaction.join(TransactionTestDataManager("m", log: log))
      return 42
    }

    #expect(result == 42)
    #expect(log.calls == ["m.tpcBegin", "m.commit", "m.tpcVote", "m.tpcFinish"])
  }

  @Test func abortsAndRethrowsWhenTheBodyThrows() throws {
    let log = TransactionCallLog()

    #expect(throws: TransactionBodyFailure()) {
      try withTransaction { transaction in
        try transaction.join(TransactionTestDataManager("m", log: log))
        throw TransactionBodyFailure()
      }
    }

    #expect(log.calls == ["m.abort"])
  }

  @Test func anAbortErrorDoesNotHideTheBodyError() throws {
    #expect(throws: TransactionBodyFailure()) {
      try withTransaction { transaction in
        try transaction.join(
          TransactionTestDataManager("m", log: TransactionCallLog(), failingIn: [.abort]))
        throw TransactionBodyFailure()
      }
    }
  }

  @Test func abortsADoomedTransactionAndStillReturnsTheResult() throws {
    let log = TransactionCallLog()

    let result = try withTransaction { transaction in
      try transaction.join(TransactionTestDataManager("m", log: log))
      try transaction.doom()
      return "read-only"
    }

    #expect(result == "read-only")
    #expect(log.calls == ["m.abort"])
  }

  @Test func theTransactionIsCurrentInsideTheBodyOnly() throws {
    #expect(Transaction.current == nil)

    try withTransaction { transaction in
      #expect(Transaction.current === transaction)
    }

    #expect(Transaction.current == nil)
  }

  @Test func commitErrorsReachTheCaller() throws {
    #expect(throws: TransactionTestFailure(manager: "m", phase: .tpcVote)) {
      try withTransaction { transaction in
        try transaction.join(
          TransactionTestDataManager("m", log: TransactionCallLog(), failingIn: [.tpcVote]))
      }
    }
  }
}
