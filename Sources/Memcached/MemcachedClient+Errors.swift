internal import CLibMemcached
import Foundation
import Logging

extension MemcachedClient {
  /// Turns a failed return code into a ``MemcachedError``, logging unavailability at debug level.
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
    let errnoValue = memcached_last_error_errno(memc)
    let error = MemcachedError(
      returnCode: code, message: message, operation: operation,
      server: server(involvedIn: code, key: key),
      key: configuration.publicKeysInErrors ? key : nil,
      systemErrno: errnoValue == 0 ? nil : errnoValue)
    if error.isUnavailable {
      var metadata: Logger.Metadata = [
        "memcached.operation": "\(operation)", "memcached.code": "\(code)",
        "memcached.message": "\(message)",
      ]
      if let server = error.server { metadata["memcached.server"] = "\(server)" }
      logger.debug("memcached call failed", metadata: metadata)
    }
    return error
  }

  /// The server a failed call was talking to: the pinned node, the last disconnected, or the key's.
  private func server(involvedIn code: MemcachedReturnCode, key: String?) -> MemcachedServer? {
    if let pinnedNode { return configuration.servers[pinnedNode] }
    if code != .badKeyProvided && code != .keyTooBig {
      if let instance = memcached_server_get_last_disconnect(memc),
        MemcachedError.isUnavailable(code)
      {
        return server(for: instance)
      }
      if let key, let server = try? server(forKey: key) { return server }
    }
    return memcached_server_get_last_disconnect(memc).map(server(for:))
  }

  /// The configured server that a libmemcached server instance stands for.
  func server(for instance: OpaquePointer) -> MemcachedServer {
    let name = memcached_server_name(instance).map { String(cString: $0) } ?? ""
    let port = Int(memcached_server_port(instance))
    return configuration.servers.first { $0.matches(name, port) }
      ?? (port == 0 ? MemcachedServer(socketPath: name) : MemcachedServer(host: name, port: port))
  }

  /// libmemcached's message without its `(0x…)` prefix and ` -> ./src/…:LINE` suffix.
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
}
