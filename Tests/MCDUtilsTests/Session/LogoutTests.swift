import Foundation
import Memcached
import MemcachedTestSupport
import Testing

@testable import MCDUtils

/// A logout is final: no request that loaded a session before it was invalidated can write it
/// back, whatever the conflict policy.
@Suite struct LogoutTests {
  private static let policies: [MemCacheSessionDataContainer.ConflictPolicy] = [
    .merge, .fail, .overwrite,
  ]

  @Test(arguments: policies)
  func aRequestThatLoadedTheSessionCannotUndoALogout(
    policy: MemCacheSessionDataContainer.ConflictPolicy
  ) async throws {
    try await withMemcached { processes in
      let pool = try makePool(processes.map(\.server), prefix: uniqueKeyPrefix())
      let container = MemCacheSessionDataContainer(
        proxy: MemCacheProxy(store: pool), conflictPolicy: policy)
      try await withTransaction { _ in
        let session = try await container.newOrExisting("alice")
        session["user"] = "alice"
        session["role"] = "admin"
      }
      // Request A loads the session and changes it; request B logs out; then A commits.
      let requestA = Transaction()
      try await Transaction.$current.withValue(requestA) {
        try #require(try await container.get("alice"))["cart"] = ["book"]
      }
      try await withTransaction { _ in try await container.get("alice")?.invalidate() }
      let error = await asyncMemCacheError { try await requestA.commit() }
      #expect(error?.caseName == "sessionEnded")
      #expect(requestA.status == .aborted)
      #expect(try await container.get("alice") == nil)
      #expect(try await container.hasKey("alice") == false)
    }
  }

  @Test(arguments: policies)
  func aRequestThatCreatedTheSessionCannotRecreateItAfterALogout(
    policy: MemCacheSessionDataContainer.ConflictPolicy
  ) async throws {
    let container = MemCacheSessionDataContainer(
      proxy: MemCacheProxy(store: InProcessStore()), conflictPolicy: policy)
    // Request A finds no session and starts one; meanwhile B creates it, then logs out.
    let requestA = Transaction()
    try await Transaction.$current.withValue(requestA) {
      try await container.newOrExisting("bob")["visits"] = 1
    }
    try await withTransaction { _ in try await container.newOrExisting("bob")["user"] = "bob" }
    try await withTransaction { _ in try await container.get("bob")?.invalidate() }
    let error = await asyncMemCacheError { try await requestA.commit() }
    #expect(error?.caseName == "sessionEnded")
    #expect(try await container.get("bob") == nil)
  }

  @Test func aNewLoginAfterALogoutStartsAFreshSession() async throws {
    let container = MemCacheSessionDataContainer(proxy: MemCacheProxy(store: InProcessStore()))
    try await withTransaction { _ in try await container.newOrExisting("carol")["role"] = "admin" }
    try await withTransaction { _ in try await container.get("carol")?.invalidate() }
    try await withTransaction { _ in try await container.newOrExisting("carol")["cart"] = 1 }
    #expect(try await container.get("carol")?.contents == ["cart": 1])
  }

  @Test func aLogoutSurvivesTheDeathOfTheNodeThatHeldTheSession() async throws {
    try await withMemcached(count: 3) { processes in
      let pool = try makePool(processes.map(\.server), prefix: uniqueKeyPrefix()) {
        $0.replicas = 1
      }
      let container = MemCacheSessionDataContainer(proxy: MemCacheProxy(store: pool))
      let ids = (0..<30).map { "dave-\($0)" }
      for id in ids {
        try await withTransaction { _ in try await container.newOrExisting(id)["role"] = "admin" }
        try await withTransaction { _ in try await container.get(id)?.invalidate() }
      }
      processes[0].stop()
      for id in ids { #expect(try await container.get(id) == nil, "\(id) came back") }
    }
  }
}
