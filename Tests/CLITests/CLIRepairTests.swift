import Foundation
import Memcached
import MemcachedTestSupport
import Testing

/// `mcdutils repair` and `mcdutils status` against three real memcached nodes, one restarted
/// empty, as an operator runs them during a rolling restart.
@Suite struct CLIRepairTests {
  /// Adds session `id` with one entry through `mcdutils session add`, with one replica.
  private func addSession(_ id: String, _ servers: [MemcachedProcess], prefix: String)
    async throws
  {
    let run = try await runCLI(
      [
        "session", "add", "--id", id, "--replicas", "1", "--key-prefix", prefix,
        "--servers", serversArgument(servers),
      ], input: "value \(id)\n")
    #expect(run.status == 0, "\(run.stderr)")
  }

  @Test func repairPutsBackARestartedNodesCopiesPrintsASummaryAndExits0() async throws {
    try await withMemcached(count: 3) { servers in
      let prefix = uniqueKeyPrefix()
      let ids = (0..<20).map { "cli-repair-\($0)" }
      for id in ids { try await addSession(id, servers, prefix: prefix) }
      servers[1].stop()
      try servers[1].start()

      let arguments = [
        "repair", "--replicas", "1", "--key-prefix", prefix, "--node", "\(servers[1].server)",
        "--servers", serversArgument(servers),
      ]
      let run = try await runCLI(arguments)
      #expect(run.status == 0, "\(run.stderr)")
      let summary = try #require(run.lines.last)
      #expect(summary.hasPrefix("sessions "), "\(summary)")
      #expect(summary.contains("skipped 0, errors 0"), "\(summary)")
      #expect(!summary.contains("copies written 0,"), "\(summary)")

      // Run again: every copy is in place, nothing is written.
      let again = try await runCLI(arguments)
      #expect(again.status == 0, "\(again.stderr)")
      #expect(again.lines.last?.contains("copies written 0, skipped 0, errors 0") == true)
    }
  }

  @Test func repairExits1WhenTheNodeItRepairsIsDown() async throws {
    try await withMemcached(count: 3) { servers in
      let prefix = uniqueKeyPrefix()
      for id in (0..<20).map({ "cli-down-\($0)" }) {
        try await addSession(id, servers, prefix: prefix)
      }
      servers[2].stop()
      let run = try await runCLI([
        "repair", "--replicas", "1", "--key-prefix", prefix, "--node", "\(servers[2].server)",
        "--servers", serversArgument(servers),
      ])
      #expect(run.status == 1, "\(run.stdout) \(run.stderr)")
      #expect(run.lines.last?.contains("errors 0") == true, "\(run.stdout)")
      #expect(run.lines.last?.contains("skipped 0,") == false, "\(run.stdout)")
    }
  }

  @Test func statusPrintsEachNodeUpWithItsSessionsAndADownNode() async throws {
    try await withMemcached(count: 3) { servers in
      let prefix = uniqueKeyPrefix()
      let ids = (0..<10).map { "cli-status-\($0)" }
      for id in ids { try await addSession(id, servers, prefix: prefix) }
      let arguments = [
        "status", "--replicas", "1", "--key-prefix", prefix, "--servers", serversArgument(servers),
      ]
      let run = try await runCLI(arguments)
      #expect(run.status == 0, "\(run.stderr)")
      #expect(run.lines.count == 3)
      var sessions = 0
      for (line, server) in zip(run.lines, servers) {
        let fields = line.split(separator: " ").map(String.init)
        #expect(fields.first == "\(server.server)" && fields.dropFirst().first == "up", "\(line)")
        #expect(fields.count == 7 && fields[5] == "sessions", "\(line)")
        sessions += fields.last.flatMap { Int($0) } ?? 0
      }
      #expect(sessions == ids.count * 2)

      servers[0].stop()
      let down = try await runCLI(arguments)
      #expect(down.status == 1)
      #expect(down.lines.first?.hasPrefix("\(servers[0].server) down ") == true, "\(down.stdout)")
    }
  }
}
