import Foundation
import Memcached
import MemcachedTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The SASL user the servers know and its password, distinctive so that finding it in an
/// output or an argument list cannot be a coincidence; the wrong password contains the right
/// one.
private let username = "mcdutils-cli"
private let password = "Sesame-c11e7a-cli"
private let wrongPassword = "not-" + password
private let users = [username: password]

/// Runs `mcdutils` with `MCDUTILS_PASSWORD` set to `password` (unset for `nil`), without
/// `MCDUTILS_SERVERS`, and with `input` on standard input.
private func runCLI(
  _ arguments: [String], password: String?, input: String? = nil
) async throws -> CLIRun {
  try await runCLI(arguments, settings: [passwordVariable: password], input: input)
}

private let passwordVariable = "MCDUTILS_PASSWORD"

/// A file of its own holding `contents`, with the permissions given; removed by the caller.
private func passwordFile(_ contents: String, permissions: Int = 0o600) throws -> String {
  let path = NSTemporaryDirectory() + "mcdutils-cli-password-\(UUID().uuidString)"
  guard
    FileManager.default.createFile(
      atPath: path, contents: Data(contents.utf8), attributes: [.posixPermissions: 0o600])
  else { throw CLITestError(description: "cannot write \(path)") }
  try FileManager.default.setAttributes([.posixPermissions: permissions], ofItemAtPath: path)
  return path
}

/// The command line of every process whose arguments contain `marker`, by process id, as
/// `/proc/PID/cmdline` (what `ps` shows) gives it.
private func commandLines(containing marker: String) -> [Int32: [String]] {
  var found: [Int32: [String]] = [:]
  let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
  for entry in entries {
    guard let pid = Int32(entry), pid != getpid(),
      let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
    else { continue }
    let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    if arguments.contains(where: { $0.contains(marker) }) { found[pid] = arguments }
  }
  return found
}

/// Every subcommand of `mcdutils`, by its words.
private let subcommands = [
  ["ping"], ["stats"], ["get"], ["set"], ["delete"], ["touch"], ["incr"], ["server-for"],
  ["session", "add"], ["session", "show"], ["session", "invalidate"], ["cache", "set"],
  ["cache", "get"], ["cache", "invalidate"], ["cache", "key"],
]

@Suite("The mcdutils command against a real memcached -S")
struct CLICredentialTests {
  @Test func everyServerCommandWorksWithUsernameAndThePasswordFromTheEnvironment() async throws {
    try await withSASLMemcached(users: users) { servers in
      let key = uniqueKeyPrefix() + "greeting"
      let options = ["--servers", serversArgument(servers), "--username", username]
      func run(_ arguments: String...) async throws -> CLIRun {
        let run = try await runCLI(arguments + options, password: password)
        #expect(run.status == 0, "\(arguments): \(run.stderr)")
        #expect(!run.stdout.contains(password) && !run.stderr.contains(password))
        return run
      }
      _ = try await run("set", key, "hello", "--ttl", "60")
      #expect(try await run("get", key).stdout == "hello\n")
      _ = try await run("touch", key, "--ttl", "120")
      _ = try await run("set", key + "n", "40")
      #expect(try await run("incr", key + "n", "2").stdout == "42\n")
      _ = try await run("delete", key)
      #expect(try await run("ping").stdout.hasPrefix("\(servers[0].server) ok "))
      #expect(try await run("stats").stdout.contains("auth_cmds"))
      #expect(try await run("server-for", key).stdout.contains("\(servers[0].server)"))
      let path = uniqueKeyPrefix()
      _ = try await run("cache", "set", "--path", path, "--view", "index", "<p>cached</p>")
      let cached = try await run("cache", "get", "--path", path, "--view", "index")
      #expect(cached.stdout == "<p>cached</p>\n")
      _ = try await run("cache", "invalidate", "--path", path)
    }
  }

