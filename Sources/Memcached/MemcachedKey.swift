/// The rules memcached keys must follow, checked before any I/O.
public enum MemcachedKey {
  /// The longest key memcached accepts, in bytes, including the configured prefix.
  public static let maximumLength = 250

  /// Checks a key (without its ``MemcachedConfiguration/keyPrefix`` of `prefixLength` bytes);
  /// the error quotes it only if `publicKeys`.
  /// - Throws: ``MemcachedError`` with ``MemcachedReturnCode/badKeyProvided`` or
  ///   ``MemcachedReturnCode/keyTooBig``.
  public static func validate(_ key: String, prefixLength: Int = 0, publicKeys: Bool = false)
    throws
  {
    var bytes = key
    do {
      try bytes.withUTF8 { try validate(bytes: $0, prefixLength: prefixLength) }
    } catch let problem as KeyProblem {
      throw problem.error(operation: "check key", key: publicKeys ? key : nil)
    }
  }

  static func validate(bytes: UnsafeBufferPointer<UInt8>, prefixLength: Int) throws(KeyProblem) {
    if bytes.isEmpty { throw .empty }
    if bytes.count + prefixLength > maximumLength { throw .tooLong(bytes.count + prefixLength) }
    for byte in bytes where byte <= 0x20 || byte == 0x7F {
      throw .forbiddenByte(byte)
    }
  }

  /// Why a key was refused, before it is turned into a ``MemcachedError``.
  enum KeyProblem: Error {
    case empty
    case tooLong(Int)
    case forbiddenByte(UInt8)

    func error(operation: String, key: String?) -> MemcachedError {
      switch self {
      case .empty:
        return MemcachedError(
          returnCode: .badKeyProvided, message: "the key is empty", operation: operation, key: key)
      case .tooLong(let length):
        return MemcachedError(
          returnCode: .keyTooBig,
          message: "the key is \(length) bytes with its prefix; memcached allows \(maximumLength)",
          operation: operation, key: key)
      case .forbiddenByte(let byte):
        let what = byte == 0x20 ? "a space" : "the control character 0x\(String(byte, radix: 16))"
        return MemcachedError(
          returnCode: .badKeyProvided, message: "the key contains \(what)", operation: operation,
          key: key)
      }
    }
  }
}
