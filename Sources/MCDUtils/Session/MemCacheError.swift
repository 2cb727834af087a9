import Memcached

/// The one error MCDUtils throws: the original's `MemCacheError`. See <doc:WhenMemcachedFails>.
public enum MemCacheError: Error, Sendable, CustomStringConvertible {
  /// The container or cache manager has no proxy: the original's "No proxy defined".
  case noProxy

  /// The browser id cannot be a memcached key; `reason` says why, without quoting the id.
  case invalidBrowserId(reason: String)

  /// Another request changed the session at the same time and the conflict policy did not
  /// resolve it within `attempts` writes: retry the request.
  case conflict(attempts: Int)

  /// The session was invalidated, expired, or replaced since this request loaded it, so its
  /// changes were not written.
  case sessionEnded

  /// The encoded value is `size` bytes, more than the `maximum` the store accepts (`nil` when
  /// the server refused it without saying its limit).
  case valueTooLarge(size: Int, maximum: Int?)

  /// The value nests deeper than `limit` levels (a reference cycle does) and cannot be stored.
  case nestingTooDeep(limit: Int)

  /// The store could not be reached or did not answer. Not "no session": answer 503.
  case unavailable(MemcachedError)

  /// The store answered with an error: a bad key, a server error, a refused request.
  case storeFailed(MemcachedError)

  /// The bytes under a key are not a value in the MCDUtils format.
  case undecodable(SessionValueFormatError)

  /// The bytes under a session key are a valid MCDUtils value but not a session; `reason` says
  /// what is wrong.
  case notASession(reason: String)

  /// A Swift value could not be converted to a `SessionValue`.
  case encodingFailed(any Error)

  /// A stored value does not have the shape of the requested Swift type.
  case decodingFailed(any Error)

  /// The page cache's generation counter could not be read, even when asked to create it.
  case generationUnavailable

  /// A custom store (or the task, by cancellation) threw something else.
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
    case .sessionEnded:
      return
        "the session was invalidated, expired or replaced since this request loaded it; "
        + "its changes were not written"
    case .valueTooLarge(let size, let maximum?):
      return "the encoded value is \(size) bytes; the store accepts at most \(maximum)"
    case .valueTooLarge(let size, nil):
      return "the encoded value is \(size) bytes, more than the server accepts"
    case .nestingTooDeep(let limit):
      return "the value nests deeper than \(limit) levels (a reference cycle?)"
    case .unavailable(let error):
      return "the store is unavailable: \(error)"
    case .storeFailed(let error):
      return "the store failed: \(error)"
    case .undecodable(let error):
      return "the stored bytes are not an MCDUtils value: \(error)"
    case .notASession(let reason):
      return "the stored value is not a session: \(reason)"
    case .encodingFailed(let error):
      return "the value cannot be stored: \(error)"
    case .decodingFailed(let error):
      return "the stored value does not decode as the requested type: \(error)"
    case .generationUnavailable:
      return "the cache generation counter could not be read"
    case .unexpected(let error):
      return "the store failed: \(error)"
    }
  }

  /// Whether the store was unreachable: the case a web service answers with 503.
  public var isUnavailable: Bool {
    if case .unavailable = self { return true }
    return false
  }

  /// Whether the store failed or refused the value: what the page cache fails open on.
  var isStoreFailure: Bool {
    switch self {
    case .unavailable, .storeFailed, .valueTooLarge: return true
    default: return false
    }
  }

  /// Wraps what a store or the codec threw; a `MemCacheError` passes unchanged.
  static func wrapping(_ error: any Error) -> MemCacheError {
    switch error {
    case let error as MemCacheError: return error
    case let error as MemcachedError: return wrapping(error)
    case let error as SessionValueFormatError: return .undecodable(error)
    case let error as SessionValueNestingError: return .nestingTooDeep(limit: error.limit)
    case let error as DecodingError: return .decodingFailed(error)
    case let error as EncodingError: return .encodingFailed(error)
    default: return .unexpected(error)
    }
  }

  /// Sorts a memcached error into the cases above.
  static func wrapping(_ error: MemcachedError) -> MemCacheError {
    if let size = error.valueSize {
      return .valueTooLarge(size: size, maximum: error.maximumValueSize)
    }
    return error.isUnavailable ? .unavailable(error) : .storeFailed(error)
  }

  /// What encoding a value threw: a value too deep is the writer's error, not undecodable bytes.
  static func encoding(_ error: any Error) -> MemCacheError {
    if case SessionValueFormatError.nestingTooDeep(let limit, _)? = error
      as? SessionValueFormatError
    {
      return .nestingTooDeep(limit: limit)
    }
    if let error = error as? SessionValueFormatError { return .encodingFailed(error) }
    return wrapping(error)
  }
}
