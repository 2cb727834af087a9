import Crypto
import Foundation

/// Stores each session under a keyed hash of its browser id (HMAC-SHA-256 with a key of its
/// own) instead of the id itself, so that a dump of memcached or a capture of its traffic never
/// yields a usable cookie. Other programs then need the key to find a session; see the
/// repository's `docs/security.md`.
///
/// ```swift
/// let hasher = try BrowserIdHasher(contentsOfKeyFile: "/etc/myapp/id.key")
/// let sessions = MemCacheSessionDataContainer(proxy: proxy, idHasher: hasher)
/// ```
public struct BrowserIdHasher: Sendable {
  private let key: SymmetricKey

  /// A hasher with a 256-bit key.
  ///
  /// - Throws: ``SecurityKeyError/wrongLength(bytes:)`` for a key that is not 32 bytes.
  public init(key: SymmetricKey) throws(SecurityKeyError) {
    guard key.bitCount == 256 else { throw .wrongLength(bytes: key.bitCount / 8) }
    self.key = key
  }

  /// A hasher with the first key of a key file (see
  /// ``SealingKeyRing/init(keyFileContents:acceptsUnsealed:)`` for the format).
  ///
  /// - Throws: ``SecurityKeyError`` when the file cannot be read or holds no valid key.
  public init(contentsOfKeyFile path: String) throws(SecurityKeyError) {
    guard let first = try KeyFile.keys(in: KeyFile.read(path)).first else { throw .noKey }
    try self.init(key: first)
  }

  /// The memcached key a browser id's session is stored under: `h_` and the unpadded base64url
  /// of its HMAC-SHA-256, 45 bytes.
  public func storageKey(for browserId: String) -> String {
    let code = HMAC<SHA256>.authenticationCode(for: Array(browserId.utf8), using: key)
    let base64 = Data(code).base64EncodedString()
      .replacingOccurrences(of: "+", with: "-")
      .replacingOccurrences(of: "/", with: "_")
      .replacingOccurrences(of: "=", with: "")
    return "h_" + base64
  }
}
