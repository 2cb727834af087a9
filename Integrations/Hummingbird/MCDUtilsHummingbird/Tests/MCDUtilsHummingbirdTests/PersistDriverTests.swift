import Foundation
import Hummingbird
import HummingbirdTesting
import MCDUtilsHummingbird
import Testing

/// Hummingbird's own `PersistTests` (hummingbird 2.28.1, `Tests/HummingbirdTests/PersistTests.swift`)
/// run on ``MemcachedPersistDriver`` against a real memcached: the same routes, requests and
/// expectations, with the driver in place of `MemoryPersistDriver`.
struct PersistDriverTests {
  func createRouter(_ persist: some PersistDriver) -> Router<BasicRequestContext> {
    let router = Router()
    router.put("/persist/:tag") { request, context -> HTTPResponse.Status in
      let buffer = try await request.body.collect(upTo: .max)
      let tag = try context.parameters.require("tag")
      try await persist.set(key: tag, value: String(buffer: buffer))
      return .ok
    }
    router.put("/persist/:tag/:time") { request, context -> HTTPResponse.Status in
      guard let time = context.parameters.get("time", as: Int.self) else {
        throw HTTPError(.badRequest)
      }
      let buffer = try await request.body.collect(upTo: .max)
      let tag = try context.parameters.require("tag")
      try await persist.set(key: tag, value: String(buffer: buffer), expires: .seconds(time))
      return .ok
    }
    router.get("/persist/:tag") { _, context -> String? in
      guard let tag = context.parameters.get("tag", as: String.self) else {
        throw HTTPError(.badRequest)
      }
      return try await persist.get(key: tag, as: String.self)
    }
    router.get("/persist/:tag/ttl") { _, context -> String? in
      guard let tag = context.parameters.get("tag", as: String.self) else {
        throw HTTPError(.badRequest)
      }
      return try await persist.getWithTTL(key: tag, as: String.self)?.ttl.map {
        String($0.components.seconds)
      }
    }
    router.delete("/persist/:tag") { _, context -> HTTPResponse.Status in
      guard let tag = context.parameters.get("tag", as: String.self) else {
        throw HTTPError(.badRequest)
      }
      try await persist.remove(key: tag)
      return .noContent
    }
    return router
  }

  @Test func setThenGet() async throws {
    try await withDriver { persist, _ in
      let app = Application(responder: createRouter(persist).buildResponder())
      try await app.test(.router) { client in
        let tag = UUID().uuidString
        try await client.execute(
          uri: "/persist/\(tag)", method: .put, body: ByteBuffer(string: "Persist")
        ) { _ in }
        try await client.execute(uri: "/persist/\(tag)", method: .get) { response in
          #expect(response.text == "Persist")
        }
      }
    }
  }

  @Test func createThenGet() async throws {
    try await withDriver { persist, _ in
      let router = createRouter(persist)
      router.put("/create/:tag") { request, context -> HTTPResponse.Status in
        let buffer = try await request.body.collect(upTo: .max)
        let tag = try context.parameters.require("tag")
        try await persist.create(key: tag, value: String(buffer: buffer))
        return .ok
      }
      let app = Application(responder: router.buildResponder())
      try await app.test(.router) { client in
        let tag = UUID().uuidString
        try await client.execute(
          uri: "/create/\(tag)", method: .put, body: ByteBuffer(string: "Persist")
        ) { _ in }
        try await client.execute(uri: "/persist/\(tag)", method: .get) { response in
          #expect(response.text == "Persist")
        }
      }
    }
  }

  @Test func creatingTwiceFailsWithDuplicate() async throws {
    try await withDriver { persist, _ in
      let router = createRouter(persist)
      router.put("/create/:tag") { request, context -> HTTPResponse.Status in
        let buffer = try await request.body.collect(upTo: .max)
        let tag = try context.parameters.require("tag")
        do {
          try await persist.create(key: tag, value: String(buffer: buffer))
        } catch let error as PersistError where error == .duplicate {
          throw HTTPError(.conflict)
        }
        return .ok
      }
      let app = Application(responder: router.buildResponder())
      try await app.test(.router) { client in
        let tag = UUID().uuidString
        try await client.execute(
          uri: "/create/\(tag)", method: .put, body: ByteBuffer(string: "Persist")
        ) { response in
          #expect(response.status == .ok)
        }
        try await client.execute(
          uri: "/create/\(tag)", method: .put, body: ByteBuffer(string: "Persist")
        ) { response in
          #expect(response.status == .conflict)
        }
      }
    }
  }

  @Test func settingTwiceKeepsTheSecondValue() async throws {
    try await withDriver { persist, _ in
      let app = Application(responder: createRouter(persist).buildResponder())
      try await app.test(.router) { client in
        let tag = UUID().uuidString
        try await client.execute(
          uri: "/persist/\(tag)", method: .put, body: ByteBuffer(string: "test1")
        ) { _ in }
        try await client.execute(
          uri: "/persist/\(tag)", method: .put, body: ByteBuffer(string: "test2")
        ) { response in
          #expect(response.status == .ok)
        }
        try await client.execute(uri: "/persist/\(tag)", method: .get) { response in
          #expect(response.text == "test2")
        }
      }
    }
  }

  @Test func valuesExpire() async throws {
    try await withDriver { persist, _ in
      let app = Application(responder: createRouter(persist).buildResponder())
      try await app.test(.router) { client in
        let tag1 = UUID().uuidString
        let tag2 = UUID().uuidString
        try await client.execute(
          uri: "/persist/\(tag1)/0", method: .put, body: ByteBuffer(string: "ThisIsTest1")
        ) { _ in }
        try await client.execute(
          uri: "/persist/\(tag2)/10", method: .put, body: ByteBuffer(string: "ThisIsTest2")
        ) { _ in }
        try await Task.sleep(for: .seconds(1))
        try await client.execute(uri: "/persist/\(tag1)", method: .get) { response in
          #expect(response.status == .noContent)
        }
        try await client.execute(uri: "/persist/\(tag2)", method: .get) { response in
          #expect(response.text == "ThisIsTest2")
        }
      }
    }
  }

