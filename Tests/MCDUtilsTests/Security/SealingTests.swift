import Crypto
import Foundation
import InMemoryLogging
import Logging
import Memcached
import Testing

@testable import MCDUtils

private func newKey() -> SymmetricKey { SymmetricKey(size: .bits256) }

private func ring(_ keys: SymmetricKey..., acceptsUnsealed: Bool = false) throws -> SealingKeyRing {
  try SealingKeyRing(keys: keys, acceptsUnsealed: acceptsUnsealed)
}

/// Sealed values are refused whenever anything about them was changed, moved or forged.
@Suite struct SealingTests {
  private let value: SessionValue = [
    "user": "alice", "role": "member", "note": .string(String(repeating: "n", count: 20_000)),
  ]

  @Test(arguments: [64, 1_000_000])
  func aSealedValueOpensWithItsKeyAndKey(threshold: Int) throws {
    let keys = try ring(newKey())
    let (bytes, flags) = try ValueFormat.encode(
      value, compressionThreshold: threshold, sealing: keys, key: "app:k")
    #expect((flags >> 8) & 0xFF == 2)
    #expect(flags & 1 == (threshold == 64 ? 1 : 0))
    #expect(!bytes.contains(Array("alice".utf8)))
    #expect(try ValueFormat.decode(bytes, flags: flags, sealing: keys, key: "app:k") == value)
    #expect(throws: SessionValueFormatError.self) {
      _ = try ValueFormat.decode(bytes, flags: flags, key: "app:k")
    }
  }

  @Test(arguments: [64, 1_000_000])
  func aBitFlippedInAnyRegionIsRefused(threshold: Int) throws {
    let keys = try ring(newKey())
    let (bytes, flags) = try ValueFormat.encode(
      ["user": "alice"], compressionThreshold: threshold, sealing: keys, key: "k")
    // Header (4), key id (4), nonce (12), ciphertext, tag (16): every byte, every region.
    for index in bytes.indices {
      for bit in [0, 3, 7] {
        var changed = bytes
        changed[index] ^= 1 << bit
        #expect(throws: SessionValueFormatError.self, "byte \(index) bit \(bit)") {
          _ = try ValueFormat.decode(changed, flags: flags, sealing: keys, key: "k")
        }
      }
    }
    for length in [0, 4, 8, 20, bytes.count - 16, bytes.count - 1] {
      #expect(throws: SessionValueFormatError.self) {
        _ = try ValueFormat.decode(
          Array(bytes.prefix(length)), flags: flags, sealing: keys, key: "k")
      }
    }
  }

  @Test(arguments: [64, 1_000_000])
  func everyCutOfASealedValueIsASealThatDoesNotOpen(threshold: Int) throws {
    let keys = try ring(newKey())
    let sealed = try ValueFormat.encode(
      ["user": "alice"], compressionThreshold: threshold, sealing: keys, key: "k")
    let plain = try ValueFormat.encode(["user": "alice"], compressionThreshold: threshold)
    // Shorter than the header, than the header, key id, nonce and tag, and than the whole.
    for length in 0..<sealed.bytes.count {
      #expect(throws: SessionValueFormatError.sealNotOpened, "\(length) bytes") {
        _ = try ValueFormat.decode(
          Array(sealed.bytes.prefix(length)), flags: sealed.flags, sealing: keys, key: "k")
      }
    }
    // Where sealing is required, anything under other flags is not sealed, whatever its bytes.
    for length in 0...plain.bytes.count {
      for flags in [plain.flags, 0, 0x4D43_0300] {
        #expect(throws: SessionValueFormatError.notSealed, "\(length) bytes, flags \(flags)") {
          _ = try ValueFormat.decode(
            Array(plain.bytes.prefix(length)), flags: flags, sealing: keys, key: "k")
        }
      }
    }
  }

  @Test func aSealedValueMovedToAnotherKeyOrGivenOtherFlagsDoesNotOpen() async throws {
    let keys = try ring(newKey())
    let store = InProcessStore()
    let proxy = MemCacheProxy(store: store, sealing: keys)
    try await proxy.set("alice", ["role": "member"])
    let item = try #require(try await store.get("alice"))
    try await store.set("mallory", value: item.value, flags: item.flags)
    let moved = await asyncMemCacheError {
      _ = try await proxy.get("mallory", as: SessionValue.self)
    }
    guard case .undecodable(.sealNotOpened)? = moved else {
      Issue.record("expected sealNotOpened, got \(String(describing: moved))")
      return
    }
    for flags in [item.flags ^ 1, item.flags ^ 0x0300, ValueFormat.plainFlags] {
      try await store.set("alice", value: item.value, flags: flags)
      #expect(
        await asyncMemCacheError { _ = try await proxy.get("alice", as: SessionValue.self) }?
          .caseName == "undecodable")
    }
  }

  @Test func keysRotateWithoutLoggingAnybodyOut() throws {
    let (old, new) = (newKey(), newKey())
    let (bytes, flags) = try ValueFormat.encode(value, sealing: try ring(old), key: "k")
    // The new key seals, the old one still opens what it sealed.
    #expect(
      try ValueFormat.decode(bytes, flags: flags, sealing: try ring(new, old), key: "k") == value)
    let resealed = try ValueFormat.encode(value, sealing: try ring(new, old), key: "k")
    #expect(
      try ValueFormat.decode(
        resealed.bytes, flags: resealed.flags, sealing: try ring(new), key: "k") == value)
    // Once retired, the old key's values are refused.
    #expect(throws: SessionValueFormatError.unknownSealingKey(id: SealingKeyRing.id(of: old))) {
      _ = try ValueFormat.decode(bytes, flags: flags, sealing: try ring(new), key: "k")
    }
  }

  @Test func unsealedValuesAreRefusedUnlessTheRingAcceptsThemForAMigration() throws {
    let (bytes, flags) = try ValueFormat.encode(value)
    #expect(throws: SessionValueFormatError.notSealed) {
      _ = try ValueFormat.decode(bytes, flags: flags, sealing: try ring(newKey()), key: "k")
    }
    let migrating = try ring(newKey(), acceptsUnsealed: true)
    #expect(try ValueFormat.decode(bytes, flags: flags, sealing: migrating, key: "k") == value)
  }

  @Test func aForgedOrPlaintextSessionIsNoSessionAndIsLoggedOnce() async throws {
    let handler = InMemoryLogHandler()
    let store = InProcessStore()
    let proxy = MemCacheProxy(
      store: store, sealing: try ring(newKey()), logger: Logger(label: "t") { _ in handler })
    let container = MemCacheSessionDataContainer(proxy: proxy)
    let sessions = SessionStore(proxy: proxy)
    let forged: SessionValue = [
      "v": 2, "e": 0, "n": 1, "created": 1.0, "accessed": .double(Date().timeIntervalSince1970),
      "data": ["user": "admin"],
    ]
    // Planted in the clear, and sealed with the attacker's own key.
    let plain = try ValueFormat.encode(forged)
    let foreign = try ValueFormat.encode(forged, sealing: try ring(newKey()), key: "forged-2")
    try await store.set("forged-1", value: plain.bytes, flags: plain.flags)
    try await store.set("forged-2", value: foreign.bytes, flags: foreign.flags)
    for id in ["forged-1", "forged-2"] {
      #expect(try await container.get(id) == nil)
      #expect(try await sessions.get(id, as: SessionValue.self) == nil)
      // A new session is written over the forgery.
      try await withTransaction { _ in try await container.newOrExisting(id)["user"] = "guest" }
      #expect(try await container.get(id)?["user"] == "guest")
    }
    #expect(handler.entries.filter { $0.level == .warning }.count == 1)
  }

  @Test func aSealedPageCacheTreatsAPlantedEntryAsAMiss() async throws {
    let store = InProcessStore()
    let cache = MemCacheZCache(store: store, sealing: try ring(newKey()))
    let page = CacheablePath(["page"])
    try await cache.set("sealed page", for: page)
    #expect(await cache.get(String.self, for: page) == "sealed page")
    let key = cache.storageKey(for: page)
    let entry = StoredCacheEntry(generation: 0, writtenAt: 0, maxAge: nil, value: "forged")
    let planted = try ValueFormat.encode(entry)
    try await store.set(key, value: planted.bytes, flags: planted.flags)
    #expect(await cache.get(String.self, for: page) == nil)
  }
}

