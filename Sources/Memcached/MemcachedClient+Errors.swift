internal import CLibMemcached
import Foundation
import Logging

extension MemcachedClient {
  /// Turns a failed return code into a ``MemcachedError`` with libmemcached's message and the
  /// server involved, and logs server failures as warnings.
  func error(_ rc: memcached_return_t, _ operation: String, key: String? = nil) -> MemcachedError {
    let code = MemcachedReturnCode(rc)
    var message = ""
    if memcached_last_error(memc) == rc, let text = memcached_last_error_message(memc) {
      message = String(cString: text)
    }
    if message.isEmpty, let text = memcached_strerror(memc, rc) {
      message = String(cString: text)
    }
    message = Self.cleaned(message)
    var instance: OpaquePointer?
    if Self.isServerFailure(code) {
      // The ring may already point the key elsewhere; the server that failed is the one
      // libmemcached last disconnected.
      instance = memcached_server_get_last_disconnect(memc)
    }
    if instance == nil, let key, !Self.isKeyProblem(code) {
      var lookup = MEMCACHED_SUCCESS
      instance = memcached_server_by_key(memc, key, key.utf8.count, &lookup)
    }
    if instance == nil {
      instance = memcached_server_get_last_disconnect(memc)
    }
    let server = instance.map(self.server(for:))
    let errnoValue = memcached_last_error_errno(memc)
    let error = MemcachedError(
      returnCode: code, message: message, operation: operation, server: server,
      key: configuration.publicKeysInErrors ? key : nil,
      systemErrno: errnoValue == 0 ? nil : errnoValue)
    if Self.isServerFailure(code) {
      var metadata: Logger.Metadata = [
        "memcached.operation": "\(operation)", "memcached.code": "\(code)",
        "memcached.message": "\(message)",
      ]
      if let server { metadata["memcached.server"] = "\(server)" }
      if code == .serverMarkedDead || code == .serverTemporarilyDisabled {
        logger.warning("memcached server taken out of service", metadata: metadata)
      } else {
        logger.warning("memcached server failed", metadata: metadata)
      }
    }
    return error
  }

  /// The configured server that a libmemcached server instance stands for.
  func server(for instance: OpaquePointer) -> MemcachedServer {
    let name = memcached_server_name(instance).map { String(cString: $0) } ?? ""
    let port = Int(memcached_server_port(instance))
    for server in configuration.servers {
      switch server.address {
      case .tcp(let host, let serverPort) where host == name && serverPort == port:
        return server
      case .unixSocket(let path) where path == name:
        return server
      default:
        continue
      }
    }
    return port == 0 ? MemcachedServer(socketPath: name) : MemcachedServer(host: name, port: port)
  }

  /// libmemcached's message without its debugging parts: the `(0x…)` handle address in front
  /// and the ` -> ./src/…:LINE` source location behind.
  static func cleaned(_ message: String) -> String {
    var text = Substring(message)
    if text.hasPrefix("(0x"), let close = text.firstIndex(of: ")") {
      text = text[text.index(after: close)...]
    }
    if let arrow = text.range(of: " -> ") {
      text = text[..<arrow.lowerBound]
    }
    var cleaned = text.trimmingSpaces()
    while cleaned.hasSuffix(",") { cleaned.removeLast() }
    return cleaned.trimmingSpaces()
  }

  private static func isKeyProblem(_ code: MemcachedReturnCode) -> Bool {
    code == .badKeyProvided || code == .keyTooBig
  }

  static func isServerFailure(_ code: MemcachedReturnCode) -> Bool {
    switch code {
    case .connectionFailure, .hostLookupFailure, .writeFailure, .readFailure, .unknownReadFailure,
      .timeout, .errno, .serverMarkedDead, .serverTemporarilyDisabled, .noServers, .someErrors,
      .protocolError, .partialRead:
      return true
    default:
      return false
    }
  }
}
