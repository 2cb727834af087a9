import Foundation
import InMemoryLogging
import Logging
import Memcached
import MemcachedTestSupport
import Testing

@testable import MCDUtils

/// A session write that could not reach one of its copies says so in the log.
@Suite struct SkippedCopyLogTests {
  @Test func aCopyAWriteSkippedIsLoggedAtDebugWithItsNode() async throws {
    try await withMemcached(count: 2) { processes in
      let handler = InMemoryLogHandler()
      var logger = Logger(label: "skipped") { _ in handler }
      logger.logLevel = .debug
      let pool = try makePool(processes.map(\.server), prefix: uniqueKeyPrefix()) {
        $0.replicas = 1
      }
      let container = MemCacheSessionDataContainer(
        proxy: MemCacheProxy(store: pool, logger: logger))
      processes[1].stop()
      // Two nodes, one replica: every session has a copy on the stopped node.
      try await container.writeValue("logged", "v")
      let lines = handler.entries.filter {
        $0.level == .debug && $0.message.description == "a session copy was not written"
      }
      #expect(lines.count == 1, "\(handler.entries.map(\.message))")
      #expect(lines.first?.metadata["memcached.node"]?.description == "1")
      #expect(try await container.get("logged")?["value"] == "v")
    }
  }
}
