import Foundation
import Memcached
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Why a test could not start what it needs.
public struct TestEnvironmentError: Error, CustomStringConvertible {
  /// What went wrong and what to install.
  public let description: String
}

/// A real memcached server on a free loopback port, started for one test and stopped by its PID.
public final class MemcachedProcess: @unchecked Sendable {
  // @unchecked: `runningPID` is only changed by `start()` and `stop()`, which a test calls from
  // one task at a time.
  /// The port the server listens on (kept across restarts).
  public private(set) var port = 0
  /// Extra command-line arguments (for example `-I 2m`).
  public let arguments: [String]
  /// Variables added to the server's environment (for example `SASL_CONF_PATH`).
  public let environment: [String: String]
  private var runningPID: pid_t?

  /// Whether the server authenticates with SASL (`-S`), and so speaks the binary protocol only.
  private var requiresSASL: Bool { arguments.contains("-S") || arguments.contains("--enable-sasl") }

  /// The server as a ``MemcachedServer``.
  public var server: MemcachedServer { MemcachedServer(host: "127.0.0.1", port: port) }

  /// The server's process id while it runs.
  public var pid: Int32? { runningPID }

  /// Starts memcached on a free port.
  ///
  /// - Parameters:
  ///   - arguments: extra command-line arguments.
  ///   - environment: variables added to the server's environment.
  /// - Throws: ``TestEnvironmentError`` naming the package to install when there is no
  ///   `memcached` binary, or when it does not start.
  public init(arguments: [String] = [], environment: [String: String] = [:]) throws {
    self.arguments = arguments
    self.environment = environment
    var lastError: (any Error)?
    for _ in 0..<5 {
      do {
        self.port = try freeLoopbackPort()
        try start()
        return
      } catch {
        lastError = error
      }
    }
    throw lastError ?? TestEnvironmentError(description: "memcached did not start")
  }

  deinit {
    stop()
  }

  /// Starts (or restarts) the server on its port and waits until it accepts connections.
  public func start() throws {
    guard let binary = Self.memcachedBinary else {
      throw TestEnvironmentError(
        description:
          "memcached is not installed: the tests need a real memcached server "
          + "(Debian/Ubuntu: apt-get install -y memcached)")
    }
    let argv =
      [binary, "-u", "nobody", "-l", "127.0.0.1", "-p", "\(port)", "-U", "0", "-t", "1"]
      + arguments
    let pid = try spawnServerProcess(argv, environment: environment)
    runningPID = pid
    do {
      let hint = requiresSASL ? "; is it built with SASL, and its SASL set-up readable?" : ""
      try waitUntilAnswering(pid, port: port, name: "memcached", binary: requiresSASL, hint: hint)
    } catch {
      runningPID = nil
      throw error
    }
  }

  /// Restarts the server empty on the same port, as an operator restarts a node: stops it
  /// (SIGKILL), starts it again and waits until it answers.
  ///
  /// - Throws: ``TestEnvironmentError`` when it does not start again.
  public func restart() throws {
    stop()
    try start()
  }

  /// Stops the server. SIGKILL by default: it ends the process at once, like a crashed node
  /// (memcached takes most of a second to shut down on SIGTERM).
  public func stop(signal: Int32 = SIGKILL) {
    guard let pid = runningPID else { return }
    stopSpawnedProcess(pid, signal: signal)
    runningPID = nil
  }

  /// Stops the server's process with SIGSTOP, like a hung node, and returns once every one of
  /// its threads has stopped: a thread that is running when the signal comes finishes its time
  /// slice first, and on a loaded machine could still answer a request.
  public func freeze() async {
    guard let pid = runningPID else { return }
    kill(pid, SIGSTOP)
    let deadline = ContinuousClock.now + .seconds(30)
    while !Self.hasStopped(pid), ContinuousClock.now < deadline {
      try? await Task.sleep(for: .milliseconds(1))
    }
  }

  /// Lets a frozen server run again (SIGCONT).
  public func thaw() {
    if let pid = runningPID { kill(pid, SIGCONT) }
  }

  /// Whether every thread of process `pid` is stopped, from the state in `/proc`.
  private static func hasStopped(_ pid: pid_t) -> Bool {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
    return tasks.allSatisfy { task in
      guard
        let stat = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/stat", encoding: .utf8),
        let name = stat.lastIndex(of: ")")
      else { return true }
      // The state follows the command name in parentheses: T when stopped by a signal.
      let state = stat[stat.index(after: name)...].first { $0 != " " }
      return state == "T" || state == "t"
    }
  }

  private static let memcachedBinary = findExecutable("memcached")
}

/// A group of memcached servers for cluster tests, stopped when the body ends.
public func withMemcached<R>(
  count: Int = 1, arguments: [String] = [], environment: [String: String] = [:],
  _ body: ([MemcachedProcess]) async throws -> R
) async throws -> R {
  var processes: [MemcachedProcess] = []
  defer {
    for process in processes { process.stop() }
  }
  for _ in 0..<count {
    // Starting waits until the server answers: on a thread of its own (see `onOwnThread`).
    processes.append(
      try await onOwnThread {
        try MemcachedProcess(arguments: arguments, environment: environment)
      })
  }
  return try await body(processes)
}

