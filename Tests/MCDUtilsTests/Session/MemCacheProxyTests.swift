import Memcached
import Testing

@testable import MCDUtils

private struct Cart: Codable, Equatable {
  var items: [String]
  var total: Double
}

@Suite struct MemCacheProxyTests {
  @Test func anEmptyServerListMeansAnInProcessStore() throws {
    let proxy = try MemCacheProxy(servers: "")
    #expect(proxy.store is InProcessStore)
    #expect(!proxy.isPersistent)
  }

  @Test func serverLinesMeanAMemcachedPool() throws {
    let proxy = try MemCacheProxy(servers: "127.0.0.1:11311\n127.0.0.1:11312") {
      $0.keyPrefix = "app:"
    }
    let pool = try #require(proxy.store as? MemcachedPool)
    #expect(pool.configuration.servers.count == 2)
    #expect(proxy.store.keyPrefixLength == 4)
  }

  @Test func aBadServerLineIsAMemCacheError() {
    #expect(
      memCacheError {
        _ = try MemCacheProxy(servers: "host:notaport")
      }?.caseName == "storeFailed")
  }

  @Test func codableValuesRoundTrip() throws {
    let proxy = MemCacheProxy(store: InProcessStore())
    let cart = Cart(items: ["book", "pen"], total: 12.5)
    try proxy.set("cart", cart)
    #expect(try proxy.get("cart", as: Cart.self) == cart)
    #expect(try proxy.get("absent", as: Cart.self) == nil)
  }

  @Test func valuesAreStoredInTheValueFormat() throws {
    let store = InProcessStore()
    try MemCacheProxy(store: store).set("k", "v")
    let item = try #require(try store.get("k"))
    #expect(ValueFormat.isOurs(flags: item.flags))
    #expect(try ValueFormat.decode(item.value, flags: item.flags) == "v")
  }

  @Test func addStoresOnlyAbsentKeysAndReplaceOnlyPresentOnes() throws {
    let proxy = MemCacheProxy(store: InProcessStore())
    #expect(try proxy.replace("k", 1) == false)
    #expect(try proxy.add("k", 1) == true)
    #expect(try proxy.add("k", 2) == false)
    #expect(try proxy.replace("k", 3) == true)
    #expect(try proxy.get("k", as: Int.self) == 3)
  }

  @Test func getMultiReturnsTheHits() throws {
    let proxy = MemCacheProxy(store: InProcessStore())
    try proxy.set("a", 1)
    try proxy.set("b", 2)
    #expect(try proxy.getMulti(["a", "b", "c"], as: Int.self) == ["a": 1, "b": 2])
  }

  @Test func casWritesOnlyWithTheCurrentCASValue() throws {
    let proxy = MemCacheProxy(store: InProcessStore())
    try proxy.set("k", "first")
    let (_, cas) = try #require(try proxy.getWithCAS("k", as: String.self))
    try proxy.set("k", "second")
    #expect(try proxy.cas("k", "third", cas: cas) == .conflict)
    let (_, fresh) = try #require(try proxy.getWithCAS("k", as: String.self))
    #expect(try proxy.cas("k", "third", cas: fresh) == .stored)
    #expect(try proxy.get("k", as: String.self) == "third")
  }

  @Test func deleteCountersTouchAppendAndPrependWork() throws {
    let proxy = MemCacheProxy(store: InProcessStore())
    #expect(try proxy.increment("n", by: 5, initial: 10) == 10)
    #expect(try proxy.increment("n", by: 5) == 15)
    #expect(try proxy.decrement("n", by: 20) == 0)
    #expect(try proxy.touch("n", expiration: .seconds(60)))
    #expect(try proxy.append("n", bytes: Array("1".utf8)))
    #expect(try proxy.prepend("n", bytes: Array("2".utf8)))
    #expect(try proxy.item(forKey: "n")?.value == Array("201".utf8))
    #expect(try proxy.delete("n"))
    #expect(try proxy.delete("n") == false)
  }

  @Test func asyncFormsWork() async throws {
    let proxy = MemCacheProxy(store: InProcessStore())
    try await proxy.set("k", ["a": 1])
    #expect(try await proxy.get("k", as: [String: Int].self) == ["a": 1])
    #expect(try await proxy.add("k", 2) == false)
    #expect(try await proxy.getMulti(["k"], as: [String: Int].self).count == 1)
    #expect(try await proxy.delete("k"))
    #expect(try proxy.server(for: "k") == nil)
    #expect(try await proxy.ping().isEmpty)
    try await proxy.flush()
  }

  @Test func bytesThatAreNotOursAreATypedError() throws {
    let store = InProcessStore()
    try store.set("k", value: Array("plain text".utf8), flags: 0, expiration: .never)
    let proxy = MemCacheProxy(store: store)
    #expect(
      memCacheError {
        _ = try proxy.get("k", as: String.self)
      }?.caseName == "undecodable")
  }

  @Test func aValueOfTheWrongTypeIsADecodingError() throws {
    let proxy = MemCacheProxy(store: InProcessStore())
    try proxy.set("k", "text")
    #expect(
      memCacheError {
        _ = try proxy.get("k", as: Int.self)
      }?.caseName == "decodingFailed")
  }

  @Test func aValueLargerThanTheMaximumIsRefusedWithItsSize() throws {
    let proxy = MemCacheProxy(store: InProcessStore(maximumValueSize: 100))
    let big = String(repeating: "x", count: 200)
    let error = memCacheError { try proxy.set("k", big) }
    guard case .valueTooLarge(let size, let maximum)? = error else {
      Issue.record("expected valueTooLarge, got \(String(describing: error))")
      return
    }
    #expect(size > 200)
    #expect(maximum == 100)
  }
}