  @Test func theSessionCommandsWorkWithUsernameAndThePasswordFromTheEnvironment() async throws {
    try await withSASLMemcached(users: users) { servers in
      let options = [
        "--id", "browser-\(UUID().uuidString)", "--servers", serversArgument(servers),
        "--username", username,
      ]
      let added = try await runCLI(
        ["session", "add"] + options, password: password, input: "user alice\n")
      let shown = try await runCLI(["session", "show"] + options, password: password)
      #expect(added.status == 0, "\(added.stderr)")
      #expect(shown.status == 0, "\(shown.stderr)")
      #expect(shown.stdout.contains("alice"), "\(shown.stdout)")
      for run in [added, shown] {
        #expect(!run.stdout.contains(password) && !run.stderr.contains(password))
      }
    }
  }

  @Test func aPasswordFileWorksAndOnlyItsFirstLineIsThePassword() async throws {
    try await withSASLMemcached(users: users) { servers in
      let file = try passwordFile("\(password)\nnot part of it\n")
      defer { try? FileManager.default.removeItem(atPath: file) }
      let key = uniqueKeyPrefix() + "k"
      let options = [
        "--servers", serversArgument(servers), "--username", username, "--password-file", file,
      ]
      let set = try await runCLI(["set", key, "v"] + options, password: nil)
      #expect(set.status == 0, "\(set.stderr)")
      #expect(set.stderr.isEmpty, "a file only its owner reads gets no warning: \(set.stderr)")
      let get = try await runCLI(["get", key] + options, password: nil)
      #expect(get.stdout == "v\n", "\(get.stderr)")
    }
  }

  @Test func thePasswordFileWinsOverTheEnvironment() async throws {
    try await withSASLMemcached(users: users) { servers in
      let file = try passwordFile(password)
      defer { try? FileManager.default.removeItem(atPath: file) }
      let run = try await runCLI(
        [
          "ping", "--servers", serversArgument(servers), "--username", username,
          "--password-file", file,
        ], password: wrongPassword)
      #expect(run.status == 0, "\(run.stdout) \(run.stderr)")
    }
  }