  @Test func timeToLiveIsReported() async throws {
    try await withDriver { persist, _ in
      let app = Application(responder: createRouter(persist).buildResponder())
      try await app.test(.router) { client in
        let tag1 = UUID().uuidString
        try await client.execute(
          uri: "/persist/\(tag1)/10", method: .put, body: ByteBuffer(string: "ThisIsTest2")
        ) { _ in }
        try await client.execute(uri: "/persist/\(tag1)/ttl", method: .get) { response in
          let ttl = try #require(Int(response.text))
          #expect(ttl <= 10 && ttl > 1)
        }
      }
    }
  }

  @Test func codableValuesRoundTrip() async throws {
    struct TestCodable: Codable {
      let buffer: String
    }
    try await withDriver { persist, _ in
      let router = createRouter(persist)
      router.put("/codable/:tag") { request, context -> HTTPResponse.Status in
        guard let tag = context.parameters.get("tag") else { throw HTTPError(.badRequest) }
        let buffer = try await request.body.collect(upTo: .max)
        try await persist.set(key: tag, value: TestCodable(buffer: String(buffer: buffer)))
        return .ok
      }
      router.get("/codable/:tag") { _, context -> String? in
        guard let tag = context.parameters.get("tag") else { throw HTTPError(.badRequest) }
        let value = try await persist.get(key: tag, as: TestCodable.self)
        return value?.buffer
      }
      let app = Application(responder: router.buildResponder())
      try await app.test(.router) { client in
        let tag = UUID().uuidString
        try await client.execute(
          uri: "/codable/\(tag)", method: .put, body: ByteBuffer(string: "Persist")
        ) { _ in }
        try await client.execute(uri: "/codable/\(tag)", method: .get) { response in
          #expect(response.text == "Persist")
        }
      }
    }
  }

  /// Hummingbird's `testInvalidGetAs`: `PersistError.invalidConversion`, as
  /// `MemoryPersistDriver` throws it, with the driver's defaults.
  @Test func readingAsAnotherTypeThrowsInvalidConversion() async throws {
    struct TestCodable: Codable {
      let buffer: String
    }
    try await withDriver { persist, _ in
      let router = createRouter(persist)
      // Upstream's key; the test has a server and a key prefix of its own.
      let key = "test"
      router.put("/invalid") { _, _ -> HTTPResponse.Status in
        try await persist.set(key: key, value: TestCodable(buffer: "hello"))
        return .ok
      }
      router.get("/invalid") { _, _ -> String? in
        do {
          return try await persist.get(key: key, as: String.self)
        } catch let error as PersistError where error == .invalidConversion {
          throw HTTPError(.badRequest)
        }
      }
      let app = Application(router: router)
      try await app.test(.router) { client in
        try await client.execute(uri: "/invalid", method: .put)
        try await client.execute(uri: "/invalid", method: .get) { response in
          #expect(response.status == .badRequest)
        }
      }
    }
  }

  @Test func removedValuesAreGone() async throws {
    try await withDriver { persist, _ in
      let app = Application(responder: createRouter(persist).buildResponder())
      try await app.test(.router) { client in
        let tag = UUID().uuidString
        try await client.execute(
          uri: "/persist/\(tag)", method: .put, body: ByteBuffer(string: "ThisIsTest1")
        ) { _ in }
        try await client.execute(uri: "/persist/\(tag)", method: .delete) { _ in }
        try await client.execute(uri: "/persist/\(tag)", method: .get) { response in
          #expect(response.status == .noContent)
        }
      }
    }
  }

  @Test func anExpiredKeyCanBeSetAgain() async throws {
    try await withDriver { persist, _ in
      let app = Application(responder: createRouter(persist).buildResponder())
      try await app.test(.router) { client in
        let tag = UUID().uuidString
        try await client.execute(
          uri: "/persist/\(tag)/0", method: .put, body: ByteBuffer(string: "ThisIsTest1")
        ) { _ in }
        try await Task.sleep(for: .seconds(1))
        try await client.execute(uri: "/persist/\(tag)", method: .get) { response in
          #expect(response.status == .noContent)
        }
        try await client.execute(
          uri: "/persist/\(tag)/10", method: .put, body: ByteBuffer(string: "ThisIsTest1")
        ) { response in
          #expect(response.status == .ok)
        }
        try await client.execute(uri: "/persist/\(tag)", method: .get) { response in
          #expect(response.status == .ok)
          #expect(response.text == "ThisIsTest1")
        }
      }
    }
  }

  /// Hummingbird's `testTidy` runs the memory driver as an application service with a tidy
  /// task every millisecond and checks that a live value survives; memcached drops expired
  /// items itself, so here the driver runs as the application's service (its `run()` waits for
  /// graceful shutdown, then shuts its pool down) and a live value survives the same way.
  @Test func aLiveValueSurvivesWhileTheDriverRunsAsAService() async throws {
    try await withDriver { persist, _ in
      let app = Application(
        responder: createRouter(persist).buildResponder(), services: [persist])
      try await app.test(.router) { client in
        let tag = UUID().uuidString
        try await client.execute(
          uri: "/persist/\(tag)/10", method: .put, body: ByteBuffer(string: "NotExpired")
        ) { _ in }
        try await Task.sleep(for: .milliseconds(20))
        try await client.execute(uri: "/persist/\(tag)", method: .get) { response in
          #expect(response.text == "NotExpired")
        }
      }
    }
  }
}
