import ArgumentParser
import Foundation
import Memcached

/// The memcached servers a command talks to: `--servers`, or else `MCDUTILS_SERVERS`.
///
/// Both take server lines separated by commas (`127.0.0.1:11211,127.0.0.1:11212`); the option
/// may also be repeated. Each entry is a server line of the original's `servers` property:
/// `host:port`, `host`, `[::1]:11211`, a unix socket path, an optional weight.
struct ServerOptions: ParsableArguments {
  /// The environment variable read when `--servers` is absent.
  static let environmentVariable = "MCDUTILS_SERVERS"

  @Option(
    name: .long,
    help: ArgumentHelp(
      "memcached servers, comma-separated or repeated (default: $MCDUTILS_SERVERS).",
      valueName: "host:port,..."))
  var servers: [String] = []

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

  /// The client configuration for the servers, with the library's defaults otherwise.
  ///
  /// - Throws: `MemcachedError` quoting the first bad server line.
  func configuration() throws -> MemcachedConfiguration {
    MemcachedConfiguration(servers: try serverLines.map { try MemcachedServer(parsing: $0) })
  }

  /// A client for the servers.
  ///
  /// - Throws: `MemcachedError` for a bad server line or configuration.
  func makeClient() throws -> MemcachedClient {
    try MemcachedClient(configuration: configuration())
  }
}
