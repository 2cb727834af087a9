import Foundation

/// One memcached server: a TCP address or a unix socket, with a weight.
public struct MemcachedServer: Sendable, Hashable, CustomStringConvertible {
  /// Where a server listens.
  public enum Address: Sendable, Hashable {
    /// A host name or IP address and a TCP port.
    case tcp(host: String, port: Int)
    /// The path of a unix domain socket.
    case unixSocket(path: String)
  }

  /// The port memcached listens on unless told otherwise.
  public static let defaultPort = 11211

  /// Where the server listens.
  public var address: Address
  /// The server's share of keys under weighted distribution (1 or more).
  public var weight: Int

  /// A TCP server.
  public init(host: String, port: Int = MemcachedServer.defaultPort, weight: Int = 1) {
    self.address = .tcp(host: host, port: port)
    self.weight = weight
  }

  /// A server on a unix domain socket.
  public init(socketPath: String, weight: Int = 1) {
    self.address = .unixSocket(path: socketPath)
    self.weight = weight
  }

  /// Parses one server line, such as `cache-1:11211`, `[::1]:11211 2` or `/tmp/memcached.sock`.
  /// - Throws: ``MemcachedError`` (``MemcachedReturnCode/invalidConfiguration``) quoting the line.
  public init(parsing line: String) throws {
    let text = line.trimmingSpaces()
    func bad(_ reason: String) -> MemcachedError {
      MemcachedError(
        returnCode: .invalidConfiguration, message: "bad server line \"\(line)\": \(reason)",
        operation: "parse server")
    }
    guard !text.isEmpty else { throw bad("it is empty") }

    var spec = Substring(text)
    var weight = 1
    if let slash = spec.range(of: "/?") {
      guard let value = Int(spec[slash.upperBound...]) else { throw bad("the weight is no number") }
      weight = value
      spec = spec[..<slash.lowerBound]
    } else if let space = spec.firstIndex(where: { $0 == " " || $0 == "\t" }) {
      let rest = spec[space...].trimmingSpaces()
      guard let value = Int(rest) else { throw bad("the weight is no number") }
      weight = value
      spec = spec[..<space]
    }
    guard weight >= 1 else { throw bad("the weight must be 1 or more") }

    if spec.hasPrefix("unix:") {
      spec = spec.dropFirst("unix:".count)
    }
    if spec.hasPrefix("/") {
      self.init(socketPath: String(spec), weight: weight)
      return
    }

    var host: Substring
    var portText: Substring?
    if spec.hasPrefix("[") {
      guard let close = spec.firstIndex(of: "]") else { throw bad("an IPv6 address lacks its ']'") }
      host = spec[spec.index(after: spec.startIndex)..<close]
      let rest = spec[spec.index(after: close)...]
      if !rest.isEmpty {
        guard rest.hasPrefix(":") else { throw bad("expected ':' after the IPv6 address") }
        portText = rest.dropFirst()
      }
    } else if spec.filter({ $0 == ":" }).count > 1 {
      // A bare IPv6 address, which cannot carry a port without brackets.
      guard spec.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
        throw bad("an IPv6 address needs brackets to carry a port: [address]:port")
      }
      host = spec
    } else if let colon = spec.firstIndex(of: ":") {
      host = spec[..<colon]
      portText = spec[spec.index(after: colon)...]
    } else {
      host = spec
    }
    guard !host.isEmpty else { throw bad("the host is empty") }
    guard !host.contains(where: { $0.isWhitespace || $0 == "/" }) else {
      throw bad("the host contains a space or '/'")
    }
    var port = Self.defaultPort
    if let portText {
      guard let value = Int(portText), (1...65535).contains(value) else {
        throw bad("the port must be a number from 1 to 65535")
      }
      port = value
    }
    self.init(host: String(host), port: port, weight: weight)
  }

  /// Parses server lines, one per line; blank lines and surrounding spaces are ignored.
  /// - Throws: ``MemcachedError`` quoting the first bad line.
  public static func parseList(_ text: String) throws -> [MemcachedServer] {
    try text.split(whereSeparator: \.isNewline)
      .map { $0.trimmingSpaces() }
      .filter { !$0.isEmpty }
      .map { try MemcachedServer(parsing: $0) }
  }

  /// The address as a server line (`host:port`, `[v6]:port` or the socket path), without weight.
  public var description: String {
    switch address {
    case .tcp(let host, let port):
      return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    case .unixSocket(let path):
      return path
    }
  }
}

extension StringProtocol {
  func trimmingSpaces() -> String {
    let scalars = unicodeScalars
    guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
      let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
    else { return "" }
    return String(String.UnicodeScalarView(scalars[first...last]))
  }
}
