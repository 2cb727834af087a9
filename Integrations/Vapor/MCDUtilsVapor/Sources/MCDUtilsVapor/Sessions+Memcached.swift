import MCDUtils
import Vapor

extension Application.Sessions.Provider {
  /// Sessions in memcached, through a ``MemcachedSessionDriver``: concurrent requests of one
  /// session keep each other's changes (key-level merge), a logout stays a logout, and an
  /// outage answers 503.
  ///
  /// ```swift
  /// try app.memcached.use(MemcachedConfiguration(servers: servers))
  /// app.sessions.use(.memcached())
  /// app.middleware.use(app.sessions.middleware)
  /// ```
  ///
  /// The driver is made when Vapor asks for it (when `app.sessions.middleware` is made), so it
  /// sees the sessions configuration set before that.
  ///
  /// - Parameters:
  ///   - proxy: where the sessions are stored; `nil` for the application's store
  ///     (``Vapor/Application/memcached``).
  ///   - timeToLive: how long an unused session lives; `nil` for the lifetime of the session
  ///     cookie (``Vapor/SessionsConfiguration/cookieLifetime``: a week with Vapor's default
  ///     cookie), or ``MCDUtils/MemCacheSessionDataContainer/defaultTimeout`` (20 minutes) for
  ///     a cookie that lasts as long as the browser runs.
  ///   - resolution: how often, at most, a read-only request pushes the expiration back
  ///     (sliding expiration); `nil` for a minute, or a quarter of `timeToLive` when that is
  ///     shorter.
  ///   - conflictPolicy: what a write does when a concurrent request wrote the session
  ///     meanwhile; ``MCDUtils/MemCacheSessionDataContainer/ConflictPolicy/merge`` keeps both
  ///     requests' keys.
  ///   - maximumWriteAttempts: the bound on writes of one request's changes under contention,
  ///     after which the request answers 503.
  public static func memcached(
    proxy: MemCacheProxy? = nil, timeToLive: Duration? = nil, resolution: Duration? = nil,
    conflictPolicy: MemCacheSessionDataContainer.ConflictPolicy = .merge,
    maximumWriteAttempts: Int = MemCacheSessionDataContainer.defaultMaximumWriteAttempts
  ) -> Self {
    Self { application in
      application.sessions.use { application in
        let timeout =
          timeToLive ?? application.sessions.configuration.cookieLifetime
          ?? MemCacheSessionDataContainer.defaultTimeout
        return MemcachedSessionDriver(
          container: MemCacheSessionDataContainer(
            proxy: proxy ?? application.memcached.proxy, timeout: timeout,
            resolution: resolution ?? MemcachedSessionDriver.defaultResolution(for: timeout),
            conflictPolicy: conflictPolicy, maximumWriteAttempts: maximumWriteAttempts))
      }
    }
  }
}

extension MemcachedSessionDriver {
  /// The refresh resolution for sessions living `timeout`: the container's default (a minute),
  /// or a quarter of `timeout` when that is shorter, so that a session in use never expires
  /// between two refreshes.
  static func defaultResolution(for timeout: Duration) -> Duration {
    min(MemCacheSessionDataContainer.defaultResolution, timeout / 4)
  }
}

extension SessionsConfiguration {
  /// How long the session cookie lives: its `Max-Age`, else the time until its `Expires` date
  /// (as the cookie factory makes it now); `nil` for a cookie without either, which lasts as
  /// long as the browser runs.
  public var cookieLifetime: Duration? {
    let cookie = cookieFactory(SessionID(string: "cookie-lifetime"))
    if let maxAge = cookie.maxAge, maxAge > 0 { return .seconds(maxAge) }
    if let expires = cookie.expires {
      let seconds = expires.timeIntervalSinceNow.rounded()
      if seconds >= 1 { return .seconds(seconds) }
    }
    return nil
  }
}
