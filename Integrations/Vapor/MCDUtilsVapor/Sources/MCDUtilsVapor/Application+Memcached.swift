import Dispatch
import MCDUtils
import Memcached
import Synchronization
import Vapor

extension Application {
  /// The memcached servers of this application: the store that `.memcached()` sessions and
  /// caches use unless they are given a proxy of their own.
  ///
  /// ```swift
  /// try app.memcached.use(MemcachedConfiguration(servers: [
  ///   MemcachedServer(host: "10.0.0.5", port: 11211),
  ///   MemcachedServer(host: "10.0.0.6", port: 11211),
  /// ]))
  /// app.sessions.use(.memcached())
  /// app.caches.use(.memcached())
  /// app.middleware.use(app.sessions.middleware)
  /// ```
  public var memcached: Memcached {
    Memcached(application: self)
  }

  /// The application's memcached store: a ``MCDUtils/MemCacheProxy`` over a
  /// ``Memcached/MemcachedPool`` that shuts down with the application.
  public struct Memcached: Sendable {
    /// The application.
    public let application: Application

    /// Makes a connection pool for `configuration` and makes it the application's store; the
    /// pool shuts down when the application does. A configuration without servers gives an
    /// in-process store (logged as a warning), whose sessions live only as long as the process.
    ///
    /// - Returns: the proxy over the new pool.
    /// - Throws: ``MCDUtils/MemCacheError/storeFailed(_:)`` when the configuration is invalid.
    @discardableResult
    public func use(_ configuration: MemcachedConfiguration) throws -> MemCacheProxy {
      let proxy = try MemCacheProxy(configuration: configuration, logger: application.logger)
      if let pool = proxy.store as? MemcachedPool {
        application.lifecycle.use(PoolShutdown(pool: pool))
      }
      use(proxy)
      return proxy
    }

    /// Makes `proxy` the application's store. The application does not shut it down: its owner
    /// does.
    public func use(_ proxy: MemCacheProxy) {
      box.proxy.withLock { $0 = proxy }
    }

    /// The application's store, set with ``use(_:)-(MemcachedConfiguration)`` or
    /// ``use(_:)-(MemCacheProxy)``. Asking for it before either is a programming error that
    /// stops the process, as Vapor does for a missing session driver.
    public var proxy: MemCacheProxy {
      guard let proxy = box.proxy.withLock({ $0 }) else {
        fatalError(
          "No memcached store configured. Configure with app.memcached.use(MemcachedConfiguration(...))"
        )
      }
      return proxy
    }

    private var box: Box {
      let lock = application.locks.lock(for: Key.self)
      lock.lock()
      defer { lock.unlock() }
      if let existing = application.storage[Key.self] { return existing }
      let box = Box()
      application.storage[Key.self] = box
      return box
    }

    private final class Box: Sendable {
      let proxy = Mutex<MemCacheProxy?>(nil)
    }

    private struct Key: StorageKey, LockKey {
      typealias Value = Box
    }
  }
}

/// Shuts a pool down when the application shuts down.
private struct PoolShutdown: LifecycleHandler {
  let pool: MemcachedPool

  func shutdownAsync(_ application: Application) async {
    await pool.shutdown()
  }

  // The blocking form, for applications shut down with the deprecated `shutdown()`: it waits on
  // a thread that is not one of Swift's cooperative pool.
  func shutdown(_ application: Application) {
    let done = DispatchSemaphore(value: 0)
    let pool = pool
    Task.detached {
      await pool.shutdown()
      done.signal()
    }
    done.wait()
  }
}
