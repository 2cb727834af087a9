import Foundation
import Hummingbird
import HummingbirdAuth
import Logging
import MCDUtilsHummingbird
import Memcached
import ServiceLifecycle

/// What a visitor's session holds.
struct VisitorSession: Codable, Sendable {
  var user: String
  var count: Int
}

typealias AppContext = BasicSessionRequestContext<VisitorSession, String>

/// A small Hummingbird app whose sessions live in memcached:
///
/// - `POST /login/NAME` starts a session for NAME (a `Set-Cookie` answers it);
/// - `GET /session` answers `NAME COUNT` from the session (401 without one);
/// - `POST /increment` adds one to the session's count and answers the new count;
/// - `POST /logout` ends the session;
/// - `GET /stats` (with memcached) says how many pool calls ran on the request's thread and how
///   many were handed to a connection's queue.
///
/// Settings come from the environment: `MCDUTILS_SERVERS` (`host:port`, comma-separated; the
/// default is `127.0.0.1:11211`), `MCDUTILS_REPLICAS` (extra copies of each session; default 1
/// with two servers or more), `MCDUTILS_POOL_SIZE` (connections; default 8),
/// `MCDUTILS_ASYNC_EXECUTION` (`adaptive`, the default, `adaptive:MS` for another slow-call
/// threshold in milliseconds, or `offload`), `APP_HOST` and `APP_PORT`
/// (default `127.0.0.1:8080`),
/// `SESSION_DRIVER` (`mcdutils`, the default, or `memory` for Hummingbird's
/// `MemoryPersistDriver`, to compare), and `LOG_LEVEL`.
@main
struct SessionApp {
  static func main() async throws {
    let environment = ProcessInfo.processInfo.environment
    var logger = Logger(label: "session-app")
    logger.logLevel = environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
    let host = environment["APP_HOST"] ?? "127.0.0.1"
    let port = environment["APP_PORT"].flatMap(Int.init) ?? 8080

    let router = Router(context: AppContext.self)
    let services: [any Service]
    switch environment["SESSION_DRIVER"] ?? "mcdutils" {
    case "memory":
      let driver = MemoryPersistDriver()
      let sessions = SessionMiddleware<AppContext>(storage: driver)
      addRoutes(to: router, sessions: sessions, incrementing: sessions) { _, context in
        // Loaded before the handler, changed, and written back by the middleware after it:
        // of two concurrent increments of one session, one can be lost.
        context.sessions.withLockedSession { $0?.count += 1 }
        return context.sessions.session
      }
      services = [driver]
      logger.info("sessions in this process (MemoryPersistDriver)")
    case "mcdutils":
      var configuration = MemcachedConfiguration(
        servers: try MemcachedServer.parseList(
          (environment["MCDUTILS_SERVERS"] ?? "127.0.0.1:11211")
            .replacingOccurrences(of: ",", with: "\n")))
      configuration.keyPrefix = "session-app:"
      if let size = environment["MCDUTILS_POOL_SIZE"].flatMap(Int.init) {
        configuration.poolSize = size
      }
      switch environment["MCDUTILS_ASYNC_EXECUTION"] {
      case "offload":
        configuration.asyncExecution = .offload
      case let threshold? where threshold.hasPrefix("adaptive:"):
        // adaptive:MS, a slow-call threshold in milliseconds other than the default 5.
        let milliseconds = Int(threshold.dropFirst("adaptive:".count)) ?? 5
        configuration.asyncExecution = .adaptive(
          slowCallThreshold: .milliseconds(milliseconds), backoff: .seconds(5))
      default:
        break
      }
      configuration.replicas =
        environment["MCDUTILS_REPLICAS"].flatMap(Int.init)
        ?? min(1, configuration.servers.count - 1)
      let driver = try MemcachedPersistDriver(configuration: configuration, logger: logger)
      let sessions = MemcachedSessionMiddleware<AppContext>(driver: driver)
      // The increment reads and writes the session itself, atomically, so its route needs only
      // the 503 on an outage, not the session middleware's load and save.
      addRoutes(
        to: router, sessions: sessions, incrementing: MemcachedUnavailableMiddleware()
      ) { request, _ in
        // Atomic in memcached: concurrent increments of one session all count.
        try await sessions.update(request) { $0.count += 1 }
      }
      // Where the pool ran its calls: on the request's thread, or handed to a connection's
      // queue (see MemcachedAsyncExecution); for the benchmark's notes.
      router.get("/stats") { _, _ -> String in
        guard let pool = driver.sessions.proxy.store as? MemcachedPool else { return "\n" }
        let statistics = pool.asyncStatistics
        return
          "inline \(statistics.inline) offloaded \(statistics.offloaded) "
          + "backoffs \(statistics.backoffs)\n"
      }
      services = [driver]
      logger.info(
        "sessions in memcached",
        metadata: [
          "servers": "\(configuration.servers.map(\.description).joined(separator: ","))",
          "replicas": "\(configuration.replicas)",
        ])
    case let other:
      logger.critical("SESSION_DRIVER must be mcdutils or memory, not \(other)")
      exit(2)
    }

    let app = Application(
      router: router, configuration: .init(address: .hostname(host, port: port)),
      services: services, logger: logger)
    try await app.runService()
  }

  /// The routes: login, session and logout behind `sessions`, increment behind
  /// `incrementing`; `increment` adds one to the request's session count and returns the
  /// session, or `nil` when there is none.
  static func addRoutes(
    to router: Router<AppContext>, sessions: some RouterMiddleware<AppContext>,
    incrementing: some RouterMiddleware<AppContext>,
    increment: @escaping @Sendable (Request, AppContext) async throws -> VisitorSession?
  ) {
    let withSession = router.group().add(middleware: sessions)
    withSession.post("/login/:user") { _, context -> String in
      let user = try context.parameters.require("user")
      context.sessions.createSession(
        VisitorSession(user: user, count: 0), expiresIn: .seconds(3600))
      return "logged in as \(user)\n"
    }
    withSession.get("/session") { _, context -> String in
      guard let session = context.sessions.session else { throw HTTPError(.unauthorized) }
      return "\(session.user) \(session.count)\n"
    }
    withSession.post("/logout") { _, context -> String in
      context.sessions.clearSession()
      return "logged out\n"
    }
    router.group().add(middleware: incrementing).post("/increment") {
      request, context -> String in
      guard let session = try await increment(request, context) else {
        throw HTTPError(.unauthorized)
      }
      return "\(session.count)\n"
    }
  }
}
