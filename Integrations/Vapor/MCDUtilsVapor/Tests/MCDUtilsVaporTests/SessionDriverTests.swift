import Foundation
import MCDUtils
import MCDUtilsVapor
import Memcached
import MemcachedTestSupport
import Testing
import Vapor
import VaporTesting

@Suite("The memcached session driver")
struct SessionDriverTests {
  @Test("login, read and increment keep their data in memcached across requests")
  func loginReadIncrement() async throws {
    try await withMemcached { processes in
      let configuration = testConfiguration(processes)
      try await withSessionsApp(configuration) { app in
        let tester = try app.testing()
        let login = try await tester.sendRequest(.POST, "login?user=ann")
        #expect(login.status == .ok)
        let cookie = try #require(sessionCookie(login))
        for expected in 1...3 {
          let increment = try await tester.sendRequest(.POST, "increment", headers: cookie)
          #expect(increment.body.string == String(expected))
        }
        let read = try await tester.sendRequest(.GET, "read", headers: cookie)
        #expect(read.body.string == "user=ann count=3")
        let anonymous = try await tester.sendRequest(.GET, "read")
        #expect(anonymous.body.string == "anonymous")
      }
    }
  }

  @Test("the session is stored as string entries that other programs read")
  func entriesAreReadableByOtherPrograms() async throws {
    try await withMemcached { processes in
      let configuration = testConfiguration(processes)
      let cookie = try await withSessionsApp(configuration) { app in
        let login = try await app.testing().sendRequest(.POST, "login?user=bob")
        return try #require(sessionCookie(login))
      }
      try await withOtherProgramsContainer(configuration) { container in
        let session = try #require(try await container.get(sessionID(cookie)))
        #expect(session.contents == ["user": .string("bob"), "count": .string("0")])
      }
    }
  }

  @Test("entries another program stored are shown as text and kept unless changed")
  func otherProgramsEntriesAreShownAsText() async throws {
    try await withMemcached { processes in
      let configuration = testConfiguration(processes)
      let id = "written-elsewhere-\(UInt32.random(in: 0...UInt32.max))"
      try await withOtherProgramsContainer(configuration) { container in
        try await withTransaction { _ in
          let session = try await container.newOrExisting(id)
          session["user"] = "cy"
          session["count"] = .int(41)
          session["roles"] = ["Member", "Editor"]
        }
      }
      try await withSessionsApp(configuration) { app in
        let cookie: HTTPHeaders = ["Cookie": "vapor-session=\(id)"]
        let increment = try await app.testing().sendRequest(.POST, "increment", headers: cookie)
        #expect(increment.body.string == "42")
      }
      try await withOtherProgramsContainer(configuration) { container in
        let session = try #require(try await container.get(id))
        #expect(session["count"] == .string("42"))
        #expect(session["roles"] == ["Member", "Editor"])
        #expect(session["user"] == .string("cy"))
      }
    }
  }

  @Test("two requests that loaded one session both keep the keys they set")
  func interleavedRequestsMergeTheirKeys() async throws {
    try await withMemcached { processes in
      try await withSessionsApp(testConfiguration(processes)) { app in
        let driver = app.sessions.driver as! MemcachedSessionDriver
        let id = try await driver.createSession(["user": "dee"], for: request(app))
        let (first, second) = (request(app), request(app))
        var firstData = try #require(try await driver.readSession(id, for: first))
        var secondData = try #require(try await driver.readSession(id, for: second))
        firstData["a"] = "1"
        firstData["shared"] = "first"
        secondData["b"] = "2"
        secondData["shared"] = "second"
        secondData["user"] = nil
        _ = try await driver.updateSession(id, to: firstData, for: first)
        _ = try await driver.updateSession(id, to: secondData, for: second)
        let stored = try #require(try await driver.readSession(id, for: request(app)))
        // Each request's own keys survive; for the key both set, the later commit wins.
        #expect(stored.snapshot == ["a": "1", "b": "2", "shared": "second"])
      }
    }
  }

