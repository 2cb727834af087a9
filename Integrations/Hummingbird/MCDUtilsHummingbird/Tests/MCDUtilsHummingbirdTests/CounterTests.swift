import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdAuth
import HummingbirdTesting
import MCDUtilsHummingbird
import Testing

/// Concurrent requests on one session: the typed store's atomic update loses no change, while
/// hummingbird-auth's plain read-then-write keeps the last writer's value, as with
/// `MemoryPersistDriver`.
struct CounterTests {
  @Test func sixteenConnectionsOfFiveHundredIncrementsCountExactly8000() async throws {
    try await withDriver { persist, _ in
      let sessions = MemcachedSessionMiddleware<SessionContext>(driver: persist)
      let router = sessionRouter(sessions) { request, _ in
        try await sessions.update(request) { $0.count += 1 }
      }
      try await Application(router: router).test(.live) { client in
        let port = try #require(client.port)
        let login = try await client.execute(uri: "/login/ada", method: .post)
        let cookie = try #require(login.sessionCookie)
        let headers = cookieHeaders(cookie)
        let failures = try await withThrowingTaskGroup(of: Int.self) { group in
          for _ in 0..<16 {
            group.addTask {
              // One connection each, 500 requests one after the other on it.
              try await TestClient.withClient(host: "localhost", port: port) { connection in
                var failures = 0
                for _ in 0..<500 {
                  let response = try await connection.post(
                    "/increment", headers: headers, body: ByteBuffer())
                  if response.status != .ok { failures += 1 }
                }
                return failures
              }
            }
          }
          return try await group.reduce(0, +)
        }
        #expect(failures == 0)
        let me = try await client.execute(uri: "/me", method: .get, headers: headers)
        #expect(me.text == "ada 8000")
      }
    }
  }

  /// Two requests load the session before either saves it; each adds one to what it loaded, so
  /// the session ends at 1, not 2: the last writer wins, with either driver.
  @Test(arguments: [false, true])
  func plainReadThenWriteKeepsTheLastWritersValueAsTheMemoryDriverDoes(memcached: Bool)
    async throws
  {
    try await withDriver { persist, _ in
      let driver: any PersistDriver = memcached ? persist : MemoryPersistDriver()
      let bothLoaded = Rendezvous(parties: 2)
      let router = sessionRouter(SessionMiddleware(storage: driver)) { _, context in
        guard let loaded = context.sessions.session else { return nil }
        await bothLoaded.arrive()
        _ = context.sessions.updateSession(
          CounterSession(user: loaded.user, count: loaded.count + 1))
        return loaded
      }
      try await Application(router: router).test(.router) { client in
        let cookie = try #require(
          try await client.execute(uri: "/login/ada", method: .post).sessionCookie)
        let headers = cookieHeaders(cookie)
        try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
          for _ in 0..<2 {
            group.addTask {
              try await client.execute(uri: "/increment", method: .post, headers: headers).status
            }
          }
          for try await status in group { #expect(status == .ok) }
        }
        let me = try await client.execute(uri: "/me", method: .get, headers: headers)
        #expect(me.text == "ada 1")
      }
    }
  }
}

/// Lets `parties` tasks wait until all of them have arrived.
actor Rendezvous {
  private let parties: Int
  private var waiting: [CheckedContinuation<Void, Never>] = []

  init(parties: Int) {
    self.parties = parties
  }

  func arrive() async {
    if waiting.count + 1 == parties {
      for continuation in waiting { continuation.resume() }
      waiting = []
      return
    }
    await withCheckedContinuation { waiting.append($0) }
  }
}
