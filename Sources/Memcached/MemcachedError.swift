internal import CLibMemcached

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A libmemcached return code (`MEMCACHED_CONNECTION_FAILURE` is ``connectionFailure``), or one
/// of this package's own codes above 1000.
public struct MemcachedReturnCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
  /// The numeric code: a `memcached_return_t` value, or one of this package's codes (≥ 1000).
  public let rawValue: Int32

  /// Creates a return code from its numeric value.
  public init(rawValue: Int32) {
    self.rawValue = rawValue
  }

  internal init(_ rc: memcached_return_t) {
    self.rawValue = Int32(bitPattern: rc.rawValue)
  }

  /// `MEMCACHED_SUCCESS`.
  public static let success = Self(MEMCACHED_SUCCESS)
  /// `MEMCACHED_FAILURE`.
  public static let failure = Self(MEMCACHED_FAILURE)
  /// `MEMCACHED_HOST_LOOKUP_FAILURE`: the server's name could not be resolved.
  public static let hostLookupFailure = Self(MEMCACHED_HOST_LOOKUP_FAILURE)
  /// `MEMCACHED_CONNECTION_FAILURE`: the connection was refused or broke.
  public static let connectionFailure = Self(MEMCACHED_CONNECTION_FAILURE)
  /// `MEMCACHED_WRITE_FAILURE`.
  public static let writeFailure = Self(MEMCACHED_WRITE_FAILURE)
  /// `MEMCACHED_READ_FAILURE`.
  public static let readFailure = Self(MEMCACHED_READ_FAILURE)
  /// `MEMCACHED_UNKNOWN_READ_FAILURE`.
  public static let unknownReadFailure = Self(MEMCACHED_UNKNOWN_READ_FAILURE)
  /// `MEMCACHED_PROTOCOL_ERROR`.
  public static let protocolError = Self(MEMCACHED_PROTOCOL_ERROR)
  /// `MEMCACHED_CLIENT_ERROR`: the server rejected the request.
  public static let clientError = Self(MEMCACHED_CLIENT_ERROR)
  /// `MEMCACHED_SERVER_ERROR`: the server reported an error of its own.
  public static let serverError = Self(MEMCACHED_SERVER_ERROR)
  /// `MEMCACHED_ERROR`: the server answered `ERROR`.
  public static let error = Self(MEMCACHED_ERROR)
  /// `MEMCACHED_DATA_EXISTS`: a CAS conflict, or `add` of an existing key.
  public static let dataExists = Self(MEMCACHED_DATA_EXISTS)
  /// `MEMCACHED_DATA_DOES_NOT_EXIST`.
  public static let dataDoesNotExist = Self(MEMCACHED_DATA_DOES_NOT_EXIST)
  /// `MEMCACHED_NOTSTORED`.
  public static let notStored = Self(MEMCACHED_NOTSTORED)
  /// `MEMCACHED_STORED`.
  public static let stored = Self(MEMCACHED_STORED)
  /// `MEMCACHED_NOTFOUND`.
  public static let notFound = Self(MEMCACHED_NOTFOUND)
  /// `MEMCACHED_MEMORY_ALLOCATION_FAILURE`.
  public static let memoryAllocationFailure = Self(MEMCACHED_MEMORY_ALLOCATION_FAILURE)
  /// `MEMCACHED_PARTIAL_READ`.
  public static let partialRead = Self(MEMCACHED_PARTIAL_READ)
  /// `MEMCACHED_SOME_ERRORS`: some servers of a multi-server request failed.
  public static let someErrors = Self(MEMCACHED_SOME_ERRORS)
  /// `MEMCACHED_NO_SERVERS`: no server is configured or available.
  public static let noServers = Self(MEMCACHED_NO_SERVERS)
  /// `MEMCACHED_END`.
  public static let end = Self(MEMCACHED_END)
  /// `MEMCACHED_ERRNO`: a system call failed; see ``MemcachedError/systemErrno``.
  public static let errno = Self(MEMCACHED_ERRNO)
  /// `MEMCACHED_NOT_SUPPORTED`.
  public static let notSupported = Self(MEMCACHED_NOT_SUPPORTED)
  /// `MEMCACHED_FETCH_NOTFINISHED`.
  public static let fetchNotFinished = Self(MEMCACHED_FETCH_NOTFINISHED)
  /// `MEMCACHED_TIMEOUT`: the server did not answer in time.
  public static let timeout = Self(MEMCACHED_TIMEOUT)
  /// `MEMCACHED_BAD_KEY_PROVIDED`: the key is empty or contains forbidden bytes.
  public static let badKeyProvided = Self(MEMCACHED_BAD_KEY_PROVIDED)
  /// `MEMCACHED_INVALID_HOST_PROTOCOL`.
  public static let invalidHostProtocol = Self(MEMCACHED_INVALID_HOST_PROTOCOL)
  /// `MEMCACHED_SERVER_MARKED_DEAD`: the server failed too often and is not used for now.
  public static let serverMarkedDead = Self(MEMCACHED_SERVER_MARKED_DEAD)
  /// `MEMCACHED_UNKNOWN_STAT_KEY`.
  public static let unknownStatKey = Self(MEMCACHED_UNKNOWN_STAT_KEY)
  /// `MEMCACHED_E2BIG`: the item is larger than the server accepts.
  public static let e2big = Self(MEMCACHED_E2BIG)
  /// `MEMCACHED_INVALID_ARGUMENTS`.
  public static let invalidArguments = Self(MEMCACHED_INVALID_ARGUMENTS)
  /// `MEMCACHED_KEY_TOO_BIG`: the key, with its prefix, is longer than 250 bytes.
  public static let keyTooBig = Self(MEMCACHED_KEY_TOO_BIG)
  /// `MEMCACHED_AUTH_PROBLEM`.
  public static let authProblem = Self(MEMCACHED_AUTH_PROBLEM)
  /// `MEMCACHED_AUTH_FAILURE`.
  public static let authFailure = Self(MEMCACHED_AUTH_FAILURE)
  /// `MEMCACHED_PARSE_ERROR`.
  public static let parseError = Self(MEMCACHED_PARSE_ERROR)
  /// `MEMCACHED_IN_PROGRESS`.
  public static let inProgress = Self(MEMCACHED_IN_PROGRESS)
  /// `MEMCACHED_SERVER_TEMPORARILY_DISABLED`: the server failed and waits for its retry timeout.
  public static let serverTemporarilyDisabled = Self(MEMCACHED_SERVER_TEMPORARILY_DISABLED)
  /// `MEMCACHED_SERVER_MEMORY_ALLOCATION_FAILURE`: the server is out of memory.
  public static let serverMemoryAllocationFailure = Self(
    MEMCACHED_SERVER_MEMORY_ALLOCATION_FAILURE)

  /// This package's code: no pooled connection became free within the checkout timeout.
  public static let poolTimeout = Self(rawValue: 1001)
  /// This package's code: the server list or configuration is invalid.
  public static let invalidConfiguration = Self(rawValue: 1002)
  /// This package's code: the pool was shut down and lends no more connections.
  public static let poolShutDown = Self(rawValue: 1003)

  /// The libmemcached name of the code, such as `MEMCACHED_TIMEOUT`.
  public var description: String {
    switch self {
    case .poolTimeout: return "MCDUTILS_POOL_TIMEOUT"
    case .invalidConfiguration: return "MCDUTILS_INVALID_CONFIGURATION"
    case .poolShutDown: return "MCDUTILS_POOL_SHUT_DOWN"
    default:
      guard rawValue >= 0, rawValue < Int32(MEMCACHED_MAXIMUM_RETURN.rawValue) else {
        return "MEMCACHED_RETURN(\(rawValue))"
      }
      return "MEMCACHED_RETURN(\(rawValue)) \(Self.names[Int(rawValue)])"
    }
  }

  private static let names: [String] = [
    "SUCCESS", "FAILURE", "HOST_LOOKUP_FAILURE", "CONNECTION_FAILURE", "CONNECTION_BIND_FAILURE",
    "WRITE_FAILURE", "READ_FAILURE", "UNKNOWN_READ_FAILURE", "PROTOCOL_ERROR", "CLIENT_ERROR",
    "SERVER_ERROR", "ERROR", "DATA_EXISTS", "DATA_DOES_NOT_EXIST", "NOTSTORED", "STORED",
    "NOTFOUND", "MEMORY_ALLOCATION_FAILURE", "PARTIAL_READ", "SOME_ERRORS", "NO_SERVERS", "END",
    "DELETED", "VALUE", "STAT", "ITEM", "ERRNO", "FAIL_UNIX_SOCKET", "NOT_SUPPORTED",
    "NO_KEY_PROVIDED", "FETCH_NOTFINISHED", "TIMEOUT", "BUFFERED", "BAD_KEY_PROVIDED",
    "INVALID_HOST_PROTOCOL", "SERVER_MARKED_DEAD", "UNKNOWN_STAT_KEY", "E2BIG",
    "INVALID_ARGUMENTS", "KEY_TOO_BIG", "AUTH_PROBLEM", "AUTH_FAILURE", "AUTH_CONTINUE",
    "PARSE_ERROR", "PARSE_USER_ERROR", "DEPRECATED", "IN_PROGRESS", "SERVER_TEMPORARILY_DISABLED",
    "SERVER_MEMORY_ALLOCATION_FAILURE",
  ].map { "MEMCACHED_" + $0 }
}