/// A TCP port on 127.0.0.1 that nothing listened on a moment ago (and that anything may take
/// since): for a server about to start. For a port that must refuse connections, hold a
/// ``ListeningSocket/refusing()``.
public func freeLoopbackPort() throws -> Int {
  try ListeningSocket(listening: true, handingOut: true).port
}

/// The ports ``freeLoopbackPort()`` gave out in this process, never given out again: two
/// servers starting at once are never given the same port (where the one that fails to bind
/// would find the other answering, and think itself started), and no test's socket takes a
/// server's port while it is down for a restart.
private let handedOutPorts = Mutex<Set<Int>>([])

/// Whether something accepts TCP connections on 127.0.0.1 at the port.
public func canConnect(port: Int) -> Bool {
  let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  guard fd >= 0 else { return false }
  defer { close(fd) }
  var address = loopbackAddress(port: port)
  let result = withUnsafePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
    }
  }
  return result == 0
}

/// Whether a memcached server answers `version` on 127.0.0.1 at the port within a second.
///
/// - Parameter binary: ask in the binary protocol, the only one a server started with `-S`
///   speaks; memcached answers a binary `version` before authentication.
public func answersVersion(port: Int, binary: Bool = false) -> Bool {
  let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  guard fd >= 0 else { return false }
  defer { close(fd) }
  var timeout = timeval(tv_sec: 1, tv_usec: 0)
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
  var address = loopbackAddress(port: port)
  let connected = withUnsafePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
    }
  }
  guard connected == 0 else { return false }
  // The binary request is a 24-byte header: magic 0x80, opcode 0x0b (version), the rest zero.
  let request =
    binary ? [0x80, 0x0B] + [UInt8](repeating: 0, count: 22) : Array("version\r\n".utf8)
  guard write(fd, request, request.count) == request.count else { return false }
  var buffer = [UInt8](repeating: 0, count: 64)
  let count = read(fd, &buffer, buffer.count)
  if binary {
    // A response header: magic 0x81, the same opcode, status 0 in bytes 6 and 7.
    return count >= 24 && buffer[0] == 0x81 && buffer[1] == 0x0B && buffer[6] == 0
      && buffer[7] == 0
  }
  return count > 0 && String(decoding: buffer[..<count], as: UTF8.self).hasPrefix("VERSION")
}

/// A socket on a free loopback port that never answers. Listening (``init()``), the kernel
/// completes the TCP handshake for connections in its backlog, but nothing reads or writes: it
/// stands for a memcached server that hangs. Not listening (``refusing()``), every connection is
/// refused, and while it is open no server started by another test can take its port: it
/// stands for a server that is down.
public final class ListeningSocket: Sendable {
  /// The port it holds.
  public let port: Int
  private let fd: Atomic<Int32>

  /// Opens a listening socket on a free port of 127.0.0.1.
  public convenience init() throws {
    try self.init(listening: true, handingOut: false)
  }

  /// A socket bound to a free port of 127.0.0.1 that does not listen, without `SO_REUSEADDR`.
  public static func refusing() throws -> ListeningSocket {
    try ListeningSocket(listening: false, handingOut: false)
  }

  /// Takes a port never handed out before, and hands it out too when `handingOut`.
  fileprivate init(listening: Bool, handingOut: Bool) throws {
    // A port handed out to a server (which may be down for a restart) is not taken: its socket
    // stays open until a new port is found, so that the kernel does not offer it again.
    var taken: [Int32] = []
    defer { for fd in taken { _ = Glibc.close(fd) } }
    for _ in 0..<100 {
      let (fd, port) = try Self.bindFree(listening: listening)
      let isNew = handedOutPorts.withLock { ports in
        handingOut ? ports.insert(port).inserted : !ports.contains(port)
      }
      guard isNew else {
        taken.append(fd)
        continue
      }
      self.fd = Atomic(fd)
      self.port = port
      return
    }
    throw TestEnvironmentError(description: "no free loopback port")
  }

  /// A socket bound to a free port of 127.0.0.1 (listening if asked), and its port.
  private static func bindFree(listening: Bool) throws -> (Int32, Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestEnvironmentError(description: "socket() failed: \(errno)") }
    var address = loopbackAddress(port: 0)
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard bound == 0, !listening || listen(fd, 1024) == 0 else {
      _ = Glibc.close(fd)
      throw TestEnvironmentError(description: "bind/listen failed: \(errno)")
    }
    var actual = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &actual) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return (fd, Int(UInt16(bigEndian: actual.sin_port)))
  }

  /// The socket as a memcached server address.
  public var server: MemcachedServer { MemcachedServer(host: "127.0.0.1", port: port) }

  deinit {
    close()
  }

  /// Closes the socket (once); a test calls it last, which also keeps the socket open until then.
  public func close() {
    let fd = self.fd.exchange(-1, ordering: .relaxed)
    if fd >= 0 { _ = Glibc.close(fd) }
  }
}

private func loopbackAddress(port: Int) -> sockaddr_in {
  var address = sockaddr_in()
  address.sin_family = sa_family_t(AF_INET)
  address.sin_port = in_port_t(UInt16(port).bigEndian)
  address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
  return address
}

/// A key prefix of its own for each test, so that tests can share servers and run in parallel.
public func uniqueKeyPrefix(_ name: String = #function) -> String {
  let cleaned = name.unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) }
  return
    "t\(String(String.UnicodeScalarView(cleaned)).prefix(24))-\(UInt32.random(in: 0...UInt32.max)):"
}
