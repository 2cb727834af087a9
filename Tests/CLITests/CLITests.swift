import Foundation
import Memcached
import MemcachedTestSupport
import Testing

/// What one run of the `mcdutils` binary did.
struct CLIRun {
  /// The exit status.
  var status: Int32
  /// Everything written to standard output.
  var stdout: String
  /// Everything written to standard error.
  var stderr: String

  /// Standard output, line by line.
  var lines: [String] { stdout.split(separator: "\n").map(String.init) }
}

/// Runs the built `mcdutils` binary with the arguments, without `MCDUTILS_SERVERS` in its
/// environment unless `environmentServers` gives it, and with the `settings` given (a `nil`
/// value unsets the variable).
func runCLI(
  _ arguments: [String], environmentServers: String? = nil,
  settings: [String: String?] = [:], input: String? = nil
) async throws -> CLIRun {
  var environment = ProcessInfo.processInfo.environment
  environment["MCDUTILS_SERVERS"] = environmentServers
  for (name, value) in settings { environment[name] = value }
  let result = try await runChildProcess(
    try mcdutilsBinary(), arguments: arguments, environment: environment,
    input: input.map { Data($0.utf8) })
  return CLIRun(
    status: result.status,
    stdout: String(decoding: result.stdout, as: UTF8.self),
    stderr: String(decoding: result.stderr, as: UTF8.self))
}

/// The `mcdutils` executable that was built with the tests, in the same build folder.
func mcdutilsBinary() throws -> URL {
  try builtExecutable("mcdutils")
}

/// Runs `mcdutils` against a set of servers, given with `--servers`.
struct CLI {
  /// The memcached servers.
  var servers: [MemcachedProcess]

  /// Runs `mcdutils ARGUMENTS --servers SERVERS`.
  func callAsFunction(_ arguments: String...) async throws -> CLIRun {
    try await callAsFunction(arguments)
  }

  func callAsFunction(_ arguments: [String]) async throws -> CLIRun {
    try await runCLI(arguments + ["--servers", serversArgument(servers)])
  }
}

/// Why a CLI test could not run.
struct CLITestError: Error, CustomStringConvertible {
  /// What is missing.
  var description: String
}

/// The `--servers` argument for the processes.
func serversArgument(_ processes: [MemcachedProcess]) -> String {
  processes.map { "\($0.server)" }.joined(separator: ",")
}

@Suite("The mcdutils command against real memcached")
struct CLITests {
  @Test func pingPrintsAnOkLineWithTheRoundTripForEachServer() async throws {
    try await withMemcached(count: 2) { servers in
      let run = try await runCLI(["ping", "--servers", serversArgument(servers)])
      #expect(run.status == 0, "\(run.stderr)")
      #expect(run.lines.count == 2)
      for (line, server) in zip(run.lines, servers) {
        let fields = line.split(separator: " ")
        #expect(fields.count == 3, "\(line)")
        #expect(fields.first.map(String.init) == "\(server.server)")
        #expect(fields.dropFirst().first == "ok")
        #expect(fields.last.flatMap { Int($0) } != nil, "\(line)")
      }
    }
  }

  @Test func pingPrintsAnErrorLineAndExits1WhenAServerIsDown() async throws {
    try await withMemcached { servers in
      let down = try ListeningSocket.refusing()
      defer { down.close() }
      let deadAddress = "\(down.server)"
      let run = try await runCLI([
        "ping", "--servers", "\(servers[0].server)", "--servers", deadAddress,
      ])
      #expect(run.status == 1)
      #expect(run.lines.count == 2)
      #expect(run.lines.first?.hasPrefix("\(servers[0].server) ok ") == true)
      #expect(run.lines.last?.hasPrefix("\(deadAddress) error ") == true, "\(run.stdout)")
    }
  }

  @Test func setThenGetRoundTripsTheValue() async throws {
    try await withMemcached(count: 2) { servers in
      let key = uniqueKeyPrefix() + "greeting"
      let value = "héllo wörld, 🌍"
      let set = try await runCLI([
        "set", key, value, "--ttl", "60", "--servers", serversArgument(servers),
      ])
      #expect(set.status == 0, "\(set.stderr)")
      let get = try await runCLI(["get", key, "--servers", serversArgument(servers)])
      #expect(get.status == 0, "\(get.stderr)")
      #expect(get.stdout == value + "\n")
    }
  }

  @Test func getOfAMissingKeyPrintsNothingAndExits1() async throws {
    try await withMemcached { servers in
      let run = try await runCLI([
        "get", uniqueKeyPrefix() + "absent", "--servers", serversArgument(servers),
      ])
      #expect(run.status == 1)
      #expect(run.stdout.isEmpty)
      #expect(run.stderr.hasPrefix("mcdutils: "))
    }
  }

