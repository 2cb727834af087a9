import Crypto
import Foundation

/// The keys that seal stored values with AES-GCM, newest first (see <doc:SealedValues>).
public struct SealingKeyRing: Sendable {
  struct Key: Sendable {
    let id: UInt32
    let key: SymmetricKey
  }

  let keys: [Key]
  /// Whether values stored unsealed are still read, for a migration to sealing.
  public var acceptsUnsealed: Bool

  /// A ring of 256-bit keys, newest first.
  /// - Throws: ``SecurityKeyError`` for no key, a key that is not 32 bytes, or a duplicate.
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

  /// A ring from a key file's text: one base64 key of 32 bytes per line, newest first.
  /// - Throws: ``SecurityKeyError`` for a line that is not such a key, or no key at all.
  public init(keyFileContents: String, acceptsUnsealed: Bool = false) throws(SecurityKeyError) {
    try self.init(keys: KeyFile.keys(in: keyFileContents), acceptsUnsealed: acceptsUnsealed)
  }

  /// A ring from a key file (see ``init(keyFileContents:acceptsUnsealed:)``).
  /// - Throws: ``SecurityKeyError`` when the file cannot be read or holds no valid keys.
  public init(contentsOfKeyFile path: String, acceptsUnsealed: Bool = false)
    throws(SecurityKeyError)
  {
    try self.init(keyFileContents: KeyFile.read(path), acceptsUnsealed: acceptsUnsealed)
  }

  /// The id stored with a value: the first four bytes of a SHA-256 of the key.
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
  /// A key is not 32 bytes; `line` is its line in a key file (`nil` for a key given directly).
  case wrongLength(bytes: Int, line: Int? = nil)
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
    case .wrongLength(let bytes, nil): "a key is \(bytes) bytes; keys are 32 random bytes"
    case .wrongLength(let bytes, let line?):
      "line \(line) of the key file is a key of \(bytes) bytes; keys are 32 random bytes"
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
      guard bytes.count == 32 else { throw .wrongLength(bytes: bytes.count, line: number + 1) }
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

  /// Whether users other than the file's owner may read it, following symbolic links.
  package static func isReadableByOthers(_ path: String) -> Bool {
    var info = stat()
    guard stat(path, &info) == 0 else { return false }
    return info.st_mode & (S_IRGRP | S_IROTH) != 0
  }
}