  @Test func aPasswordFileThatOthersCanReadWorksWithAWarning() async throws {
    try await withSASLMemcached(users: users) { servers in
      let file = try passwordFile(password + "\n", permissions: 0o644)
      defer { try? FileManager.default.removeItem(atPath: file) }
      let run = try await runCLI(
        [
          "ping", "--servers", serversArgument(servers), "--username", username,
          "--password-file", file,
        ], password: nil)
      #expect(run.status == 0, "\(run.stderr)")
      #expect(
        run.stderr == "mcdutils: warning: other users can read the password file \(file) "
          + "(chmod 600 it)\n")
    }
  }

  @Test func aWrongPasswordIsAOneLineAuthenticationErrorThatDoesNotQuoteIt() async throws {
    try await withSASLMemcached(users: users) { servers in
      let options = ["--servers", serversArgument(servers), "--username", username]
      let get = try await runCLI(["get", "k"] + options, password: wrongPassword)
      #expect(get.status == 1)
      #expect(get.stdout.isEmpty)
      #expect(get.stderr.hasPrefix("mcdutils: "), "\(get.stderr)")
      #expect(get.stderr.contains("AUTH_FAILURE"), "\(get.stderr)")
      #expect(get.stderr.split(separator: "\n").count == 1, "\(get.stderr)")
      let ping = try await runCLI(["ping"] + options, password: wrongPassword)
      #expect(ping.status == 1)
      #expect(ping.stdout.hasPrefix("\(servers[0].server) error "), "\(ping.stdout)")
      #expect(ping.stdout.contains("AUTH_FAILURE"), "\(ping.stdout)")
      let unknown = try await runCLI(
        ["get", "k", "--servers", serversArgument(servers), "--username", "stranger"],
        password: password)
      #expect(unknown.status == 1)
      #expect(unknown.stderr.contains("AUTH_FAILURE"), "\(unknown.stderr)")
      for run in [get, ping, unknown] {
        #expect(!run.stdout.contains(password) && !run.stderr.contains(password))
      }
    }
  }

  @Test func thePasswordIsInNoProcessArgumentListWhileTheCommandRuns() async throws {
    try await withSASLMemcached(users: users) { servers in
      // A named pipe as the password file: the command waits on it, so it can be seen running
      // for as long as it takes, before the password is written into the pipe.
      let fifo = NSTemporaryDirectory() + "mcdutils-cli-fifo-\(UUID().uuidString)"
      guard mkfifo(fifo, 0o600) == 0 else {
        throw CLITestError(description: "mkfifo \(fifo) failed: \(errno)")
      }
      defer { try? FileManager.default.removeItem(atPath: fifo) }
      let key = uniqueKeyPrefix() + "k"
      async let run = runCLI(
        [
          "set", key, "v", "--servers", serversArgument(servers), "--username", username,
          "--password-file", fifo,
        ], password: nil)
      let seen = try await onOwnThread { () -> [Int32: [String]] in
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
          let found = commandLines(containing: fifo)
          if !found.isEmpty { return found }
          usleep(10_000)
        }
        return [:]
      }
      #expect(seen.count == 1, "the command was not seen running: \(seen)")
      for (pid, arguments) in seen {
        #expect(arguments.contains("--username"), "\(pid): \(arguments)")
        #expect(!arguments.contains { $0.contains(password) }, "\(pid): \(arguments)")
      }
      // Now the password: opening the pipe without a reader fails at once, so this never hangs.
      let written = try await onOwnThread { () -> Bool in
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
          let fd = open(fifo, O_WRONLY | O_NONBLOCK)
          if fd >= 0 {
            defer { close(fd) }
            let bytes = Array((password + "\n").utf8)
            return write(fd, bytes, bytes.count) == bytes.count
          }
          usleep(10_000)
        }
        return false
      }
      #expect(written)
      let result = try await run
      #expect(result.status == 0, "\(result.stderr)")
      #expect(!result.stderr.contains(password))
    }
  }

  @Test func noOptionTakesAPasswordAndAGivenOneIsRefusedWithoutBeingRepeated() async throws {
    for words in subcommands {
      let help = try await runCLI(words + ["--help"], password: nil)
      #expect(help.status == 0, "\(words): \(help.stderr)")
      #expect(!help.stdout.contains("--password "), "\(words) takes a password: \(help.stdout)")
    }
    for given in [["--password", password], ["--password=\(password)"]] {
      let run = try await runCLI(
        ["get", "k", "--servers", "127.0.0.1:1", "--username", username] + given, password: nil)
      #expect(run.status == 64, "\(given): \(run.stderr)")
      #expect(run.stderr.contains(passwordVariable), "\(run.stderr)")
      #expect(!run.stderr.contains(password) && !run.stdout.contains(password), "\(run.stderr)")
    }
  }

  @Test func aUserNameWithoutAPasswordIsAUsageError() async throws {
    let run = try await runCLI(
      ["get", "k", "--servers", "127.0.0.1:1", "--username", username], password: nil)
    #expect(run.status == 64)
    #expect(run.stderr.contains("--username needs a password"), "\(run.stderr)")
  }

  @Test func aPasswordFileWithoutAUserNameIsAUsageError() async throws {
    let file = try passwordFile(password)
    defer { try? FileManager.default.removeItem(atPath: file) }
    let run = try await runCLI(
      ["get", "k", "--servers", "127.0.0.1:1", "--password-file", file], password: nil)
    #expect(run.status == 64)
    #expect(run.stderr.contains("--password-file needs --username"), "\(run.stderr)")
  }

  @Test func aMissingOrEmptyPasswordFileIsAOneLineError() async throws {
    let empty = try passwordFile("\n")
    defer { try? FileManager.default.removeItem(atPath: empty) }
    let missing = empty + "-missing"
    for (file, message) in [
      (missing, "cannot read the password file \(missing)"),
      (empty, "the password file \(empty) has no password on its first line"),
    ] {
      let run = try await runCLI(
        [
          "get", "k", "--servers", "127.0.0.1:1", "--username", username, "--password-file", file,
        ], password: nil)
      #expect(run.status == 1)
      #expect(run.stderr == "mcdutils: \(message)\n")
    }
  }
}