  @Test(
    "16 connections × 500 requests, each setting its own key in one session, keep all 8,000 keys")
  func concurrentConnectionsKeepEveryKey() async throws {
    let connections = 16
    let requestsPerConnection = 500
    try await withMemcached { processes in
      let configuration = testConfiguration(processes)
      let id = try await withSessionsApp(configuration) { app in
        try await withRunningServer(app) { port, client in
          let login = try await client.send(.POST, port, "/login?user=eve")
          #expect(login.status == .ok)
          let cookie = try #require(login.cookie)
          try await withThrowingTaskGroup(of: Int.self) { group in
            for connection in 0..<connections {
              group.addTask {
                var failures = 0
                for index in 0..<requestsPerConnection {
                  let key = "c\(connection)-r\(index)"
                  let response = try await client.send(.PUT, port, "/keys/\(key)", cookie: cookie)
                  if response.status != .ok { failures += 1 }
                }
                return failures
              }
            }
            var failures = 0
            for try await count in group { failures += count }
            #expect(failures == 0)
          }
          let size = try await client.send(.GET, port, "/size", cookie: cookie)
          // The 8,000 keys, and the user and count of the login.
          #expect(size.body == String(connections * requestsPerConnection + 2))
          return String(cookie.dropFirst("vapor-session=".count))
        }
      }
      try await withOtherProgramsContainer(configuration) { container in
        let session = try #require(try await container.get(id))
        let missing = (0..<connections).flatMap { connection in
          (0..<requestsPerConnection).map { "c\(connection)-r\($0)" }
        }.filter { session[$0] != .string("set") }
        #expect(missing.isEmpty, "missing keys: \(missing.prefix(10))")
        #expect(session.count == connections * requestsPerConnection + 2)
      }
    }
  }

  @Test("a logout stays a logout, even for a request that loaded the session before it")
  func invalidatedSessionIsNotWrittenBack() async throws {
    try await withMemcached { processes in
      let configuration = testConfiguration(processes)
      let id = try await withSessionsApp(configuration) { app in
        let driver = app.sessions.driver as! MemcachedSessionDriver
        let id = try await driver.createSession(["user": "fay"], for: request(app))
        let (logout, late) = (request(app), request(app))
        _ = try await driver.readSession(id, for: logout)
        var lateData = try #require(try await driver.readSession(id, for: late))
        try await driver.deleteSession(id, for: logout)
        lateData["cart"] = "book"
        // The late request answers normally; its changes are dropped.
        _ = try await driver.updateSession(id, to: lateData, for: late)
        #expect(try await driver.readSession(id, for: request(app)) == nil)

        // Through HTTP: the logout expires the cookie, and the old cookie is anonymous.
        let tester = try app.testing()
        let login = try await tester.sendRequest(.POST, "login?user=gus")
        let cookie = try #require(sessionCookie(login))
        let bye = try await tester.sendRequest(.POST, "logout", headers: cookie)
        let expires = try #require(bye.headers.setCookie?["vapor-session"]?.expires)
        #expect(expires < Date())
        let read = try await tester.sendRequest(.GET, "read", headers: cookie)
        #expect(read.body.string == "anonymous")
        return id
      }
      try await withOtherProgramsContainer(configuration) { container in
        let stored = try await container.get(id.string)
        #expect(stored == nil)
      }
    }
  }

  @Test("giving the session a new id invalidates the old id")
  func rotatedIdInvalidatesTheOldOne() async throws {
    try await withMemcached { processes in
      try await withSessionsApp(testConfiguration(processes)) { app in
        let tester = try app.testing()
        let old = try #require(sessionCookie(try await tester.sendRequest(.POST, "login?user=hal")))
        let rotated = try await tester.sendRequest(.POST, "rotate", headers: old)
        let new = try #require(sessionCookie(rotated))
        #expect(sessionID(new) != sessionID(old))
        let readNew = try await tester.sendRequest(.GET, "read", headers: new)
        #expect(readNew.body.string == "user=hal count=0")
        let readOld = try await tester.sendRequest(.GET, "read", headers: old)
        #expect(readOld.body.string == "anonymous")
      }
    }
  }