/// An error from memcached or libmemcached, thrown by ``MemcachedClient`` and ``MemcachedPool``.
public struct MemcachedError: Error, Sendable, CustomStringConvertible {
  /// The return code, such as ``MemcachedReturnCode/timeout``.
  public let returnCode: MemcachedReturnCode
  /// libmemcached's message (`memcached_last_error_message`), or this package's own.
  public let message: String
  /// The operation that failed, by its Swift name (`get`, `set`, `checkout`, …).
  public let operation: String
  /// The server the operation was talking to, when known.
  public let server: MemcachedServer?
  /// The key, when the configuration allows keys in errors.
  public let key: String?
  /// The system `errno` behind a connection error, when libmemcached reports one.
  public let systemErrno: Int32?
  /// For a value refused as too large before it was sent: its size in bytes.
  public let valueSize: Int?
  /// For a value refused as too large before it was sent: the largest size allowed.
  public let maximumValueSize: Int?

  package init(
    returnCode: MemcachedReturnCode, message: String, operation: String,
    server: MemcachedServer? = nil, key: String? = nil, systemErrno: Int32? = nil,
    valueSize: Int? = nil, maximumValueSize: Int? = nil
  ) {
    self.returnCode = returnCode
    self.message = message
    self.operation = operation
    self.server = server
    self.key = key
    self.systemErrno = systemErrno
    self.valueSize = valueSize
    self.maximumValueSize = maximumValueSize
  }

