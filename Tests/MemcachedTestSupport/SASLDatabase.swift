import Foundation
import Memcached

#if canImport(Glibc)
  import Glibc
#endif

/// A Cyrus SASL password database and the configuration that makes `memcached -S` check
/// passwords against it, in a temporary folder of their own; the folder is removed when the
/// database is released.
///
/// memcached finds the configuration through `SASL_CONF_PATH` (see ``environment``): a
/// `memcached.conf` with `mech_list: plain` and `sasldb_path:` naming the database, which
/// `saslpasswd2` (Debian's `sasl2-bin`) writes. memcached opens the database on every
/// authentication, after it has become the user of `-u nobody`, so the folder, the files and
/// every folder above them are readable by other users.
///
/// ```swift
/// try await withSASLMemcached(users: ["alice": "s3cret"]) { servers in
///   var configuration = MemcachedConfiguration(servers: servers.map(\.server))
///   configuration.credentials = .init(username: "alice", password: "s3cret")
/// }
/// ```
public final class SASLDatabase: Sendable {
  /// The folder that holds `memcached.conf` and the database.
  public let folder: URL

  /// What memcached's environment needs to use this database.
  public var environment: [String: String] { ["SASL_CONF_PATH": folder.path] }

  /// The database file.
  public var databasePath: String { folder.appendingPathComponent("sasldb2").path }

  private init(folder: URL) {
    self.folder = folder
  }

  deinit {
    try? FileManager.default.removeItem(at: folder)
  }

  /// Creates a database that holds `users` (user name to password) and the configuration that
  /// points memcached at it. The passwords reach `saslpasswd2` on its standard input, never in
  /// its argument list.
  ///
  /// - Throws: ``TestEnvironmentError`` naming the package to install when there is no
  ///   `saslpasswd2`, or saying why a user could not be added.
  public static func create(users: [String: String]) async throws -> SASLDatabase {
    guard let saslpasswd2 = saslpasswd2Binary else {
      throw TestEnvironmentError(
        description:
          "saslpasswd2 is not installed: the SASL tests create memcached's password database "
          + "with it (Debian/Ubuntu: apt-get install -y sasl2-bin)")
    }
    let database = SASLDatabase(folder: try makeSharedFolder())
    for (username, password) in users.sorted(by: { $0.key < $1.key }) {
      let result = try await runChildProcess(
        URL(fileURLWithPath: saslpasswd2),
        arguments: ["-c", "-p", "-a", "memcached", "-f", database.databasePath, username],
        input: Data(password.utf8))
      guard result.status == 0 else {
        throw TestEnvironmentError(
          description:
            "saslpasswd2 could not add the user \(username) (status \(result.status)): "
            + String(decoding: result.stderr, as: UTF8.self))
      }
    }
    let configuration = "mech_list: plain\nsasldb_path: \(database.databasePath)\n"
    let configurationPath = database.folder.appendingPathComponent("memcached.conf").path
    guard
      FileManager.default.createFile(
        atPath: configurationPath, contents: Data(configuration.utf8))
    else {
      throw TestEnvironmentError(description: "cannot write \(configurationPath)")
    }
    // saslpasswd2 makes the database readable by its owner only (root, when the tests run as
    // root), and memcached reads it as nobody.
    for path in [database.databasePath, configurationPath] {
      try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
    }
    return database
  }

  /// A new folder, readable and searchable by every user, below a temporary folder that every
  /// user can reach (`/tmp` when `TMPDIR` is private).
  private static func makeSharedFolder() throws -> URL {
    let preferred = FileManager.default.temporaryDirectory
    let base = isSearchableByOthers(preferred) ? preferred : URL(fileURLWithPath: "/tmp")
    let folder = base.appendingPathComponent("mcdutils-sasl-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
    // Set after creation: the umask may have taken bits away.
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder.path)
    return folder
  }

  /// Whether every folder from `/` down to `url` lets other users through.
  private static func isSearchableByOthers(_ url: URL) -> Bool {
    var path = url.resolvingSymlinksInPath().path
    while true {
      var info = stat()
      guard stat(path, &info) == 0, info.st_mode & S_IXOTH != 0 else { return false }
      if path == "/" || path.isEmpty { return true }
      path = (path as NSString).deletingLastPathComponent
    }
  }

  private static let saslpasswd2Binary: String? = {
    // saslpasswd2 is an administrator's tool: Debian puts it in /usr/sbin, often not on PATH.
    let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
    let folders = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"]
    return folders.map { "\($0)/saslpasswd2" }.first {
      FileManager.default.isExecutableFile(atPath: $0)
    }
  }()
}

/// Memcached servers that authenticate with SASL (`memcached -S`) against a database holding
/// `users` (user name to password), stopped, and the database removed, when the body ends.
///
/// - Throws: ``TestEnvironmentError`` naming the package to install when `saslpasswd2` or
///   `memcached` is missing, or when a server does not start; what `body` throws.
public func withSASLMemcached<R>(
  users: [String: String], count: Int = 1, arguments: [String] = [],
  _ body: ([MemcachedProcess]) async throws -> R
) async throws -> R {
  let database = try await SASLDatabase.create(users: users)
  // The servers open the database on every authentication: it lives until they are stopped.
  defer { withExtendedLifetime(database) {} }
  return try await withMemcached(
    count: count, arguments: ["-S"] + arguments, environment: database.environment, body)
}

/// How many authentications each server refused since it started (memcached's `auth_errors`
/// statistic), asked with `credentials` that the servers accept.
///
/// - Throws: ``TestEnvironmentError`` when a server does not report the statistic;
///   `MemcachedError` when it cannot be asked.
public func refusedAuthentications(
  _ servers: [MemcachedProcess], credentials: MemcachedConfiguration.Credentials
) throws -> [Int] {
  var configuration = MemcachedConfiguration(servers: servers.map(\.server))
  configuration.credentials = credentials
  return try MemcachedClient(configuration: configuration).stats().map { stats in
    guard let count = try stats.result.get()["auth_errors"].flatMap({ Int($0) }) else {
      throw TestEnvironmentError(description: "\(stats.server) reports no auth_errors")
    }
    return count
  }
}

extension MemcachedConfiguration {
  /// Sets the connect, poll, send and receive timeouts to `timeout`: a test that checks a call
  /// answers without waiting sets them far above its bound, so that a loaded machine has room
  /// below the bound and any wait on a timeout still overshoots it.
  public mutating func setIOTimeouts(_ timeout: Duration) {
    connectTimeout = timeout
    pollTimeout = timeout
    sendTimeout = timeout
    receiveTimeout = timeout
  }
}
