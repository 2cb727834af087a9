import InMemoryLogging
import Logging
import Memcached
import MemcachedTestSupport
import Testing

@Suite("Logging")
struct LoggingTests {
  @Test func aNodeGoingDownIsLoggedOnceAsAWarningAndItsReturnAsInfo() async throws {
    try await withMemcached(count: 2) { servers in
      let handler = InMemoryLogHandler()
      let logger = Logger(label: "test") { _ in handler }
      var configuration = MemcachedConfiguration(servers: servers.map(\.server))
      configuration.keyPrefix = uniqueKeyPrefix()
      configuration.retryTimeout = .milliseconds(200)
      let client = try MemcachedClient(configuration: configuration, logger: logger)
      let victim = servers[0]
      let keys = try (0..<40).map { "l\($0)" }.filter {
        try client.server(forKey: $0) == victim.server
      }
      victim.stop()
      for key in keys { _ = try? client.get(key) }
      let warnings = handler.entries.filter { $0.level == .warning }
      #expect(warnings.count == 1)
      #expect(warnings.first?.message == "memcached node down")
      #expect(warnings.first?.metadata["memcached.server"] == "\(victim.server)")
      try victim.start()
      let deadline = ContinuousClock.now + .seconds(10)
      while !handler.entries.contains(where: { $0.level == .info }),
        ContinuousClock.now < deadline
      {
        try await Task.sleep(for: .milliseconds(50))
      }
      let back = handler.entries.filter { $0.level == .info }
      #expect(back.map(\.message) == ["memcached node answers again"])
    }
  }
}
