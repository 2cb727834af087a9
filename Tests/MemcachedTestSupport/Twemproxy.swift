import Foundation
import Memcached

#if canImport(Glibc)
  import Glibc
#endif

/// A real twemproxy (Debian's `nutcracker`) on a free loopback port in front of memcached
/// nodes, started for one test from a configuration written to a temporary folder, and stopped
/// by its PID.
///
/// twemproxy speaks memcached's text protocol only: a client in front of it sets
/// ``MemcachedConfiguration/binaryProtocol`` to `false`.
public final class Twemproxy: @unchecked Sendable {
  // @unchecked: `runningPID` is only changed by `init` and `stop()`, which a test calls from one
  // task at a time.
  /// The port the proxy listens on.
  public let port: Int
  /// The memcached nodes behind the proxy.
  public let nodes: [MemcachedServer]
  private let folder: URL
  private var runningPID: pid_t?

  /// The proxy as a ``MemcachedServer``.
  public var server: MemcachedServer { MemcachedServer(host: "127.0.0.1", port: port) }

  /// A configuration that reaches the nodes through the proxy: the text protocol, one server.
  public var configuration: MemcachedConfiguration {
    var configuration = MemcachedConfiguration(servers: [server])
    configuration.binaryProtocol = false
    return configuration
  }

  /// Starts `nutcracker` in front of `nodes` and waits until it answers.
  ///
  /// - Throws: ``TestEnvironmentError`` naming the Debian package `nutcracker` when there is no
  ///   `nutcracker` binary, or when it does not start.
  public init(nodes: [MemcachedServer]) throws {
    guard let binary = Self.binary else {
      throw TestEnvironmentError(
        description:
          "nutcracker (twemproxy) is not installed: the proxy tests need a real twemproxy "
          + "(Debian/Ubuntu: apt-get install -y nutcracker)")
    }
    self.nodes = nodes
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "mcdutils-twemproxy-\(UUID().uuidString)", isDirectory: true)
    self.folder = folder
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    var lastError: (any Error)?
    for _ in 0..<5 {
      // The statistics port is a free one too: twemproxy's default (22222) is shared by every
      // proxy of the machine.
      let port = try freeLoopbackPort()
      let statsPort = try freeLoopbackPort()
      do {
        runningPID = try Self.start(
          binary, nodes: nodes, folder: folder, port: port, statsPort: statsPort)
        self.port = port
        return
      } catch {
        lastError = error
      }
    }
    try? FileManager.default.removeItem(at: folder)
    throw lastError ?? TestEnvironmentError(description: "nutcracker did not start")
  }

  deinit {
    stop()
  }

  /// Writes the configuration, starts the proxy and waits until it answers; returns its PID.
  private static func start(
    _ binary: String, nodes: [MemcachedServer], folder: URL, port: Int, statsPort: Int
  ) throws -> pid_t {
    // auto_eject_hosts off: a node that fails stays in the ring, as with MCDUtils' own client.
    let servers = nodes.map { "    - \(address(of: $0)):1" }.joined(separator: "\n")
    let yaml = """
      mcdutils:
        listen: 127.0.0.1:\(port)
        hash: fnv1a_64
        distribution: ketama
        timeout: 2000
        auto_eject_hosts: false
        servers:
      \(servers)

      """
    let configFile = folder.appendingPathComponent("nutcracker.yml")
    try yaml.write(to: configFile, atomically: true, encoding: .utf8)
    let argv = [
      binary, "-c", configFile.path, "-s", "\(statsPort)", "-a", "127.0.0.1",
      "-o", folder.appendingPathComponent("nutcracker.log").path,
    ]
    let pid = try spawnServerProcess(argv)
    try waitUntilAnswering(pid, port: port, name: "nutcracker", hint: logTail(in: folder))
    return pid
  }

  /// The end of the proxy's log in `folder`, for an error message.
  private static func logTail(in folder: URL) -> String {
    let log = folder.appendingPathComponent("nutcracker.log")
    guard let text = try? String(contentsOf: log, encoding: .utf8), !text.isEmpty else {
      return ""
    }
    return "; its log ends: " + text.split(separator: "\n").suffix(3).joined(separator: " / ")
  }

  private static func address(of server: MemcachedServer) -> String {
    switch server.address {
    case .tcp(let host, let port): "\(host):\(port)"
    case .unixSocket(let path): path
    }
  }

  /// Stops the proxy (SIGKILL) and removes its folder.
  public func stop() {
    guard let pid = runningPID else { return }
    stopSpawnedProcess(pid, signal: SIGKILL)
    runningPID = nil
    try? FileManager.default.removeItem(at: folder)
  }

  private static let binary = findExecutable(
    "nutcracker", fallbackDirectories: ["/usr/sbin", "/usr/bin"])
}

/// Two memcached nodes behind a twemproxy, stopped when the body ends.
public func withTwemproxy<R>(
  nodes count: Int = 2, _ body: (Twemproxy, [MemcachedProcess]) async throws -> R
) async throws -> R {
  try await withMemcached(count: count) { processes in
    let proxy = try await onOwnThread { try Twemproxy(nodes: processes.map(\.server)) }
    defer { proxy.stop() }
    return try await body(proxy, processes)
  }
}