  @Test func deleteRemovesAnItemAndExits1WhenItWasAbsent() async throws {
    try await withMemcached { servers in
      let key = uniqueKeyPrefix() + "doomed"
      let cli = CLI(servers: servers)
      #expect(try await cli("set", key, "x").status == 0)
      #expect(try await cli("delete", key).status == 0)
      #expect(try await cli("get", key).status == 1)
      let again = try await cli("delete", key)
      #expect(again.status == 1)
      #expect(again.stderr.hasPrefix("mcdutils: "))
    }
  }

  @Test func touchSetsAnExpirationAndExits1WhenTheKeyIsAbsent() async throws {
    try await withMemcached { servers in
      let key = uniqueKeyPrefix() + "touched"
      let cli = CLI(servers: servers)
      #expect(try await cli("set", key, "x").status == 0)
      #expect(try await cli("touch", key, "--ttl", "600").status == 0)
      #expect(try await cli("get", key).stdout == "x\n")
      let absent = try await cli("touch", key + "-absent", "--ttl", "600")
      #expect(absent.status == 1)
      #expect(absent.stderr.hasPrefix("mcdutils: "))
    }
  }

  @Test func aNegativeTTLIsRefusedByNameWithOrWithoutAnEqualsSign() async throws {
    try await withMemcached { servers in
      let cli = CLI(servers: servers)
      for arguments in [["--ttl", "-1"], ["--ttl=-1"]] {
        let result = try await cli(["set", uniqueKeyPrefix() + "k", "v"] + arguments)
        #expect(result.status != 0)
        #expect(result.stderr.contains("--ttl must be 0 or more"), "\(result.stderr)")
      }
    }
  }

  @Test func incrPrintsTheNewValueAndExits1WhenTheKeyIsAbsent() async throws {
    try await withMemcached { servers in
      let key = uniqueKeyPrefix() + "counter"
      let cli = CLI(servers: servers)
      #expect(try await cli("set", key, "41").status == 0)
      #expect(try await cli("incr", key).stdout == "42\n")
      #expect(try await cli("incr", key, "8").stdout == "50\n")
      let absent = try await cli("incr", key + "-absent")
      #expect(absent.status == 1)
      #expect(absent.stdout.isEmpty)
    }
  }

  @Test func statsPrintsEachServerWithSortedValues() async throws {
    try await withMemcached(count: 2) { servers in
      let run = try await runCLI(["stats", "--servers", serversArgument(servers)])
      #expect(run.status == 0, "\(run.stderr)")
      let blocks = run.stdout.components(separatedBy: "\n\n")
      #expect(blocks.count == 2)
      for (block, server) in zip(blocks, servers) {
        let lines = block.split(separator: "\n").map(String.init)
        #expect(lines.first == "\(server.server)")
        let names = lines.dropFirst().map { String($0.prefix { $0 != " " }) }
        #expect(names == names.sorted())
        #expect(names.contains("curr_items"))
      }
    }
  }

  @Test func serverForPrintsTheServerTheLibraryPicksForEachKey() async throws {
    try await withMemcached(count: 3) { servers in
      let keys = (0..<6).map { "session-\($0)" }
      let run = try await runCLI(["server-for"] + keys + ["--servers", serversArgument(servers)])
      #expect(run.status == 0, "\(run.stderr)")
      let client = try MemcachedClient(
        configuration: MemcachedConfiguration(servers: servers.map(\.server)))
      let expected = try keys.map { "\($0) \(try client.server(forKey: $0))" }
      #expect(run.lines == expected)
    }
  }

  @Test func theServersComeFromMCDUTILSSERVERSWhenTheOptionIsAbsent() async throws {
    try await withMemcached(count: 2) { servers in
      let run = try await runCLI(["ping"], environmentServers: serversArgument(servers))
      #expect(run.status == 0, "\(run.stderr)")
      #expect(run.lines.count == 2)
      #expect(run.lines.allSatisfy { $0.contains(" ok ") })
    }
  }

  @Test func theOptionWinsOverTheEnvironment() async throws {
    try await withMemcached { servers in
      let run = try await runCLI(
        ["ping", "--servers", serversArgument(servers)], environmentServers: "not a server line")
      #expect(run.status == 0, "\(run.stderr)")
      #expect(run.lines.count == 1)
      #expect(run.lines.first?.hasPrefix("\(servers[0].server) ok ") == true)
    }
  }

  @Test func aBadServerLineIsAOneLineErrorWithANonZeroExit() async throws {
    let run = try await runCLI(["ping", "--servers", "127.0.0.1:99999"])
    #expect(run.status != 0)
    #expect(run.stdout.isEmpty)
    #expect(run.stderr.hasPrefix("mcdutils: "))
    #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
    #expect(run.stderr.contains("127.0.0.1:99999"))
  }

  @Test func noServersAtAllIsAUsageError() async throws {
    let run = try await runCLI(["ping"])
    #expect(run.status != 0)
    #expect(run.stderr.contains("MCDUTILS_SERVERS"))
  }
}