  @Test("a cookie that names no session, or something else, starts a new session")
  func forgedCookieStartsANewSession() async throws {
    try await withMemcached { processes in
      let configuration = testConfiguration(processes)
      try await withSessionsApp(configuration) { app in
        try await app.memcached.proxy.set("not-a-session", "a cache entry")
        for forged in ["not-a-session", String(repeating: "x", count: 400), "never-stored"] {
          let cookie: HTTPHeaders = ["Cookie": "vapor-session=\(forged)"]
          let response = try await app.testing().sendRequest(.POST, "increment", headers: cookie)
          #expect(response.status == .ok)
          #expect(response.body.string == "1")
          let issued = try #require(sessionCookie(response))
          #expect(sessionID(issued) != forged)
        }
        #expect(
          try await app.memcached.proxy.get("not-a-session", as: String.self) == "a cache entry")
      }
    }
  }

  @Test("the time to live defaults to the session cookie's lifetime")
  func timeToLiveFollowsTheCookie() async throws {
    try await withMemcached { processes in
      try await withSessionsApp(testConfiguration(processes)) { app in
        // Vapor's default cookie: a week.
        let week = try #require(app.sessions.driver as? MemcachedSessionDriver).container
        #expect(abs((week.timeout - .seconds(7 * 24 * 3600)) / .seconds(1)) <= 2)
        #expect(week.resolution == MemCacheSessionDataContainer.defaultResolution)

        app.sessions.configuration = SessionsConfiguration(cookieName: "sid") {
          HTTPCookies.Value(string: $0.string, maxAge: 120)
        }
        let short = try #require(app.sessions.driver as? MemcachedSessionDriver).container
        #expect(short.timeout == .seconds(120))
        #expect(short.resolution == .seconds(30))

        app.sessions.configuration = SessionsConfiguration(cookieName: "sid") {
          HTTPCookies.Value(string: $0.string)
        }
        let browser = try #require(app.sessions.driver as? MemcachedSessionDriver).container
        #expect(browser.timeout == MemCacheSessionDataContainer.defaultTimeout)

        app.sessions.use(.memcached(timeToLive: .seconds(90), resolution: .seconds(5)))
        let explicit = try #require(app.sessions.driver as? MemcachedSessionDriver).container
        #expect(explicit.timeout == .seconds(90))
        #expect(explicit.resolution == .seconds(5))
      }
    }
  }

  @Test("a session in use outlives its time to live (sliding refresh); an unused one expires")
  func slidingRefresh() async throws {
    try await withMemcached { processes in
      let sessions = Application.Sessions.Provider.memcached(
        timeToLive: .seconds(4), resolution: .seconds(1))
      try await withSessionsApp(testConfiguration(processes), sessions: sessions) { app in
        let tester = try app.testing()
        let cookie = try #require(
          sessionCookie(try await tester.sendRequest(.POST, "login?user=ida")))
        // Read-only requests for 8 s, twice the time to live: each refreshes the session.
        let start = ContinuousClock.now
        while ContinuousClock.now - start < .seconds(8) {
          let read = try await tester.sendRequest(.GET, "read", headers: cookie)
          #expect(read.body.string == "user=ida count=0")
          try await Task.sleep(for: .seconds(1))
        }
        // Unused, it expires. Watched with plain gets, which refresh nothing; memcached counts
        // whole seconds, so the margin is wide.
        let expired = try await eventually(within: 20) {
          try await app.memcached.proxy.item(forKey: sessionID(cookie)) == nil
        }
        #expect(expired)
      }
    }
  }

  @Test("an unreachable memcached answers 503, never a fresh empty session")
  func outageAnswers503() async throws {
    try await withMemcached { processes in
      let configuration = testConfiguration(processes)
      try await withSessionsApp(configuration) { app in
        let tester = try app.testing()
        let cookie = try #require(
          sessionCookie(try await tester.sendRequest(.POST, "login?user=jo")))
        await processes[0].freeze()
        do {
          let read = try await tester.sendRequest(.GET, "read", headers: cookie)
          #expect(read.status == .serviceUnavailable)
          #expect(read.headers.setCookie?["vapor-session"] == nil)
          let increment = try await tester.sendRequest(.POST, "increment", headers: cookie)
          #expect(increment.status == .serviceUnavailable)
          let fresh = try await tester.sendRequest(.POST, "login?user=kim")
          #expect(fresh.status == .serviceUnavailable)
        } catch {
          processes[0].thaw()
          throw error
        }
        processes[0].thaw()
        // Once the node answers again, the session is there, unchanged.
        let back = try await eventually(within: 30) {
          try await tester.sendRequest(.GET, "read", headers: cookie).body.string
            == "user=jo count=0"
        }
        #expect(back)
      }
    }
  }

  @Test("the application's pool shuts down with the application")
  func poolShutsDownWithTheApplication() async throws {
    try await withMemcached { processes in
      let app = try await Application.make(.testing)
      let proxy = try app.memcached.use(testConfiguration(processes))
      let pool = try #require(proxy.store as? MemcachedPool)
      try await proxy.set("alive", true)
      #expect(!pool.isShutDown)
      try await app.asyncShutdown()
      #expect(pool.isShutDown)
    }
  }
}

/// A request of `app` that no middleware saw, for driving the driver directly.
private func request(_ app: Application) -> Request {
  Request(application: app, on: app.eventLoopGroup.next())
}
