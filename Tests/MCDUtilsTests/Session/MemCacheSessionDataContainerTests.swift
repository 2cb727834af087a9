import Memcached
import Testing

@testable import MCDUtils

@Suite struct MemCacheSessionDataContainerTests {
  @Test func withoutAProxyEveryMethodThrowsNoProxyDefined() async {
    let container = MemCacheSessionDataContainer(proxy: nil)
    #expect(memCacheError { _ = try container.hasKey("id") }?.caseName == "noProxy")
    #expect(memCacheError { _ = try container.get("id") }?.caseName == "noProxy")
    #expect(memCacheError { _ = try container.newOrExisting("id") }?.caseName == "noProxy")
    #expect(await asyncMemCacheError { _ = try await container.get("id") }?.caseName == "noProxy")
    #expect(MemCacheError.noProxy.description == "No proxy defined")
  }

  @Test func hasKeyIsFalseForAMissAndTrueForAHit() throws {
    let (container, _) = makeUnitContainer()
    #expect(try container.hasKey("browser1") == false)
    _ = try container.newOrExisting("browser1")
    #expect(try container.hasKey("browser1"))
  }

  @Test func getIsNilForAMiss() throws {
    let (container, _) = makeUnitContainer()
    #expect(try container.get("browser1") == nil)
  }

  @Test func newOrExistingCreatesThenReturnsTheExistingSession() throws {
    let (container, _) = makeUnitContainer()
    try withTransaction { _ in try container.newOrExisting("browser1")["a"] = 1 }
    let again = try container.newOrExisting("browser1")
    #expect(again["a"] == 1)
  }

  @Test func aNewSessionIsStoredAtCommitEvenWhenEmpty() throws {
    let (container, store) = makeUnitContainer()
    try withTransaction { _ in _ = try container.newOrExisting("browser1") }
    #expect(store.count("add") == 1)
    #expect(try container.hasKey("browser1"))
  }

  @Test func aNewSessionOfAnAbortedTransactionIsNotStored() throws {
    let (container, _) = makeUnitContainer()
    let transaction = Transaction()
    try Transaction.$current.withValue(transaction) {
      try container.newOrExisting("browser1")["a"] = 1
    }
    try transaction.abort()
    #expect(try container.hasKey("browser1") == false)
  }

  @Test(arguments: ["", "has space", "tab\there", "new\nline", String(repeating: "x", count: 251)])
  func aBrowserIdThatCannotBeAKeyIsAClearError(id: String) {
    let (container, _) = makeUnitContainer()
    let error = memCacheError { _ = try container.newOrExisting(id) }
    guard case .invalidBrowserId(let reason)? = error else {
      Issue.record("expected invalidBrowserId, got \(String(describing: error))")
      return
    }
    #expect(!reason.isEmpty)
    #expect(id.isEmpty || error.map { !$0.description.contains(id) } == true)
  }

  @Test func bytesThatAreNotASessionAreATypedError() throws {
    let store = InProcessStore()
    let container = MemCacheSessionDataContainer(proxy: MemCacheProxy(store: store))
    try store.set("foreign", value: Array("PHP session".utf8), flags: 0, expiration: .never)
    let (bytes, flags) = try ValueFormat.encode(SessionValue.string("not a session"))
    try store.set("ours", value: bytes, flags: flags, expiration: .never)
    #expect(
      memCacheError {
        _ = try container.get("foreign")
      }?.caseName == "undecodable")
    #expect(
      memCacheError {
        _ = try container.newOrExisting("ours")
      }?.caseName == "notASession")
  }

  @Test func asyncFormsWork() async throws {
    let (container, _) = makeUnitContainer()
    try await withTransaction { _ in
      let session = try await container.newOrExisting("browser1")
      session["a"] = 1
    }
    #expect(try await container.hasKey("browser1"))
    #expect(try await container.get("browser1")?["a"] == 1)
  }
}
