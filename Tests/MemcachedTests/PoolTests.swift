import Foundation
import Memcached
import MemcachedTestSupport
import Synchronization
import Testing

/// A pool for one test, with a key prefix of the test's own.
func makePool(
  _ servers: [MemcachedServer], prefix: String = uniqueKeyPrefix(#function),
  configure: (inout MemcachedConfiguration) -> Void = { _ in }
) throws -> MemcachedPool {
  var configuration = MemcachedConfiguration(servers: servers)
  configuration.keyPrefix = prefix
  configure(&configuration)
  return try MemcachedPool(configuration: configuration)
}

@Suite("MemcachedPool")
struct PoolTests {
  @Test func asyncOperationsReachMemcached() async throws {
    try await withMemcached(count: 2) { servers in
      let pool = try makePool(servers.map(\.server))
      try await pool.set("a", value: [1, 2])
      #expect(try await pool.get("a")?.value == [1, 2])
      #expect(try await pool.add("a", value: [3]) == false)
      #expect(try await pool.increment("n", by: 2, initial: 5) == 5)
      #expect(try await pool.getMulti(["a", "b"]).keys.sorted() == ["a"])
      #expect(try await pool.delete("a"))
      #expect(try await pool.exists("a") == false)
      let pings = try await pool.ping()
      #expect(pings.count == 2)
    }
  }

  @Test func manyConcurrentTasksShareTheConnections() async throws {
    try await withMemcached { servers in
      let pool = try makePool(servers.map(\.server)) { $0.poolSize = 4 }
      try await withThrowingTaskGroup(of: Void.self) { group in
        for task in 0..<64 {
          group.addTask {
            for step in 0..<20 {
              let key = "c\(task)-\(step)"
              try await pool.set(key, value: [UInt8(task), UInt8(step)])
              #expect(try await pool.get(key)?.value == [UInt8(task), UInt8(step)])
            }
          }
        }
        try await group.waitForAll()
      }
    }
  }

  @Test func blockingWithClientWorksFromManyThreads() async throws {
    try await withMemcached { servers in
      let pool = try makePool(servers.map(\.server)) { $0.poolSize = 3 }
      let failures = Counter()
      DispatchQueue.concurrentPerform(iterations: 12) { thread in
        do {
          try pool.withConnection { client in
            for step in 0..<20 {
              try client.set("t\(thread)-\(step)", value: [UInt8(step)])
              if try client.get("t\(thread)-\(step)")?.value != [UInt8(step)] { failures.add() }
            }
          }
        } catch {
          failures.add()
        }
      }
      #expect(failures.value == 0)
    }
  }

  @Test func aBorrowerWaitsAtMostTheCheckoutTimeout() async throws {
    try await withMemcached { servers in
      /// A pool of one connection, held by another thread.
      func heldPool(_ timeout: Duration) throws -> (MemcachedPool, DispatchSemaphore) {
        let pool = try makePool(servers.map(\.server)) {
          $0.poolSize = 1
          $0.poolCheckoutTimeout = timeout
        }
        return (pool, holdTheOnlyConnection(of: pool))
      }
      // Borrowers of a pool with a 200 ms timeout and of one with 3 s (the default is 5 s)
      // start together: the first gives up first, however slow a loaded machine makes both.
      let (short, releaseShort) = try heldPool(.milliseconds(200))
      let (long, releaseLong) = try heldPool(.seconds(3))
      final class Order: Sendable { let names = Mutex<[String]>([]) }
      let order = Order()
      await withTaskGroup(of: Void.self) { group in
        for (name, pool) in [("short", short), ("long", long)] {
          group.addTask {
            let error = await #expect(throws: MemcachedError.self) { try await pool.get("k") }
            #expect(error?.returnCode == .poolTimeout, "\(name)")
            order.names.withLock { $0.append(name) }
          }
        }
      }
      #expect(order.names.withLock { $0 } == ["short", "long"])
      let syncError = #expect(throws: MemcachedError.self) { try short.withConnection { _ in } }
      #expect(syncError?.returnCode == .poolTimeout)
      releaseShort.signal()
      releaseLong.signal()
      #expect(try await short.get("k") == nil)
    }
  }

  @Test func hungServerDoesNotStarveUnrelatedTasks() async throws {
    // A starved task would run only once the hung calls give up (after their 10 s timeouts):
    // it must finish while every hung call is still waiting, however long a loaded machine
    // delays it short of that.
    let silent = try ListeningSocket()
    let pool = try makePool([silent.server]) {
      $0.poolSize = 8
      $0.pollTimeout = .seconds(10)
      $0.receiveTimeout = .seconds(10)
      $0.sendTimeout = .seconds(10)
      $0.poolCheckoutTimeout = .seconds(11)
    }
    final class Count: Sendable { let value = Atomic(0) }
    let finished = Count()
    let hung = Task {
      await withTaskGroup(of: Void.self) { group in
        for index in 0..<200 {
          group.addTask {
            _ = try? await pool.get("hung-\(index)")
            finished.value.add(1, ordering: .relaxed)
          }
        }
      }
    }
    // Give the 200 tasks time to take every connection and queue behind them.
    try await Task.sleep(for: .milliseconds(100))
    let unrelated = Task { () -> Int in
      var sum = 0
      for value in 0..<1_000 { sum &+= value }
      try await Task.sleep(for: .milliseconds(10))
      return sum
    }
    #expect(try await unrelated.value == 499_500)
    #expect(
      finished.value.load(ordering: .relaxed) == 0, "the unrelated task waited for hung calls")
    // With the default adaptive execution no call ran inline: a pool's server must answer
    // promptly once before any call may hold a cooperative thread.
    #expect(pool.asyncStatistics.inline == 0)
    hung.cancel()
    await hung.value
  }

  @Test func cancellingAWaitingTaskEndsItsWait() async throws {
    try await withMemcached { servers in
      let pool = try makePool(servers.map(\.server)) {
        $0.poolSize = 1
        $0.poolCheckoutTimeout = .seconds(30)
      }
      let release = holdTheOnlyConnection(of: pool)
      let waiting = Task { try await pool.get("k") }
      try await Task.sleep(for: .milliseconds(50))
      let start = ContinuousClock.now
      waiting.cancel()
      await #expect(throws: CancellationError.self) { try await waiting.value }
      // Well short of the 30 s checkout timeout, whatever the machine's load.
      #expect(ContinuousClock.now - start < .seconds(10))
      release.signal()
    }
  }
}

/// Borrows a pool's only connection on a thread of its own (blocking a global-queue worker would
/// starve other tests) until the returned semaphore is signalled.
func holdTheOnlyConnection(of pool: MemcachedPool) -> DispatchSemaphore {
  let held = DispatchSemaphore(value: 0)
  let release = DispatchSemaphore(value: 0)
  Thread.detachNewThread {
    try? pool.withConnection { _ in
      held.signal()
      release.wait()
    }
  }
  held.wait()
  return release
}

/// A thread-safe counter for tests.
final class Counter: @unchecked Sendable {
  // @unchecked: `count` is only touched under `lock`.
  private let lock = NSLock()
  private var count = 0

  func add() {
    lock.lock()
    count += 1
    lock.unlock()
  }

  var value: Int {
    lock.lock()
    defer { lock.unlock() }
    return count
  }
}
