import Foundation
import Memcached
import Testing

@testable import MCDUtils

/// A reference cycle: encoding it never ends, unless the encoder stops it.
private final class Node: Codable, @unchecked Sendable {
  // @unchecked: the tests build the cycle before sharing it and never change it afterwards.
  var name = "node"
  var next: Node?
}

/// Nested arrays `depth` deep, acyclic.
private struct Deep: Codable, Sendable {
  var inner: [Deep]

  init(depth: Int) {
    inner = depth == 0 ? [] : [Deep(depth: depth - 1)]
  }
}

private func cycle() -> Node {
  let node = Node()
  node.next = node
  return node
}

/// Values that nest too deep give a typed error on every write path, never a crash.
@Suite struct NestingOnWriteTests {
  @Test func theEncoderStopsACycleWithATypedError() throws {
    let error = try #require(throws: SessionValueNestingError.self) {
      _ = try SessionValueEncoder().encode(cycle())
    }
    #expect(error.limit == ValueFormat.maximumDepth)
    #expect(error.description.contains("cycle"))
    #expect(throws: SessionValueNestingError.self) { _ = try ValueFormat.encode(cycle()) }
    #expect(throws: SessionValueNestingError.self) { _ = try ValueFormat.encode(Deep(depth: 600)) }
    // Within the limit, deep values are fine.
    _ = try ValueFormat.encode(Deep(depth: 200))
  }

  @Test func aCycleRunsOutOfLimitNotOfStackOnACooperativeThread() async throws {
    let result = await Task.detached { () -> Bool in
      (try? SessionValueEncoder().encode(cycle())) == nil
    }.value
    #expect(result)
  }

  @Test func everyWritePathSaysTheValueNestsTooDeep() async throws {
    let store = InProcessStore()
    let proxy = MemCacheProxy(store: store)
    let container = MemCacheSessionDataContainer(proxy: proxy)
    let sessions = SessionStore(proxy: proxy)
    let cache = MemCacheZCache(store: store)
    let page = CacheablePath(["page"])
    var names: [String] = []
    func expectDepth(_ name: String, _ body: () async throws -> Void) async {
      let error = await asyncMemCacheError(body)
      if case .nestingTooDeep(let limit)? = error, limit == ValueFormat.maximumDepth { return }
      names.append("\(name): \(String(describing: error))")
    }
    for (label, value) in [
      ("cycle", AnyEncodable(cycle())), ("deep", AnyEncodable(Deep(depth: 600))),
    ] {
      await expectDepth("proxy.set \(label)") { try await proxy.set("k", value) }
      await expectDepth("proxy.add \(label)") { try await proxy.add("k2", value) }
      await expectDepth("proxy.replace \(label)") { try proxy.replace("k", value) }
      await expectDepth("proxy.cas \(label)") { _ = try proxy.cas("k", value, cas: 1) }
      await expectDepth("session.set \(label)") {
        try withTransaction { _ in try container.newOrExisting("s").set(value, forKey: "v") }
      }
      await expectDepth("sessions.create \(label)") { _ = try await sessions.create("t", value) }
      await expectDepth("sessions.set \(label)") { try await sessions.set("t", value) }
      await expectDepth("cache.set \(label)") { try await cache.set(value, for: page) }
    }
    _ = try await sessions.create("u", 1)
    await expectDepth("sessions.update") {
      _ = try await sessions.update("u", as: SessionValue.self) { value in
        var deep: SessionValue = 1
        for _ in 0..<600 { deep = .array([deep]) }
        value = deep
      }
    }
    let error = await asyncMemCacheError {
      _ = try await cache.getOrCompute(AnyCodable.self, for: page) { AnyCodable(cycle()) }
    }
    #expect(error?.caseName == "nestingTooDeep")
    #expect(names.isEmpty, "\(names)")
    // No value too deep reached the store: every item in it still decodes.
    for key in ["k", "k2", "s", "t"] { #expect(try await store.get(key) == nil) }
  }
}

/// Any `Encodable` value, for a list of values of different types.
private struct AnyEncodable: Encodable, Sendable {
  let encodeValue: @Sendable (any Encoder) throws -> Void

  init(_ value: some Encodable & Sendable) {
    encodeValue = { try value.encode(to: $0) }
  }

  func encode(to encoder: any Encoder) throws { try encodeValue(encoder) }
}

/// A value that encodes like the one it wraps and decodes as nothing in particular.
private struct AnyCodable: Codable, Sendable {
  let wrapped: AnyEncodable

  init(_ value: some Encodable & Sendable) { wrapped = AnyEncodable(value) }
  init(from decoder: any Decoder) throws { wrapped = AnyEncodable(0) }
  func encode(to encoder: any Encoder) throws { try wrapped.encode(to: encoder) }
}
