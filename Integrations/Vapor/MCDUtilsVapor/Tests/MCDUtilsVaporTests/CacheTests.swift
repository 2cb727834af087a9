import Foundation
import MCDUtils
import MCDUtilsVapor
import Memcached
import MemcachedTestSupport
import Testing
import Vapor
import VaporTesting

@Suite("The memcached cache")
struct CacheTests {
  struct Forecast: Codable, Equatable, Sendable {
    var city: String
    var temperatures: [Double]
  }

  /// Runs `body` with an application whose cache is memcached on a server of the test's own.
  private func withCacheApp<R>(
    keyPrefix: String = "", name: String = #function,
    _ body: (Application, [MemcachedProcess]) async throws -> R
  ) async throws -> R {
    try await withMemcached { processes in
      try await withApp(
        configure: { app in
          try app.memcached.use(testConfiguration(processes, name: name))
          app.caches.use(.memcached(keyPrefix: keyPrefix))
        },
        { app in try await body(app, processes) })
    }
  }

  @Test("a value set is read back, and a deleted one is gone")
  func setGetDelete() async throws {
    try await withCacheApp { app, _ in
      let forecast = Forecast(city: "Oslo", temperatures: [-3.5, 1, 4.25])
      #expect(try await app.cache.get("forecast", as: Forecast.self) == nil)
      try await app.cache.set("forecast", to: forecast)
      #expect(try await app.cache.get("forecast", as: Forecast.self) == forecast)
      try await app.cache.set("forecast", to: Forecast(city: "Bergen", temperatures: []))
      #expect(try await app.cache.get("forecast", as: Forecast.self)?.city == "Bergen")
      try await app.cache.delete("forecast")
      #expect(try await app.cache.get("forecast", as: Forecast.self) == nil)
    }
  }

  @Test("setting nil removes the entry")
  func settingNilRemoves() async throws {
    try await withCacheApp { app, _ in
      try await app.cache.set("greeting", to: "hello")
      try await app.cache.set("greeting", to: String?.none)
      #expect(try await app.cache.get("greeting", as: String.self) == nil)
    }
  }

  @Test("an entry set with expiresIn is gone once that time has passed")
  func expiresIn() async throws {
    try await withCacheApp { app, _ in
      try await app.cache.set("short", to: "lived", expiresIn: .seconds(1))
      try await app.cache.set("long", to: "lived", expiresIn: .hours(1))
      #expect(try await app.cache.get("short", as: String.self) == "lived")
      // memcached counts whole seconds: the entry ends within about two; the margin is wide.
      let gone = try await eventually(within: 20) {
        try await app.cache.get("short", as: String.self) == nil
      }
      #expect(gone)
      #expect(try await app.cache.get("long", as: String.self) == "lived")
      try await app.cache.set("none", to: "left", expiresIn: .seconds(0))
      #expect(try await app.cache.get("none", as: String.self) == nil)
    }
  }

  @Test("any string is a key, and different keys never share an entry")
  func anyStringIsAKey() async throws {
    try await withCacheApp { app, _ in
      let cache = try #require(app.cache as? MemcachedCache)
      let long = String(repeating: "k", count: 300)
      let keys = [
        "plain", "with space", "line\nbreak", long, long + "!", "sha256:plain",
        cache.storageKey(for: "with space"),
      ]
      for (index, key) in keys.enumerated() { try await app.cache.set(key, to: index) }
      for (index, key) in keys.enumerated() {
        #expect(try await app.cache.get(key, as: Int.self) == index, "key \(index)")
      }
      #expect(cache.storageKey(for: "plain") == "plain")
      #expect(cache.storageKey(for: "with space").hasPrefix("sha256:"))
    }
  }

  @Test("entries live under the key prefix, in the MCDUtils format other programs read")
  func keyPrefixAndFormat() async throws {
    try await withCacheApp(keyPrefix: "pages:") { app, _ in
      app.get("page", ":name") { req async throws -> String in
        let name = try req.parameters.require("name")
        if let cached = try await req.cache.get("page:\(name)", as: String.self) {
          return "cached \(cached)"
        }
        try await req.cache.set("page:\(name)", to: "<h1>\(name)</h1>", expiresIn: .minutes(5))
        return "rendered"
      }
      let tester = try app.testing()
      #expect(try await tester.sendRequest(.GET, "page/home").body.string == "rendered")
      #expect(
        try await tester.sendRequest(.GET, "page/home").body.string == "cached <h1>home</h1>")
      let stored = try await app.memcached.proxy.get("pages:page:home", as: String.self)
      #expect(stored == "<h1>home</h1>")
    }
  }

  @Test("a value that does not decode as the requested type fails, it is not a miss")
  func wrongTypeFails() async throws {
    try await withCacheApp { app, _ in
      try await app.cache.set("number", to: 42)
      await #expect(throws: MemcachedFailure.self) {
        _ = try await app.cache.get("number", as: [String].self)
      }
    }
  }

  @Test("an unreachable memcached fails with 503")
  func unreachableIs503() async throws {
    try await withCacheApp { app, processes in
      try await app.cache.set("k", to: "v")
      processes[0].stop()
      let error = await #expect(throws: MemcachedFailure.self) {
        _ = try await app.cache.get("k", as: String.self)
      }
      #expect(error?.status == .serviceUnavailable)
      #expect(error?.isUnavailable == true)
    }
  }
}
