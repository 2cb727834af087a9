import MCDUtils
import Memcached
import Vapor

extension Application.Caches.Provider {
  /// A cache in memcached, shared by every instance of the application: a ``MemcachedCache``.
  ///
  /// ```swift
  /// try app.memcached.use(MemcachedConfiguration(servers: servers))
  /// app.caches.use(.memcached())
  /// try await req.cache.set("greeting", to: "hello", expiresIn: .minutes(5))
  /// ```
  ///
  /// - Parameters:
  ///   - proxy: where the entries are stored; `nil` for the application's store
  ///     (``Vapor/Application/memcached``).
  ///   - keyPrefix: put before every key, to keep the cache's keys apart from other data.
  ///   - defaultExpiration: how long an entry set without `expiresIn` lives.
  public static func memcached(
    proxy: MemCacheProxy? = nil, keyPrefix: String = "",
    defaultExpiration: MemcachedExpiration = .never
  ) -> Self {
    Self { application in
      application.caches.use { application in
        MemcachedCache(
          proxy: proxy ?? application.memcached.proxy, keyPrefix: keyPrefix,
          defaultExpiration: defaultExpiration, on: application.eventLoopGroup.next())
      }
    }
  }
}
