import ArgumentParser
import Foundation
import MCDUtils
import Memcached

/// The servers a command talks to: `--servers` (repeatable), else `MCDUTILS_SERVERS`, each a
/// comma-separated list of the original's server lines (`host[:port]`, `[::1]:11211`, a socket
/// path, an optional weight).
struct ServerOptions: ParsableArguments {
  /// The environment variable read when `--servers` is absent.
  static let environmentVariable = "MCDUTILS_SERVERS"

  @Option(
    name: .long,
    help: ArgumentHelp(
      "memcached servers, comma-separated or repeated (default: $MCDUTILS_SERVERS).",
      valueName: "host:port,..."))
  var servers: [String] = []

  @OptionGroup var credentials: CredentialOptions
  @OptionGroup var layout: LayoutOptions

  /// The server lines, from the option when given, else from the environment.
  var serverLines: [String] {
    let given =
      servers.isEmpty
      ? [ProcessInfo.processInfo.environment[Self.environmentVariable] ?? ""] : servers
    return
      given
      .flatMap { $0.split(separator: ",") }
      .map { $0.trimmingCharacters(in: .whitespaces) }
      .filter { !$0.isEmpty }
  }

  func validate() throws {
    guard !serverLines.isEmpty else {
      throw ValidationError(
        "No memcached servers: give --servers HOST:PORT[,HOST:PORT...] "
          + "or set \(Self.environmentVariable).")
    }
  }

  /// The client configuration for the servers and the SASL credentials, defaults otherwise.
  ///
  /// - Throws: `MemcachedError` quoting the first bad server line; ``CommandFailure`` for a
  ///   password file that cannot be read or is empty.
  func configuration() throws -> MemcachedConfiguration {
    var configuration = MemcachedConfiguration(
      servers: try serverLines.map { try MemcachedServer(parsing: $0) })
    configuration.credentials = try credentials.resolved()
    layout.apply(to: &configuration)
    return configuration
  }

  /// A client for the servers.
  ///
  /// - Throws: `MemcachedError` for a bad server line or configuration.
  func makeClient() throws -> MemcachedClient {
    try MemcachedClient(configuration: configuration())
  }
}

/// How the store lays its keys out: `--key-prefix` and `--replicas`, as the service sets
/// `MemcachedConfiguration.keyPrefix` and `replicas`.
struct LayoutOptions: ParsableArguments {
  @Option(
    name: .long,
    help: "The prefix memcached keys carry (the service's MemcachedConfiguration.keyPrefix).")
  var keyPrefix: String = ""

  @Option(
    name: .long,
    help: "How many further nodes hold a copy of every session (MemcachedConfiguration.replicas).")
  var replicas: Int = 0

  func validate() throws {
    guard replicas >= 0 else { throw ValidationError("--replicas must be 0 or more.") }
  }

  /// Sets the prefix and the replica count of `configuration`.
  func apply(to configuration: inout MemcachedConfiguration) {
    configuration.keyPrefix = keyPrefix
    configuration.replicas = replicas
  }
}

/// SASL credentials: `--username`, the password from `--password-file` (which wins) or
/// `MCDUTILS_PASSWORD`; never from the command line, which every user can read (`ps`,
/// `/proc/PID/cmdline`) and shell histories keep.
struct CredentialOptions: ParsableArguments {
  /// The environment variable that holds the password.
  static let passwordVariable = "MCDUTILS_PASSWORD"

  @Option(
    name: .long,
    help: "SASL user name; the password comes from $MCDUTILS_PASSWORD or --password-file.")
  var username: String?

  @Option(
    name: .long,
    help: ArgumentHelp(
      "A file whose first line is the SASL password (chmod 600 it); wins over "
        + "$MCDUTILS_PASSWORD.",
      valueName: "path"))
  var passwordFile: String?

  /// Catches a password given on the command line, to refuse it with a message that does not
  /// repeat it (argument-parser quotes an unknown option's value as an unexpected argument).
  @Option(name: .long, help: ArgumentHelp(visibility: .private))
  var password: String?

  func validate() throws {
    if password != nil {
      throw ValidationError(
        "--password is not accepted: other users can read a command line. "
          + "Set \(Self.passwordVariable) or use --password-file.")
    }
    guard username != nil else {
      if passwordFile != nil { throw ValidationError("--password-file needs --username.") }
      return
    }
    if passwordFile == nil && environmentPassword == nil {
      throw ValidationError(
        "--username needs a password: set \(Self.passwordVariable) or use --password-file.")
    }
  }

  private var environmentPassword: String? {
    ProcessInfo.processInfo.environment[Self.passwordVariable].flatMap { $0.isEmpty ? nil : $0 }
  }

  /// The credentials, or `nil` without `--username`; warns if others can read the password file.
  ///
  /// - Throws: ``CommandFailure`` for a password file that cannot be read or starts empty.
  func resolved() throws -> MemcachedConfiguration.Credentials? {
    guard let username else { return nil }
    guard let path = passwordFile else {
      guard let password = environmentPassword else {
        throw CommandFailure("no password: set \(Self.passwordVariable) or use --password-file")
      }
      return .init(username: username, password: password)
    }
    warnIfReadableByOthers(path, "password file")
    // The first line, so that a file written by `echo` (with its line break) works.
    let password = String(
      String(decoding: try Self.firstLineBytes(of: path), as: UTF8.self)
        .split(maxSplits: 1, omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        .first ?? "")
    guard !password.isEmpty else {
      throw CommandFailure("the password file \(path) has no password on its first line")
    }
    return .init(username: username, password: password)
  }

  /// The file up to its first line break (at most 64 KiB), read as a stream so that a pipe
  /// works too (`--password-file /dev/stdin`, `<(command)`).
  ///
  /// - Throws: ``CommandFailure`` when the file cannot be opened or read.
  private static func firstLineBytes(of path: String) throws -> Data {
    guard let file = FileHandle(forReadingAtPath: path) else {
      throw CommandFailure("cannot read the password file \(path)")
    }
    defer { try? file.close() }
    var data = Data()
    do {
      while data.count < 65_536, !data.contains(UInt8(ascii: "\n")),
        let chunk = try file.read(upToCount: 4_096), !chunk.isEmpty
      {
        data += chunk
      }
    } catch {
      throw CommandFailure("cannot read the password file \(path)")
    }
    return data
  }
}
