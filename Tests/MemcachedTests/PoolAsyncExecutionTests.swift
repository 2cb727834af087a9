import Foundation
import Memcached
import MemcachedTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Calls `attempt` until it returns a value, at most 200 times: an inline call is refused while
/// a test running in parallel holds the process's one inline slot.
/// Adaptive execution that a loaded test machine does not turn off: a call counts as slow only
/// after 10 s.
let patientAdaptive = MemcachedAsyncExecution.adaptive(
  slowCallThreshold: .seconds(10), backoff: .seconds(5))

private func eventually<R>(_ attempt: () async throws -> R?) async throws -> R? {
  for _ in 0..<200 {
    if let result = try await attempt() { return result }
    try await Task.sleep(for: .milliseconds(5))
  }
  return nil
}

@Suite("MemcachedPool async execution")
struct PoolAsyncExecutionTests {
  @Test func theDefaultIsAdaptive() throws {
    let configuration = MemcachedConfiguration(servers: [])
    #expect(configuration.asyncExecution == .adaptive)
    #expect(configuration.asyncExecution.allowsInline)
    #expect(configuration.asyncExecution.slowCallThreshold == .milliseconds(5))
    #expect(MemcachedAsyncExecution.offload.description == "offload")
  }

  @Test func aBadPolicyIsRefused() throws {
    let error = #expect(throws: MemcachedError.self) {
      _ = try makePool([MemcachedServer(host: "127.0.0.1", port: 1)]) {
        $0.asyncExecution = .adaptive(slowCallThreshold: .zero, backoff: .seconds(1))
      }
    }
    #expect(error?.returnCode == .invalidConfiguration)
  }

  @Test func adaptiveCallsRunOnTheCallingThreadWhileHealthy() async throws {
    try await withMemcached { servers in
      let pool = try makePool(servers.map(\.server)) { $0.asyncExecution = patientAdaptive }
      #expect(try await pool.get("first") == nil)
      // The first call of a pool proves the server answers; it never runs inline.
      #expect(pool.asyncStatistics == MemcachedAsyncStatistics(inline: 0, offloaded: 1))
      let sameThread = try await eventually { () async throws -> Bool? in
        let before = pool.asyncStatistics.inline
        let caller = pthread_self()
        let ranOn = try await pool.withConnection { _ in pthread_self() }
        // Only an inline call says anything about threads.
        guard pool.asyncStatistics.inline > before else { return nil }
        return pthread_equal(ranOn, caller) != 0
      }
      #expect(sameThread == true)
      let before = pool.asyncStatistics
      for index in 0..<20 { try await pool.set("k\(index)", value: [UInt8(index)]) }
      let statistics = pool.asyncStatistics
      #expect(statistics.inline > before.inline)
      #expect(statistics.inline + statistics.offloaded == before.inline + before.offloaded + 20)
      #expect(statistics.backoffs == 0)
    }
  }

  @Test func offloadNeverRunsACallInline() async throws {
    try await withMemcached { servers in
      let pool = try makePool(servers.map(\.server)) { $0.asyncExecution = .offload }
      for index in 0..<20 {
        try await pool.set("k\(index)", value: [UInt8(index)])
        #expect(try await pool.get("k\(index)")?.value == [UInt8(index)])
      }
      #expect(pool.asyncStatistics == MemcachedAsyncStatistics(inline: 0, offloaded: 40))
    }
  }

  @Test func aTimeoutTurnsInlineCallsOffForTheBackoff() async throws {
    let silent = try ListeningSocket()
    let pool = try makePool([silent.server]) {
      $0.pollTimeout = .milliseconds(100)
      $0.receiveTimeout = .milliseconds(100)
      $0.sendTimeout = .milliseconds(100)
      $0.asyncExecution = .adaptive(slowCallThreshold: .seconds(10), backoff: .seconds(60))
    }
    let error = await #expect(throws: MemcachedError.self) { try await pool.get("k") }
    #expect(error?.isTimeout == true)
    #expect(pool.asyncStatistics.backoffs == 1)
    let inlineBefore = pool.asyncStatistics.inline
    for _ in 0..<3 { _ = try? await pool.get("k") }
    #expect(pool.asyncStatistics.inline == inlineBefore)
    #expect(pool.asyncStatistics.offloaded >= 3)
  }

  @Test func aSlowCallTurnsInlineCallsOffUntilTheBackoffHasPassed() async throws {
    try await withMemcached { servers in
      let pool = try makePool(servers.map(\.server)) {
        $0.asyncExecution = .adaptive(slowCallThreshold: .milliseconds(20), backoff: .seconds(1))
      }
      let start = ContinuousClock.now
      try await pool.withConnection { _ in Thread.sleep(forTimeInterval: 0.05) }
      #expect(pool.asyncStatistics.backoffs == 1)
      let inlineBefore = pool.asyncStatistics.inline
      for _ in 0..<5 { try await pool.withConnection { _ in } }
      // A loaded machine may take the whole backoff to get here (a task can wait seconds for a
      // thread while the suite runs); then nothing can be said.
      if ContinuousClock.now - start < .milliseconds(900) {
        #expect(pool.asyncStatistics.inline == inlineBefore)
      }
      try await Task.sleep(for: .milliseconds(1_100))
      let cameBack = try await eventually { () async throws -> Bool? in
        try await pool.withConnection { _ in }
        return pool.asyncStatistics.inline > inlineBefore ? true : nil
      }
      #expect(cameBack == true)
      #expect(pool.asyncStatistics.backoffs == 1)
    }
  }

  @Test func onlyOneCallOfTheProcessRunsInlineAtATime() async throws {
    try await withMemcached { servers in
      let first = try makePool(servers.map(\.server)) { $0.asyncExecution = patientAdaptive }
      let second = try makePool(servers.map(\.server)) { $0.asyncExecution = patientAdaptive }
      // Each pool's first call proves its server answers.
      try await first.set("warm", value: [])
      try await second.set("warm", value: [])
      let release = DispatchSemaphore(value: 0)
      // A call of `first` runs inline and keeps the process's inline slot until released (it
      // holds one cooperative thread meanwhile).
      let held = try await eventually { () async throws -> Bool? in
        let entered = DispatchSemaphore(value: 0)
        let inlineBefore = first.asyncStatistics.inline
        let holder = Task {
          try await first.withConnection { _ in
            entered.signal()
            if first.asyncStatistics.inline > inlineBefore { release.wait() }
          }
        }
        try await onOwnThread { entered.wait() }
        guard first.asyncStatistics.inline > inlineBefore else {
          try await holder.value
          return nil
        }
        return true
      }
      #expect(held == true)
      let before = second.asyncStatistics
      try await second.set("k", value: [1])
      #expect(second.asyncStatistics.inline == before.inline)
      #expect(second.asyncStatistics.offloaded == before.offloaded + 1)
      release.signal()
    }
  }

  @Test(arguments: [patientAdaptive, .offload])
  func anAsyncBodyLendsItsConnectionToItsBlockingPoolCalls(
    execution: MemcachedAsyncExecution
  ) async throws {
    try await withMemcached { servers in
      let pool = try makePool(servers.map(\.server)) {
        $0.poolSize = 1
        $0.poolCheckoutTimeout = .milliseconds(200)
        $0.asyncExecution = execution
      }
      try await pool.set("warm", value: [])
      for index in 0..<5 {
        let value = try await pool.withConnection { _ in
          // With one connection, borrowing a second one would time out.
          try pool.withConnection { try $0.set("k", value: [UInt8(index)]) }
          return try pool.withConnection { try $0.get("k")?.value }
        }
        #expect(value == [UInt8(index)])
      }
      // The connection is back in the pool afterwards.
      #expect(try await pool.get("k")?.value == [4])
    }
  }
}