@Suite struct KeyedBrowserIdTests {
  @Test func sessionsAreStoredUnderAKeyedHashOfTheBrowserId() async throws {
    let store = InProcessStore()
    let hasher = try BrowserIdHasher(key: newKey())
    let proxy = MemCacheProxy(store: store, sealing: try ring(newKey()))
    let container = MemCacheSessionDataContainer(proxy: proxy, idHasher: hasher)
    let browserId = "0123456789abcdef0123456789abcdef"
    try await withTransaction { _ in try await container.newOrExisting(browserId)["cart"] = "book" }
    #expect(try await store.get(browserId) == nil)
    let key = hasher.storageKey(for: browserId)
    #expect(key.hasPrefix("h_") && key.utf8.count == 45)
    #expect(try await store.get(key) != nil)
    #expect(try await container.get(browserId)?["cart"] == "book")
    #expect(try await container.get(browserId)?.containerKey == browserId)
    // Another hasher key finds nothing: the stored key says nothing about the cookie.
    let other = MemCacheSessionDataContainer(
      proxy: proxy, idHasher: try BrowserIdHasher(key: newKey()))
    #expect(try await other.get(browserId) == nil)
    let sessions = SessionStore(proxy: proxy, idHasher: hasher)
    _ = try await sessions.create("typed-id", 1)
    #expect(try await store.get("typed-id") == nil)
    #expect(try await sessions.get("typed-id", as: Int.self) == 1)
  }
}

