import Foundation
import Vapor

extension SessionID {
  /// A new session id: 32 bytes (256 bits) from the system's secure random generator, in
  /// unpadded base64url (43 characters), so that it is a valid memcached key and cookie value.
  static func random() -> SessionID {
    var generator = SystemRandomNumberGenerator()
    let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    let text = Data(bytes).base64EncodedString()
      .replacingOccurrences(of: "+", with: "-")
      .replacingOccurrences(of: "/", with: "_")
      .replacingOccurrences(of: "=", with: "")
    return SessionID(string: text)
  }
}
