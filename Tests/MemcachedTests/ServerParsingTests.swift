import Memcached
import Testing

@Suite("Server lines and expirations")
struct ServerParsingTests {
  @Test(arguments: [
    ("cache-1:11311", MemcachedServer(host: "cache-1", port: 11311)),
    ("cache-1", MemcachedServer(host: "cache-1", port: 11211)),
    ("  10.0.0.5:11211  ", MemcachedServer(host: "10.0.0.5", port: 11211)),
    ("[::1]:11212", MemcachedServer(host: "::1", port: 11212)),
    ("[::1]", MemcachedServer(host: "::1", port: 11211)),
    ("::1", MemcachedServer(host: "::1", port: 11211)),
    ("/var/run/memcached.sock", MemcachedServer(socketPath: "/var/run/memcached.sock")),
    ("unix:/tmp/m.sock", MemcachedServer(socketPath: "/tmp/m.sock")),
    ("cache-1:11211 3", MemcachedServer(host: "cache-1", port: 11211, weight: 3)),
    ("cache-1:11211/?2", MemcachedServer(host: "cache-1", port: 11211, weight: 2)),
  ])
  func serverLinesParse(line: String, expected: MemcachedServer) throws {
    #expect(try MemcachedServer(parsing: line) == expected)
  }

  @Test(arguments: [
    "", "host:0", "host:65536", "host:port", "[::1", "[::1]x", "host:1 weight", ":11211",
    "host:1 0",
  ])
  func badServerLinesAreErrorsThatQuoteTheLine(line: String) throws {
    let error = try #require(throws: MemcachedError.self) { try MemcachedServer(parsing: line) }
    #expect(error.returnCode == .invalidConfiguration)
    #expect(error.description.contains("\"\(line)\""))
  }

  @Test func theServersPropertyIgnoresBlankLinesAndSpaces() throws {
    let configuration = try MemcachedConfiguration(
      serverLines: "\n  127.0.0.1:11211\n\n\t[::1]:11212 \n/tmp/mc.sock\n")
    #expect(
      configuration.servers == [
        MemcachedServer(host: "127.0.0.1", port: 11211),
        MemcachedServer(host: "::1", port: 11212),
        MemcachedServer(socketPath: "/tmp/mc.sock"),
      ])
  }

  @Test func aBadLineInTheServersPropertyIsQuoted() throws {
    let error = try #require(throws: MemcachedError.self) {
      try MemcachedConfiguration(serverLines: "127.0.0.1:11211\nbad:port:x:y]\n")
    }
    #expect(error.description.contains("bad:port:x:y]"))
  }

  @Test func serversPrintAsServerLines() {
    #expect(MemcachedServer(host: "::1", port: 5).description == "[::1]:5")
    #expect(MemcachedServer(host: "a", port: 5).description == "a:5")
  }

  @Test func expirationsFollowMemcachedsRule() {
    #expect(MemcachedExpiration.never.secondsFromNow == 0)
    #expect(MemcachedExpiration.seconds(0) == .never)
    #expect(MemcachedExpiration.seconds(-5) == .expired)
    #expect(MemcachedExpiration.seconds(90).secondsFromNow == 90)
    let fortyDays = 40 * 24 * 3600
    #expect(MemcachedExpiration.seconds(fortyDays).secondsFromNow == fortyDays)
    #expect(MemcachedExpiration.after(.milliseconds(1_500)).secondsFromNow == 2)
    #expect(MemcachedExpiration.after(.zero) == .expired)
    let literal: MemcachedExpiration = 30
    #expect(literal == .seconds(30))
  }

  @Test func anOutlastingExpirationCoversMemcachedsClockTick() {
    #expect(MemcachedExpiration.outlasting(.seconds(2)) == .seconds(3))
    #expect(MemcachedExpiration.outlasting(.milliseconds(1_500)) == .seconds(3))
    #expect(MemcachedExpiration.outlasting(.milliseconds(1)) == .seconds(2))
    #expect(MemcachedExpiration.outlasting(.zero) == .expired)
    #expect(MemcachedExpiration.outlasting(.seconds(-1)) == .expired)
    #expect(MemcachedExpiration.outlasting(.seconds(Int64.max)) == .after(.seconds(Int64.max)))
  }
}

@Test func printingAConfigurationHidesTheSASLPassword() {
  var configuration = MemcachedConfiguration(servers: [])
  configuration.credentials = .init(username: "app", password: "hunter2")
  #expect(!"\(configuration)".contains("hunter2"))
  #expect(!String(reflecting: configuration).contains("hunter2"))
  #expect("\(configuration)".contains("app"))
}
