internal import CLibMemcached

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

extension MemcachedClient {
  /// How many times an operation is tried again after a server failure: once per failure that
  /// can take a server out, and one more for the rebuilt ring.
  var retryBudget: Int { configuration.serverFailureLimit + 1 }

  /// Whether a failed call never reached a server, so that trying again cannot apply it twice:
  /// the server was refused, or taken out of service, and the ring then points elsewhere.
  func requestWasNotSent(_ rc: memcached_return_t) -> Bool {
    guard configuration.removeFailedServers else { return false }
    switch rc {
    case MEMCACHED_SERVER_MARKED_DEAD, MEMCACHED_SERVER_TEMPORARILY_DISABLED:
      return true
    case MEMCACHED_CONNECTION_FAILURE, MEMCACHED_ERRNO:
      return memcached_last_error_errno(memc) == ECONNREFUSED
    default:
      return false
    }
  }

  static func isOutOfService(_ code: MemcachedReturnCode) -> Bool {
    code == .serverMarkedDead || code == .serverTemporarilyDisabled
  }

  /// Runs an operation, trying it again where that is safe: writes only when the request never
  /// reached a server (see ``requestWasNotSent(_:)``); reads also after any server failure when
  /// replicas are configured, because libmemcached then reads from the replica.
  func retrying<R>(read: Bool, _ body: () throws -> R) throws -> R {
    var attempts = 0
    var firstFailure: MemcachedError?
    while true {
      do {
        return try body()
      } catch let error as MemcachedError {
        let rc = memcached_return_t(rawValue: UInt32(bitPattern: error.returnCode.rawValue))
        let replicaRead =
          read && configuration.replicas > 0 && Self.isServerFailure(error.returnCode)
        let retry = replicaRead || requestWasNotSent(rc)
        if retry && firstFailure == nil && !Self.isOutOfService(error.returnCode) {
          firstFailure = error
        }
        guard retry, attempts < retryBudget else {
          // "Taken out of service" after a retry hides what went wrong first (a refused
          // connection, say): report that instead.
          if Self.isOutOfService(error.returnCode), let firstFailure { throw firstFailure }
          throw error
        }
        attempts += 1
      }
    }
  }
}
