import Memcached

/// The error session code catches: the original's `MemCacheError`.
///
/// Every failure of ``MemCacheProxy``, ``MemCacheMapping`` and ``MemCacheSessionDataContainer``
/// is one of these cases. A miss, a CAS conflict resolved by the container's policy, and an
/// `add` of an existing key are not errors. The ``description`` never quotes a key or a
/// browser id, because those are often secrets that let anyone take over a session.
public enum MemCacheError: Error, Sendable, CustomStringConvertible {
  /// The container has no proxy: the original's `MemCacheError("No proxy defined")`.
  case noProxy

  /// The browser id cannot be a memcached key (empty, too long with the key prefix, or with a
  /// space or a control character); `reason` says which, without quoting the id.
  case invalidBrowserId(reason: String)

  /// Another request changed the session at the same time and the container's
  /// ``MemCacheSessionDataContainer/ConflictPolicy`` did not resolve it: the policy is
  /// ``MemCacheSessionDataContainer/ConflictPolicy/fail``, or merging gave up after `attempts`
  /// tries. Like ZODB's `ConflictError`, retrying the whole request is the usual answer.
  case conflict(attempts: Int)

  /// The encoded session is `size` bytes, more than the `maximum` memcached stores.
  case sessionTooLarge(size: Int, maximum: Int)

  /// memcached (or the store) failed: unreachable, timed out, or refused the request.
  case storeFailed(MemcachedError)

  /// The bytes under a key are not a value in the MCDUtils format (another program wrote them,
  /// or they are truncated or corrupt).
  case undecodable(SessionValueFormatError)

  /// The bytes under a session key are a valid MCDUtils value but not a session (see the
  /// "Sessions" section of `docs/wire-format.md`); `reason` says what is wrong.
  case notASession(reason: String)

  /// A Swift value could not be converted to a `SessionValue`.
  case encodingFailed(any Error)

  /// A stored value does not have the shape of the requested Swift type.
  case decodingFailed(any Error)

  /// A custom ``MemCacheStore`` (or the task, by cancellation) threw something else.
  case unexpected(any Error)

  /// A one-line explanation, without keys or browser ids.
  public var description: String {
    switch self {
    case .noProxy:
      return "No proxy defined"
    case .invalidBrowserId(let reason):
      return "the browser id cannot be a memcached key: \(reason)"
    case .conflict(let attempts):
      return
        "the session was changed by another request at the same time "
        + "(gave up after \(attempts) attempt\(attempts == 1 ? "" : "s"))"
    case .sessionTooLarge(let size, let maximum):
      return "the encoded session is \(size) bytes; memcached stores at most \(maximum)"
    case .storeFailed(let error):
      return "the session store failed: \(error)"
    case .undecodable(let error):
      return "the stored bytes are not an MCDUtils value: \(error)"
    case .notASession(let reason):
      return "the stored value is not a session: \(reason)"
    case .encodingFailed(let error):
      return "the value cannot be stored: \(error)"
    case .decodingFailed(let error):
      return "the stored value does not decode as the requested type: \(error)"
    case .unexpected(let error):
      return "the session store failed: \(error)"
    }
  }

  /// Wraps what a store or the codec threw; a `MemCacheError` passes unchanged.
  static func wrapping(_ error: any Error) -> MemCacheError {
    switch error {
    case let error as MemCacheError: return error
    case let error as MemcachedError:
      if error.isItemTooLarge, let (size, maximum) = Self.sizes(in: error.message) {
        return .sessionTooLarge(size: size, maximum: maximum)
      }
      return .storeFailed(error)
    case let error as SessionValueFormatError: return .undecodable(error)
    case let error as DecodingError: return .decodingFailed(error)
    case let error as EncodingError: return .encodingFailed(error)
    default: return .unexpected(error)
    }
  }

  /// Reads "the value is N bytes; the maximum is M" from `MemcachedError.itemTooLarge`.
  private static func sizes(in message: String) -> (Int, Int)? {
    let numbers = message.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
    guard numbers.count == 2 else { return nil }
    return (numbers[0], numbers[1])
  }
}
