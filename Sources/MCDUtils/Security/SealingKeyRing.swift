import Crypto
import Foundation

/// The keys that seal stored values (AES-GCM, from swift-crypto), newest first: values are
/// sealed with the first key and opened with whichever key sealed them, so keys can be rotated
/// without logging everybody out. See the repository's `docs/security.md`.
///
/// ```swift
/// let ring = try SealingKeyRing(contentsOfKeyFile: "/etc/myapp/seal.keys")
/// let proxy = MemCacheProxy(store: pool, sealing: ring)
/// ```
public struct SealingKeyRing: Sendable {
  /// One key and the id stored with every value it sealed.
  struct Key: Sendable {
    let id: UInt32
    let key: SymmetricKey
  }

  let keys: [Key]
  /// Whether values stored unsealed are still read, for a migration to sealing. Default
  /// `false`: an unsealed value is refused like a forged one.
  public var acceptsUnsealed: Bool

  /// A ring of 256-bit keys, newest first.
  ///
  /// - Throws: ``SecurityKeyError`` when there is no key, a key is not 32 bytes, or two keys
  ///   share an id.
  public init(keys: [SymmetricKey], acceptsUnsealed: Bool = false) throws(SecurityKeyError) {
    guard !keys.isEmpty else { throw .noKey }
    var made: [Key] = []
    for key in keys {
      guard key.bitCount == 256 else { throw .wrongLength(bytes: key.bitCount / 8) }
      let id = Self.id(of: key)
      guard !made.contains(where: { $0.id == id }) else { throw .duplicateKey }
      made.append(Key(id: id, key: key))
    }
    self.keys = made
    self.acceptsUnsealed = acceptsUnsealed
  }

  /// A ring from a key file's text: one key per line, newest first, 32 random bytes in standard
  /// base64 (what `openssl rand -base64 32` prints); blank lines and lines starting with `#` are
  /// ignored.
  ///
  /// - Throws: ``SecurityKeyError`` for a line that is not such a key, or no key at all.
  public init(keyFileContents: String, acceptsUnsealed: Bool = false) throws(SecurityKeyError) {
    try self.init(keys: KeyFile.keys(in: keyFileContents), acceptsUnsealed: acceptsUnsealed)
  }

  /// A ring from a key file (see ``init(keyFileContents:acceptsUnsealed:)``).
  ///
  /// - Throws: ``SecurityKeyError`` when the file cannot be read or holds no valid keys.
  public init(contentsOfKeyFile path: String, acceptsUnsealed: Bool = false)
    throws(SecurityKeyError)
  {
    try self.init(keyFileContents: KeyFile.read(path), acceptsUnsealed: acceptsUnsealed)
  }

  /// The id stored with a value: the first four bytes of a SHA-256 of the key, so that the
  /// ring finds the key without revealing it.
  static func id(of key: SymmetricKey) -> UInt32 {
    let digest = key.withUnsafeBytes { raw in
      SHA256.hash(data: Array("MCDUtils sealing key id".utf8) + Array(raw))
    }
    return digest.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self).bigEndian }
  }

  /// Seals `plaintext` with the newest key, bound to `associatedData`: key id, nonce,
  /// ciphertext and tag.
  func seal(_ plaintext: [UInt8], authenticating associatedData: [UInt8]) -> [UInt8] {
    let newest = keys[0]
    // AES-GCM with a fresh random 12-byte nonce cannot fail with a 256-bit key, and its
    // combined form exists for that nonce size.
    let box = try! AES.GCM.seal(plaintext, using: newest.key, authenticating: associatedData)
    // nonce, ciphertext and tag in one buffer: the envelope's layout after the key id.
    let combined = box.combined!
    var sealed: [UInt8] = []
    sealed.reserveCapacity(4 + combined.count)
    withUnsafeBytes(of: newest.id.bigEndian) { sealed.append(contentsOf: $0) }
    combined.withUnsafeBytes { sealed.append(contentsOf: $0) }
    return sealed
  }

  /// Opens what ``seal(_:authenticating:)`` made.
  func open(_ sealed: UnsafeRawBufferPointer, authenticating associatedData: [UInt8])
    throws(SessionValueFormatError) -> [UInt8]
  {
    guard sealed.count >= 4 + 12 + 16 else { throw .truncated(offset: sealed.count) }
    let id = sealed.loadUnaligned(as: UInt32.self).bigEndian
    guard let key = keys.first(where: { $0.id == id }) else { throw .unknownSealingKey(id: id) }
    do {
      // The bytes after the key id are nonce, ciphertext and tag: the combined form, read in
      // place (the data does not outlive this call).
      let combined = Data(
        bytesNoCopy: UnsafeMutableRawPointer(mutating: sealed.baseAddress! + 4),
        count: sealed.count - 4, deallocator: .none)
      let opened = try AES.GCM.open(
        AES.GCM.SealedBox(combined: combined), using: key.key, authenticating: associatedData)
      return opened.withUnsafeBytes { Array($0) }
    } catch {
      throw .sealNotOpened
    }
  }
}

/// A key or key file that cannot be used.
public enum SecurityKeyError: Error, Sendable, Hashable, CustomStringConvertible {
  /// No key was given (a key file with only blank and comment lines).
  case noKey
  /// A key is not 32 bytes.
  case wrongLength(bytes: Int)
  /// A line of a key file is not base64.
  case notBase64(line: Int)
  /// Two keys of a ring are the same.
  case duplicateKey
  /// The key file cannot be read.
  case unreadableFile(path: String)

  /// A one-line explanation; it never quotes a key.
  public var description: String {
    switch self {
    case .noKey: "no key was given"
    case .wrongLength(let bytes): "a key is \(bytes) bytes; keys are 32 random bytes"
    case .notBase64(let line): "line \(line) of the key file is not a base64 key"
    case .duplicateKey: "the same key is given twice"
    case .unreadableFile(let path): "cannot read the key file \(path)"
    }
  }
}

/// The key files of ``SealingKeyRing`` and ``BrowserIdHasher``.
package enum KeyFile {
  static func keys(in text: String) throws(SecurityKeyError) -> [SymmetricKey] {
    var keys: [SymmetricKey] = []
    for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false)
      .enumerated()
    {
      let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
      if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
      guard let bytes = Data(base64Encoded: trimmed) else { throw .notBase64(line: number + 1) }
      guard bytes.count == 32 else { throw .wrongLength(bytes: bytes.count) }
      keys.append(SymmetricKey(data: bytes))
    }
    return keys
  }

  static func read(_ path: String) throws(SecurityKeyError) -> String {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw .unreadableFile(path: path)
    }
    return String(decoding: data, as: UTF8.self)
  }

  /// Whether users other than the file's owner may read it: the mode of what `path` names,
  /// through symbolic links (a mounted secret is often a link to a file of mode 0600).
  package static func isReadableByOthers(_ path: String) -> Bool {
    var info = stat()
    guard stat(path, &info) == 0 else { return false }
    return info.st_mode & (S_IRGRP | S_IROTH) != 0
  }
}
