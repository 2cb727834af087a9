import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdAuth
import HummingbirdTesting
import MCDUtils
import MCDUtilsHummingbird
import Memcached
import MemcachedTestSupport
import Testing

/// With memcached unreachable the driver throws and the application answers 503: a session
/// that cannot be read is not a missing session (which would log the user out).
struct OutageTests {
  @Test func everyDriverCallThrowsUnavailableWhileTheNodeIsFrozen() async throws {
    try await withDriver { persist, processes in
      let key = uniqueKey()
      try await persist.set(key: key, value: "kept", expires: .seconds(60))
      await processes[0].freeze()
      defer { processes[0].thaw() }
      let calls: [(String, @Sendable () async throws -> Void)] = [
        ("get", { _ = try await persist.get(key: key, as: String.self) }),
        ("getWithTTL", { _ = try await persist.getWithTTL(key: key, as: String.self) }),
        ("set", { try await persist.set(key: key, value: "new", expires: nil) }),
        ("create", { try await persist.create(key: uniqueKey(), value: "new", expires: nil) }),
        ("update", { try await persist.update(key: key, as: String.self) { $0 += "!" } }),
        ("remove", { try await persist.remove(key: key) }),
      ]
      for (name, call) in calls {
        do {
          try await call()
          Issue.record("\(name) did not throw")
        } catch let error as MemCacheError {
          #expect(error.isUnavailable, "\(name): \(error)")
        }
      }
    }
  }

  @Test func aSessionRouteAnswers503WhileTheNodeIsFrozenAndRecovers() async throws {
    try await withDriver { persist, processes in
      let runs = HandlerRuns()
      let sessions = MemcachedSessionMiddleware<SessionContext>(driver: persist)
      let router = sessionRouter(sessions, runs: runs) { request, _ in
        try await sessions.update(request) { $0.count += 1 }
      }
      try await Application(router: router).test(.router) { client in
        let login = try await client.execute(uri: "/login/ada", method: .post)
        let cookie = try #require(login.sessionCookie)
        let me = try await client.execute(uri: "/me", method: .get, headers: cookieHeaders(cookie))
        #expect(me.text == "ada 0")

        await processes[0].freeze()
        var resumed = false
        defer { if !resumed { processes[0].thaw() } }
        let runsBefore = runs.count
        for _ in 0..<3 {
          let response = try await client.execute(
            uri: "/me", method: .get, headers: cookieHeaders(cookie))
          #expect(response.status == .serviceUnavailable)
          #expect(response.headers[.retryAfter] == "1")
        }
        // The handler never ran on a session that only seemed missing.
        #expect(runs.count == runsBefore)
        let increment = try await client.execute(
          uri: "/increment", method: .post, headers: cookieHeaders(cookie))
        #expect(increment.status == .serviceUnavailable)
        let newLogin = try await client.execute(uri: "/login/bob", method: .post)
        #expect(newLogin.status == .serviceUnavailable)

        processes[0].thaw()
        resumed = true
        // The node is probed back within about a second; allow a loaded machine much longer.
        let deadline = ContinuousClock.now + .seconds(30)
        var status = HTTPResponse.Status.serviceUnavailable
        while status == .serviceUnavailable, ContinuousClock.now < deadline {
          try await Task.sleep(for: .milliseconds(100))
          status = try await client.execute(
            uri: "/me", method: .get, headers: cookieHeaders(cookie)
          ).status
        }
        #expect(status == .ok)
        let after = try await client.execute(
          uri: "/me", method: .get, headers: cookieHeaders(cookie))
        #expect(after.text == "ada 0")
      }
    }
  }

  @Test func hummingbirdAuthsOwnMiddlewareBehindTheUnavailableMiddlewareAnswers503() async throws {
    try await withDriver { persist, processes in
      let router = Router(context: SessionContext.self)
      router.add(middleware: MemcachedUnavailableMiddleware())
      router.add(middleware: SessionMiddleware(storage: persist))
      router.post("/login") { _, context -> String in
        context.sessions.createSession(CounterSession(user: "ada", count: 0))
        return "ok"
      }
      router.get("/me") { _, context -> String in
        guard let session = context.sessions.session else { throw HTTPError(.unauthorized) }
        return session.user
      }
      try await Application(router: router).test(.router) { client in
        let cookie = try #require(
          try await client.execute(uri: "/login", method: .post).sessionCookie)
        await processes[0].freeze()
        defer { processes[0].thaw() }
        // SessionMiddleware swallows the failed load and the handler answers 401; the driver
        // reported the outage, so the answer is 503 all the same.
        let me = try await client.execute(uri: "/me", method: .get, headers: cookieHeaders(cookie))
        #expect(me.status == .serviceUnavailable)
      }
    }
  }

  @Test func anUnavailableErrorThrownByARouteBecomes503() async throws {
    try await withMemcached { processes in
      let pool = try MemcachedPool(configuration: configuration(processes))
      let store = SessionStore(proxy: MemCacheProxy(store: pool))
      let key = uniqueKey()
      _ = try await store.create(key, 0)
      let router = Router()
      router.add(middleware: MemcachedUnavailableMiddleware(retryAfterSeconds: nil))
      router.post("/count") { _, _ -> String in
        "\(try await store.update(key, as: Int.self) { $0 += 1 } ?? 0)"
      }
      try await Application(router: router).test(.router) { client in
        #expect(try await client.execute(uri: "/count", method: .post).text == "1")
        await processes[0].freeze()
        defer { processes[0].thaw() }
        let response = try await client.execute(uri: "/count", method: .post)
        #expect(response.status == .serviceUnavailable)
        #expect(response.headers[.retryAfter] == nil)
      }
      await pool.shutdown()
    }
  }
}