  /// A value larger than the maximum, refused before it was stored.
  package static func itemTooLarge(size: Int, maximum: Int, operation: String) -> MemcachedError {
    MemcachedError(
      returnCode: .e2big, message: "the value is \(size) bytes; the maximum is \(maximum)",
      operation: operation, valueSize: size, maximumValueSize: maximum)
  }

  /// A counter operation on an item that is not a decimal number, as the text protocol says it.
  package static func notANumber(operation: String) -> MemcachedError {
    MemcachedError(
      returnCode: .clientError,
      message: "cannot increment or decrement non-numeric value", operation: operation)
  }

  /// Whether the server refused the connection (nothing listens at its address).
  public var isConnectionRefused: Bool {
    systemErrno == ECONNREFUSED
  }

  /// Whether the server did not answer within the configured timeouts.
  public var isTimeout: Bool {
    returnCode == .timeout
  }

  /// Whether the server answered with an error of its own (`SERVER_ERROR`, out of memory).
  public var isServerError: Bool {
    returnCode == .serverError || returnCode == .serverMemoryAllocationFailure
  }

  /// Whether the value was too large for the configured maximum or for the server.
  public var isItemTooLarge: Bool {
    returnCode == .e2big
  }

  /// Whether the server refused the SASL credentials, or the client sent none to a server that
  /// requires them.
  public var isAuthenticationFailure: Bool {
    returnCode == .authFailure || returnCode == .authProblem
  }

  /// Whether no server could serve the request: none configured, or every one failed or is
  /// known to be down.
  public var isNoServerAvailable: Bool {
    returnCode == .noServers || returnCode == .serverMarkedDead
      || returnCode == .serverTemporarilyDisabled
  }

  /// Whether the store could not be reached or did not answer, as opposed to an answer about the
  /// item or the request.
  public var isUnavailable: Bool {
    isConnectionRefused || Self.isUnavailable(returnCode)
  }

  static func isUnavailable(_ code: MemcachedReturnCode) -> Bool {
    [
      MemcachedReturnCode.timeout, .noServers, .serverMarkedDead, .serverTemporarilyDisabled,
      .connectionFailure, .writeFailure, .readFailure, .unknownReadFailure, .errno,
      .hostLookupFailure, .partialRead, .protocolError, .someErrors, .poolTimeout, .poolShutDown,
    ].contains(code)
  }

  /// A one-line description: the operation, the server, the code and the message.
  public var description: String {
    var text = "memcached \(operation) failed"
    if let key { text += " for key \"\(key)\"" }
    if let server { text += " on \(server)" }
    text += ": \(message) (\(returnCode))"
    return text
  }
}
