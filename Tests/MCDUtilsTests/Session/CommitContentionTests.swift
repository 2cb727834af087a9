import Foundation
import Memcached
import MemcachedTestSupport
import Testing

@testable import MCDUtils

/// Merging commits of one session under contention all succeed: a conflict that a merge resolves
/// is no error a user can act on. The writers are `SessionWriter` processes (blocking API, one
/// replica over two nodes); each prints how many of its transactions gave up and how long its
/// slowest commit took, which these tests print in turn.
@Suite struct CommitContentionTests {
  /// What all the writers did: the transactions that gave up, and the slowest commit.
  private struct Outcome {
    var gaveUp = 0
    var slowestMilliseconds = 0
  }

  /// Runs `processes` writers of `threads` threads × `transactions` merging transactions each on
  /// one session, and checks that the session holds every transaction's key.
  private func contend(processes: Int, threads: Int, transactions: Int, _ name: String)
    async throws -> Outcome
  {
    try await withMemcached(count: 2) { nodes in
      let prefix = uniqueKeyPrefix(name)
      var configuration = MemcachedConfiguration(servers: nodes.map(\.server))
      configuration.keyPrefix = prefix
      configuration.replicas = 1
      let container = MemCacheSessionDataContainer(
        proxy: try MemCacheProxy(configuration: configuration))
      try await withTransaction { _ in try await container.newOrExisting("shared")["start"] = 0 }
      let servers = nodes.map { "127.0.0.1:\($0.port)" }.joined(separator: ",")
      let writer = try builtExecutable("SessionWriter")
      let runs = try await withThrowingTaskGroup(of: (Int, ChildProcessResult).self) { group in
        for process in 0..<processes {
          group.addTask {
            let arguments = [
              servers, prefix, "shared", "p\(process)", "\(threads)", "\(transactions)",
              "\(processes)",
            ]
            return (process, try await runChildProcess(writer, arguments: arguments, timeout: 300))
          }
        }
        return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
      }
      var outcome = Outcome()
      for process in 0..<processes {
        let run = try #require(runs[process])
        let output = String(decoding: run.stdout, as: UTF8.self)
        try #require(
          run.status == 0, "writer \(process): \(String(decoding: run.stderr, as: UTF8.self))")
        let words = output.split(whereSeparator: \.isWhitespace)
        try #require(words.count == 4, "writer \(process) printed: \(output)")
        outcome.gaveUp += Int(words[1]) ?? -1
        outcome.slowestMilliseconds = max(outcome.slowestMilliseconds, Int(words[3]) ?? -1)
      }
      let session = try #require(try await container.get("shared"))
      var missing: [String] = []
      for process in 0..<processes {
        for thread in 0..<threads {
          for index in 0..<transactions where session["p\(process)-\(thread)-\(index)"] == nil {
            missing.append("p\(process)-\(thread)-\(index)")
          }
        }
      }
      #expect(missing.isEmpty, "\(missing.count) keys missing: \(missing.prefix(10))")
      print(
        "\(name): \(processes) × \(threads) × \(transactions) merging commits, "
          + "\(outcome.gaveUp) gave up, the slowest took \(outcome.slowestMilliseconds) ms")
      return outcome
    }
  }

  @Test func sixteenThreadsOfBlockingMergingCommitsOnOneSessionNeverGiveUp() async throws {
    let outcome = try await contend(processes: 1, threads: 16, transactions: 30, "threads")
    #expect(outcome.gaveUp == 0)
  }

  @Test func sixProcessesOfMergingCommitsOnOneSessionNeverGiveUp() async throws {
    let outcome = try await contend(processes: 6, threads: 1, transactions: 30, "processes")
    #expect(outcome.gaveUp == 0)
  }
}
