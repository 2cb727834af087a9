import MCDUtils
import MCDUtilsVapor
import Memcached
import MemcachedTestSupport
import Vapor
import VaporTesting

/// The configuration of a test's pool: its servers, a key prefix of the test's own, and
/// timeouts short enough for outage tests.
func testConfiguration(
  _ processes: [MemcachedProcess], name: String = #function
) -> MemcachedConfiguration {
  var configuration = MemcachedConfiguration(servers: processes.map(\.server))
  configuration.keyPrefix = uniqueKeyPrefix(name)
  configuration.connectTimeout = .milliseconds(300)
  configuration.pollTimeout = .milliseconds(300)
  configuration.sendTimeout = .milliseconds(300)
  configuration.receiveTimeout = .milliseconds(300)
  return configuration
}

/// An application with memcached sessions on `configuration`, an error middleware and the
/// sessions middleware (no route logging: some tests send thousands of requests), and routes:
///
/// - `POST /login?user=NAME`: stores the user and a count of 0.
/// - `GET /read`: `user=NAME count=N`, or `anonymous`.
/// - `POST /increment`: adds one to the count and answers it.
/// - `PUT /keys/KEY`: sets the entry `KEY` to `set`.
/// - `GET /size`: how many entries the session has.
/// - `POST /logout`: destroys the session.
/// - `POST /rotate`: gives the session a new id.
func withSessionsApp<R>(
  _ configuration: MemcachedConfiguration,
  sessions: Application.Sessions.Provider = .memcached(),
  _ body: (Application) async throws -> R
) async throws -> R {
  try await withApp(
    configure: { app in
      try app.memcached.use(configuration)
      app.sessions.use(sessions)
      app.middleware = Middlewares()
      app.middleware.use(ErrorMiddleware.default(environment: app.environment))
      app.middleware.use(app.sessions.middleware)
      addSessionRoutes(to: app)
    }, body)
}

func addSessionRoutes(to app: Application) {
  app.post("login") { req -> String in
    let user = try req.query.get(String.self, at: "user")
    req.session.data["user"] = user
    req.session.data["count"] = "0"
    return "welcome \(user)"
  }
  app.get("read") { req -> String in
    guard let user = req.session.data["user"] else { return "anonymous" }
    return "user=\(user) count=\(req.session.data["count"] ?? "0")"
  }
  app.post("increment") { req -> String in
    let count = (req.session.data["count"].flatMap { Int($0) } ?? 0) + 1
    req.session.data["count"] = String(count)
    return String(count)
  }
  app.put("keys", ":key") { req -> String in
    req.session.data[try req.parameters.require("key")] = "set"
    return "ok"
  }
  app.get("size") { req -> String in
    String(req.session.data.snapshot.count)
  }
  app.post("logout") { req -> String in
    req.session.destroy()
    return "bye"
  }
  app.post("rotate") { req -> String in
    req.session.id = nil
    return "rotated"
  }
}

/// The session cookie a response sets, as a `Cookie` header for the next request.
func sessionCookie(_ response: TestingHTTPResponse) -> HTTPHeaders? {
  guard let value = response.headers.setCookie?["vapor-session"]?.string else { return nil }
  return ["Cookie": "vapor-session=\(value)"]
}

/// The session id in a `Cookie` header made by ``sessionCookie(_:)``.
func sessionID(_ cookie: HTTPHeaders) -> String {
  String(cookie.first(name: "Cookie")!.dropFirst("vapor-session=".count))
}

/// A container over its own pool on the same servers and key prefix: how another program
/// sees the sessions.
func withOtherProgramsContainer<R>(
  _ configuration: MemcachedConfiguration,
  _ body: (MemCacheSessionDataContainer) async throws -> R
) async throws -> R {
  let pool = try MemcachedPool(configuration: configuration)
  do {
    let result = try await body(
      MemCacheSessionDataContainer(proxy: MemCacheProxy(store: pool)))
    await pool.shutdown()
    return result
  } catch {
    await pool.shutdown()
    throw error
  }
}

/// Waits until `condition` holds, checking every 100 ms, for at most `seconds`; whether it did.
func eventually(
  within seconds: Double, _ condition: () async throws -> Bool
) async throws -> Bool {
  let deadline = ContinuousClock.now + .seconds(seconds)
  while ContinuousClock.now < deadline {
    if try await condition() { return true }
    try await Task.sleep(for: .milliseconds(100))
  }
  return try await condition()
}
