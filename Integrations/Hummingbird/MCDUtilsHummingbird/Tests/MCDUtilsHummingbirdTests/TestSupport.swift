import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdAuth
import HummingbirdTesting
import MCDUtils
import MCDUtilsHummingbird
import Memcached
import MemcachedTestSupport
import Synchronization

/// Runs `body` with a driver that owns a pool to fresh memcached servers started for the test,
/// with a key prefix of the test's own, and shuts the driver down after it. The driver has the
/// shipped defaults unless `typeMismatch` is given.
func withDriver<R>(
  count: Int = 1, replicas: Int = 0,
  typeMismatch: MemcachedPersistDriver.TypeMismatch? = nil,
  _ test: String = #function,
  _ body: (MemcachedPersistDriver, [MemcachedProcess]) async throws -> R
) async throws -> R {
  try await withMemcached(count: count) { processes in
    let configuration = configuration(processes, replicas: replicas, test)
    let driver =
      try typeMismatch.map {
        try MemcachedPersistDriver(configuration: configuration, typeMismatch: $0)
      } ?? MemcachedPersistDriver(configuration: configuration)
    do {
      let result = try await body(driver, processes)
      try await driver.shutdown()
      return result
    } catch {
      try await driver.shutdown()
      throw error
    }
  }
}

/// A configuration for the servers, with a key prefix of the test's own.
func configuration(
  _ processes: [MemcachedProcess], replicas: Int = 0, _ test: String = #function
) -> MemcachedConfiguration {
  var configuration = MemcachedConfiguration(servers: processes.map(\.server))
  configuration.keyPrefix = uniqueKeyPrefix(test)
  configuration.replicas = replicas
  return configuration
}

/// A unique key for a test.
func uniqueKey(_ label: String = "key") -> String {
  "\(label)-\(UUID().uuidString)"
}

extension TestResponse {
  /// The `name=value` part of the response's first `Set-Cookie`, to send back as `Cookie`.
  var sessionCookie: String? {
    headers[.setCookie].flatMap { $0.split(separator: ";").first.map(String.init) }
  }

  /// The body as text.
  var text: String { String(buffer: body) }
}

/// Headers that send a session cookie.
func cookieHeaders(_ cookie: String?) -> HTTPFields {
  var headers = HTTPFields()
  if let cookie { headers[.cookie] = cookie }
  return headers
}

/// The session of the hummingbird-auth tests: who logged in, and a counter.
struct CounterSession: Codable, Sendable, Equatable {
  var user: String
  var count: Int
}

/// The request context of the hummingbird-auth tests.
typealias SessionContext = BasicSessionRequestContext<CounterSession, String>

/// A count that handlers bump, so that a test can tell whether they ran.
final class HandlerRuns: Sendable {
  private let runs = Atomic<Int>(0)

  var count: Int { runs.load(ordering: .relaxed) }

  func bump() { runs.add(1, ordering: .relaxed) }
}

/// A router with `middleware` in front of the session routes: `POST /login/:user` creates a
/// session, `GET /me` reads it (401 without one), `POST /increment` adds one to its count
/// through `increment` (401 without a session).
func sessionRouter(
  _ middleware: some RouterMiddleware<SessionContext>, runs: HandlerRuns = HandlerRuns(),
  increment: @escaping @Sendable (Request, SessionContext) async throws -> CounterSession?
) -> Router<SessionContext> {
  let router = Router(context: SessionContext.self)
  router.add(middleware: middleware)
  router.post("/login/:user") { _, context -> String in
    runs.bump()
    let user = try context.parameters.require("user")
    context.sessions.createSession(CounterSession(user: user, count: 0), expiresIn: .seconds(600))
    return "welcome \(user)"
  }
  router.get("/me") { _, context -> String in
    runs.bump()
    guard let session = context.sessions.session else { throw HTTPError(.unauthorized) }
    return "\(session.user) \(session.count)"
  }
  router.post("/increment") { request, context -> String in
    runs.bump()
    guard let session = try await increment(request, context) else {
      throw HTTPError(.unauthorized)
    }
    return "\(session.count)"
  }
  return router
}
