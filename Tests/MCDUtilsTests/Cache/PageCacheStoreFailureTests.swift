import Foundation
import Memcached
import MemcachedTestSupport
import Synchronization
import Testing

@testable import MCDUtils

/// A page whose value a reachable memcached refuses to store never makes a lookup wait for the
/// lease of a caller whose store failed.
@Suite struct PageCacheStoreFailureTests {
  /// memcached with a 64 KiB item size: it refuses the pages below, which are larger.
  private static let smallItemServer = ["-I", "64k", "-o", "slab_chunk_max=32768"]

  /// A page larger than the server's item size even compressed: random hex digits.
  private static func largePage() -> String {
    String((0..<200_000).map { _ in "0123456789abcdef".randomElement()! })
  }

  /// Leases and waits far longer than any lookup below may take.
  private static var patientTuning: MemCacheZCache.Tuning {
    var tuning = MemCacheZCache.Tuning()
    tuning.leaseDuration = .seconds(60)
    tuning.leaseWait = .seconds(60)
    return tuning
  }

  /// Over the text protocol (as behind twemproxy), where the generation counter of a new
  /// object used to fail after the lease was taken, and the lease then stayed for its lifetime.
  @Test func aLookupAfterAFailedStoreComputesWithoutWaitingForTheLease() async throws {
    try await withMemcached(arguments: Self.smallItemServer) { processes in
      let pool = try makePool([processes[0].server], prefix: uniqueKeyPrefix()) {
        $0.binaryProtocol = false
      }
      let cache = MemCacheZCache(store: pool, tuning: Self.patientTuning)
      let page = CacheablePath(["site", "large"])
      let value = Self.largePage()
      let computed = Atomic(0)
      // The blocking form, on threads of its own.
      let lookup: @Sendable () async throws -> String = {
        try await onOwnThread {
          try cache.getOrCompute(String.self, for: page) {
            computed.add(1, ordering: .relaxed)
            return value
          }
        }
      }
      #expect(try await lookup() == value)
      #expect(cache.statistics.storeErrors >= 1)
      let started = ContinuousClock.now
      #expect(try await lookup() == value)
      let waited = ContinuousClock.now - started
      #expect(computed.load(ordering: .relaxed) == 2)
      // A wait for the lease lasts 60 s; a lookup that computes at once, well under 30 s even
      // on a loaded machine.
      #expect(waited < .seconds(30), "the second lookup took \(waited)")
    }
  }

  @Test func concurrentLookupsAfterAFailedStoreComputeTogetherInsteadOfInTurn() async throws {
    try await withMemcached(arguments: Self.smallItemServer) { processes in
      let pool = try makePool([processes[0].server], prefix: uniqueKeyPrefix())
      let cache = MemCacheZCache(store: pool, tuning: Self.patientTuning)
      let page = CacheablePath(["site", "large"])
      let value = Self.largePage()
      #expect(try await cache.getOrCompute(String.self, for: page) { value } == value)
      #expect(cache.statistics.storeErrors >= 1)

      // Three lookups whose computations each wait until all three compute at once: that
      // happens only if none of them waits for another's lease (one would wait 60 s).
      let gate = Gate(count: 3)
      try await withThrowingTaskGroup(of: String.self) { group in
        for _ in 0..<3 {
          group.addTask {
            try await cache.getOrCompute(String.self, for: page) {
              await gate.arriveAndWait(timeout: .seconds(20))
              return value
            }
          }
        }
        for try await page in group { #expect(page == value) }
      }
      #expect(await gate.metAll == 3)
    }
  }
}

/// Lets `count` tasks wait until all of them have arrived, or until a timeout.
private actor Gate {
  private let count: Int
  private var arrived = 0
  /// How many tasks saw all `count` arrive before their timeout.
  private(set) var metAll = 0

  init(count: Int) { self.count = count }

  /// Waits until `count` tasks arrived, or until `timeout` passed.
  func arriveAndWait(timeout: Duration) async {
    arrived += 1
    let deadline = ContinuousClock.now + timeout
    while arrived < count, ContinuousClock.now < deadline {
      try? await Task.sleep(for: .milliseconds(20))
    }
    if arrived >= count { metAll += 1 }
  }
}
