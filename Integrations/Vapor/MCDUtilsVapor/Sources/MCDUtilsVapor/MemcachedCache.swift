import Crypto
import MCDUtils
import Memcached
import Vapor

/// Vapor's `Cache` in memcached, over a ``MCDUtils/MemCacheProxy``: entries shared by every
/// instance of the application, each one memcached item in the MCDUtils value format
/// (MessagePack, readable from Python and other languages).
///
/// Register it with `app.caches.use(.memcached())` (see
/// ``Vapor/Application/Caches/Provider/memcached(proxy:keyPrefix:defaultExpiration:)``) and use
/// it as `req.cache` or `app.cache`:
///
/// ```swift
/// try await req.cache.set("weather:\(city)", to: forecast, expiresIn: .minutes(10))
/// let cached = try await req.cache.get("weather:\(city)", as: Forecast.self)
/// try await req.cache.delete("weather:\(city)")
/// ```
///
/// Any string is a key: one that memcached cannot take as it is (a space, a control character,
/// too long) is stored under a SHA-256 digest of it (see ``storageKey(for:)``). A failure of
/// memcached fails the future with ``MemcachedFailure`` (503 when memcached cannot be reached);
/// a miss, an expired or deleted entry is `nil`.
public struct MemcachedCache: Cache, Sendable {
  /// Where the entries are stored.
  public let proxy: MemCacheProxy
  /// Put before every key.
  public let keyPrefix: String
  /// How long an entry set without `expiresIn` lives.
  public let defaultExpiration: MemcachedExpiration
  /// Where the futures complete.
  public let eventLoop: any EventLoop

  /// A cache over `proxy` whose futures complete on `eventLoop`.
  ///
  /// - Parameters:
  ///   - proxy: where the entries are stored.
  ///   - keyPrefix: put before every key, to keep the cache's keys apart from other data.
  ///   - defaultExpiration: how long an entry set without `expiresIn` lives.
  ///   - eventLoop: where the futures complete.
  public init(
    proxy: MemCacheProxy, keyPrefix: String = "", defaultExpiration: MemcachedExpiration = .never,
    on eventLoop: any EventLoop
  ) {
    self.proxy = proxy
    self.keyPrefix = keyPrefix
    self.defaultExpiration = defaultExpiration
    self.eventLoop = eventLoop
  }

  /// The value under `key`, or `nil` when there is none (never set, expired or deleted).
  ///
  /// The future fails with ``MemcachedFailure``: for an unreachable store, for bytes that are
  /// not an MCDUtils value, or for a value that does not decode as `T`.
  public func get<T: Decodable & Sendable>(_ key: String, as type: T.Type) -> EventLoopFuture<T?> {
    let proxy = proxy
    let storageKey = storageKey(for: key)
    return eventLoop.makeFutureWithTask {
      do {
        return try await proxy.get(storageKey, as: type)
      } catch {
        throw MemcachedFailure(error)
      }
    }
  }

  /// Stores `value` under `key` for ``defaultExpiration``; `nil` deletes the entry.
  ///
  /// The future fails with ``MemcachedFailure``.
  public func set<T: Encodable>(_ key: String, to value: T?) -> EventLoopFuture<Void> {
    set(key, to: value, expiresIn: nil)
  }

  /// Stores `value` under `key` until `expirationTime` has passed (``defaultExpiration`` when
  /// `nil`; none left, zero or negative, stores nothing readable); `nil` deletes the entry.
  ///
  /// The future fails with ``MemcachedFailure``: for an unreachable store, a value that cannot
  /// be encoded or is larger than memcached's item size.
  public func set<T: Encodable>(
    _ key: String, to value: T?, expiresIn expirationTime: CacheExpirationTime?
  ) -> EventLoopFuture<Void> {
    let proxy = proxy
    let storageKey = storageKey(for: key)
    guard let value else {
      return eventLoop.makeFutureWithTask {
        do {
          try await proxy.delete(storageKey)
        } catch {
          throw MemcachedFailure(error)
        }
      }
    }
    // Encoded here, to a `SessionValue` (the same bytes as `T` would give), so that `T`
    // itself need not be `Sendable`.
    let encoded: SessionValue
    do {
      encoded = try SessionValueEncoder().encode(value)
    } catch let error as SessionValueNestingError {
      return eventLoop.makeFailedFuture(
        MemcachedFailure(MemCacheError.nestingTooDeep(limit: error.limit)))
    } catch {
      return eventLoop.makeFailedFuture(MemcachedFailure(MemCacheError.encodingFailed(error)))
    }
    let expiration = expirationTime.map { .after(.seconds($0.seconds)) } ?? defaultExpiration
    return eventLoop.makeFutureWithTask {
      do {
        try await proxy.set(storageKey, encoded, expiration: expiration)
      } catch {
        throw MemcachedFailure(error)
      }
    }
  }

  /// The same cache, completing its futures on the request's event loop.
  public func `for`(_ request: Request) -> MemcachedCache {
    MemcachedCache(
      proxy: proxy, keyPrefix: keyPrefix, defaultExpiration: defaultExpiration,
      on: request.eventLoop)
  }

  // MARK: Keys

  /// What marks a key stored as a digest.
  static let digestMarker = "sha256:"

  /// The memcached key an entry of `key` is stored under: ``keyPrefix`` and `key` when memcached
  /// accepts that (with the store's own prefix), else ``keyPrefix``, `sha256:` and the hex
  /// SHA-256 digest of `key`. A key that starts with `sha256:` itself is always stored as a
  /// digest, so that no two keys share an entry.
  public func storageKey(for key: String) -> String {
    let plain = keyPrefix + key
    if !key.hasPrefix(Self.digestMarker),
      (try? MemcachedKey.validate(plain, prefixLength: proxy.store.keyPrefixLength)) != nil
    {
      return plain
    }
    let hex = SHA256.hash(data: Array(key.utf8)).map { byte in
      let digits = String(byte, radix: 16)
      return byte < 0x10 ? "0" + digits : digits
    }
    return keyPrefix + Self.digestMarker + hex.joined()
  }
}
