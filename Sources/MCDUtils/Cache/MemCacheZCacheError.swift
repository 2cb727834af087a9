/// Why the page cache could not do what was asked.
///
/// A miss, an unreadable entry and a lost lease are not errors; store failures are thrown as
/// ``Memcached/MemcachedError`` and encoding failures as `EncodingError`.
public enum MemCacheZCacheError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The manager has no store (the original's `MemCacheError("No proxy defined")`).
  case noProxyDefined
  /// memcached did not return the object's generation counter, even when asked to create it.
  case generationUnavailable

  /// The message, the original's where there is one.
  public var description: String {
    switch self {
    case .noProxyDefined: return "No proxy defined"
    case .generationUnavailable: return "the cache generation counter could not be read"
    }
  }
}
