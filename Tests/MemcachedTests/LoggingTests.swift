import InMemoryLogging
import Logging
import Memcached
import TestSupport
import Testing

@Suite("Logging")
struct LoggingTests {
  @Test func serverFailuresAndEjectionsAreLoggedAsWarnings() async throws {
    try await withMemcached(count: 2) { servers in
      let handler = InMemoryLogHandler()
      let logger = Logger(label: "test") { _ in handler }
      var configuration = MemcachedConfiguration(servers: servers.map(\.server))
      configuration.keyPrefix = uniqueKeyPrefix()
      configuration.serverFailureLimit = 1
      let client = try MemcachedClient(configuration: configuration, logger: logger)
      let victim = servers[0]
      let keys = try (0..<40).map { "l\($0)" }.filter {
        try client.server(forKey: $0) == victim.server
      }
      victim.stop()
      for key in keys { _ = try? client.get(key) }
      let warnings = handler.entries.filter { $0.level == .warning }
      #expect(warnings.contains { $0.message == "memcached server failed" })
      #expect(warnings.contains { $0.message == "memcached server taken out of service" })
      #expect(warnings.allSatisfy { $0.metadata["memcached.server"] == "\(victim.server)" })
    }
  }
}