@Suite struct KeyFileTests {
  private func base64Key() -> String {
    Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
  }

  @Test func aKeyFileHoldsOneKeyPerLineNewestFirstWithCommentsAndBlankLines() throws {
    let (first, second) = (base64Key(), base64Key())
    let ring = try SealingKeyRing(keyFileContents: "# newest first\n\n\(first)\n  \(second)  \n")
    #expect(ring.keys.count == 2)
    #expect(
      ring.keys[0].id == SealingKeyRing.id(of: SymmetricKey(data: Data(base64Encoded: first)!)))
  }

  @Test func badKeyFilesAreTypedErrorsThatQuoteNoKey() throws {
    #expect(throws: SecurityKeyError.noKey) { try SealingKeyRing(keyFileContents: "# none\n") }
    #expect(throws: SecurityKeyError.notBase64(line: 2)) {
      try SealingKeyRing(keyFileContents: "\(base64Key())\nnot base64!\n")
    }
    #expect(throws: SecurityKeyError.wrongLength(bytes: 16, line: 1)) {
      try SealingKeyRing(keyFileContents: Data(count: 16).base64EncodedString())
    }
    #expect(throws: SecurityKeyError.wrongLength(bytes: 16)) {
      try SealingKeyRing(keys: [SymmetricKey(size: .bits128)])
    }
    let key = base64Key()
    #expect(throws: SecurityKeyError.duplicateKey) {
      try SealingKeyRing(keyFileContents: "\(key)\n\(key)")
    }
    #expect(throws: SecurityKeyError.unreadableFile(path: "/nonexistent")) {
      try SealingKeyRing(contentsOfKeyFile: "/nonexistent")
    }
  }

  @Test func aKeyOfTheWrongLengthIsNamedByItsLineAsABadBase64LineIs() throws {
    let text = "# newest first\n\(base64Key())\n\n\(Data(count: 16).base64EncodedString())\n"
    let wrongLength = #expect(throws: SecurityKeyError.self) {
      try SealingKeyRing(keyFileContents: text)
    }
    #expect(wrongLength == .wrongLength(bytes: 16, line: 4))
    #expect("\(wrongLength!)".contains("line 4"), "\(wrongLength!)")
    #expect("\(wrongLength!)".contains("16 bytes"), "\(wrongLength!)")
    let notBase64 = #expect(throws: SecurityKeyError.self) {
      try SealingKeyRing(keyFileContents: "\(base64Key())\nnot base64!\n")
    }
    #expect("\(notBase64!)".contains("line 2"), "\(notBase64!)")
    // A key given directly has no line to name.
    #expect(!"\(SecurityKeyError.wrongLength(bytes: 16))".contains("line"))
  }

  @Test func aKeyFileOthersCanReadIsTold() throws {
    let path = NSTemporaryDirectory() + "mcdutils-key-\(UInt32.random(in: 0 ... .max))"
    defer { try? FileManager.default.removeItem(atPath: path) }
    #expect(FileManager.default.createFile(atPath: path, contents: Data(base64Key().utf8)))
    try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
    #expect(!KeyFile.isReadableByOthers(path))
    try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
    #expect(KeyFile.isReadableByOthers(path))
    _ = try SealingKeyRing(contentsOfKeyFile: path)
  }
}