@Suite struct MemCacheProxyReadCacheTests {
  @Test func aKeyIsFetchedOncePerTransaction() throws {
    let store = InProcessStore()
    let proxy = MemCacheProxy(store: store)
    try proxy.set("k", 1)
    try withTransaction { _ in
      for _ in 0..<3 {
        let value = try proxy.get("k", as: Int.self)
        #expect(value == 1)
      }
    }
    #expect(store.count("get") == 1)
  }

  @Test func aMissIsCachedToo() throws {
    let store = InProcessStore()
    let proxy = MemCacheProxy(store: store)
    try withTransaction { _ in
      for _ in 0..<3 {
        let value = try proxy.get("absent", as: Int.self)
        #expect(value == nil)
      }
    }
    #expect(store.count("get") == 1)
  }

  @Test func withoutATransactionNothingIsCached() throws {
    let store = InProcessStore()
    let proxy = MemCacheProxy(store: store)
    try proxy.set("k", 1)
    for _ in 0..<3 { _ = try proxy.get("k", as: Int.self) }
    #expect(store.count("get") == 3)
    #expect(proxy.readCache.openCacheCount == 0)
  }

  @Test func aWriteThroughTheProxyDropsTheCachedCopy() throws {
    let store = InProcessStore()
    let proxy = MemCacheProxy(store: store)
    try proxy.set("k", 1)
    try withTransaction { _ in
      #expect(try proxy.get("k", as: Int.self) == 1)
      try proxy.set("k", 2)
      #expect(try proxy.get("k", as: Int.self) == 2)
    }
    #expect(store.count("get") == 2)
  }

  @Test func theEndOfATransactionDropsWhatItCached() throws {
    let store = InProcessStore()
    let proxy = MemCacheProxy(store: store)
    try proxy.set("k", 1)
    try withTransaction { _ in _ = try proxy.get("k", as: Int.self) }
    #expect(proxy.readCache.openCacheCount == 0)
    // Written behind the proxy's back: the next transaction must see it.
    try store.set(
      "k", value: try ValueFormat.encode(2).bytes, flags: ValueFormat.plainFlags,
      expiration: .never)
    let value = try withTransaction { _ in try proxy.get("k", as: Int.self) }
    #expect(value == 2)
    #expect(store.count("get") == 2)
  }

  @Test func anAbortDropsWhatTheTransactionCached() throws {
    let proxy = MemCacheProxy(store: InProcessStore())
    try proxy.set("k", 1)
    let transaction = Transaction()
    try Transaction.$current.withValue(transaction) { _ = try proxy.get("k", as: Int.self) }
    #expect(proxy.readCache.openCacheCount == 1)
    try transaction.abort()
    #expect(proxy.readCache.openCacheCount == 0)
  }

  @Test func concurrentTransactionsDoNotShareCachedCopies() throws {
    let proxy = MemCacheProxy(store: InProcessStore())
    try proxy.set("k", 1)
    let first = Transaction()
    let second = Transaction()
    let read = { (transaction: Transaction) in
      try Transaction.$current.withValue(transaction) { try proxy.get("k", as: Int.self) }
    }
    #expect(try read(first) == 1)
    try proxy.set("k", 2)  // outside both transactions
    #expect(try read(second) == 2)
    #expect(try read(first) == 1)  // its own snapshot
    try first.commit()
    try second.commit()
    #expect(proxy.readCache.openCacheCount == 0)
  }

  @Test func asyncReadsUseTheCacheOfTheCurrentTransaction() async throws {
    let store = InProcessStore()
    let proxy = MemCacheProxy(store: store)
    try await proxy.set("k", 1)
    try await withTransaction { _ in
      for _ in 0..<3 {
        let value = try await proxy.get("k", as: Int.self)
        #expect(value == 1)
      }
    }
    #expect(store.count("get") == 1)
    #expect(proxy.readCache.openCacheCount == 0)
  }
}
