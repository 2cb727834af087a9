import Crypto
import Foundation

/// Stores each session under a keyed hash (HMAC-SHA-256) of its browser id instead of the id
/// itself (see <doc:SealedValues>).
public struct BrowserIdHasher: Sendable {
  private let key: SymmetricKey

  /// A hasher with a 256-bit key.
  /// - Throws: ``SecurityKeyError/wrongLength(bytes:line:)`` for a key that is not 32 bytes.
  public init(key: SymmetricKey) throws(SecurityKeyError) {
    guard key.bitCount == 256 else { throw .wrongLength(bytes: key.bitCount / 8) }
    self.key = key
  }

  /// A hasher with the first key of a key file.
  /// - Throws: ``SecurityKeyError`` when the file cannot be read or holds no valid key.
  public init(contentsOfKeyFile path: String) throws(SecurityKeyError) {
    guard let first = try KeyFile.keys(in: KeyFile.read(path)).first else { throw .noKey }
    try self.init(key: first)
  }

  /// The memcached key a browser id's session is stored under: `h_` and a base64url HMAC.
  public func storageKey(for browserId: String) -> String {
    let code = HMAC<SHA256>.authenticationCode(for: Array(browserId.utf8), using: key)
    let base64 = Data(code).base64EncodedString()
      .replacingOccurrences(of: "+", with: "-")
      .replacingOccurrences(of: "/", with: "_")
      .replacingOccurrences(of: "=", with: "")
    return "h_" + base64
  }
}
