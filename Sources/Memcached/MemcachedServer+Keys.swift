import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// One item of a server's key listing: see ``MemcachedServer/forEachItem(timeout:_:)``.
public struct MemcachedListedItem: Sendable, Hashable {
  /// The key as stored, with the configuration's key prefix.
  public var key: String
  /// When the item expires; `nil` for never.
  public var expires: Date?
  /// The item's size in memcached's memory, in bytes (key, value and memcached's header).
  public var size: Int
}

extension MemcachedServer {
  /// Calls `body` with every item the server holds, in no particular order; items whose keys are
  /// not UTF-8 are left out.
  ///
  /// libmemcached has no call for this: the listing is memcached's own, read over a connection
  /// of its own in the text protocol. The corresponding memcached command is
  /// `lru_crawler metadump all` (memcached 1.4.31 or later). A server that requires SASL speaks
  /// only the binary protocol and has no listing: it fails with ``MemcachedReturnCode/notSupported``.
  /// A key written while the listing runs may be left out; one deleted may still be listed.
  ///
  /// - Parameters:
  ///   - timeout: How long connecting, and each wait for more of the listing, may take; also
  ///     how long to wait while another listing holds the server's crawler.
  ///   - body: Called with each item; what it throws ends the listing and is rethrown.
  /// - Throws: ``MemcachedError`` with ``MemcachedReturnCode/connectionFailure``,
  ///   ``MemcachedReturnCode/timeout`` or ``MemcachedReturnCode/readFailure`` when the server
  ///   cannot be reached or stops answering, ``MemcachedReturnCode/notSupported`` when it has no
  ///   listing, and ``MemcachedReturnCode/hostLookupFailure`` for a name that does not resolve.
  public func forEachItem(
    timeout: Duration = .seconds(30), _ body: (MemcachedListedItem) throws -> Void
  ) throws {
    var socket = try KeyListingSocket(self, timeout: timeout)
    defer { socket.close() }
    let deadline = ContinuousClock.now + timeout
    while true {
      try socket.send("lru_crawler metadump all\r\n")
      switch try socket.readListing(body) {
      case .done:
        return
      case .busy:
        // Another listing (or a crawl memcached runs on its own) holds the crawler: wait.
        guard ContinuousClock.now < deadline else {
          throw socket.error(.timeout, "the server's crawler stayed busy")
        }
        usleep(100_000)
      }
    }
  }
}

/// One blocking text-protocol connection to a server, for its key listing.
private struct KeyListingSocket {
  let server: MemcachedServer
  let descriptor: Int32
  /// What was received; the bytes before `start` were read already. They are dropped only
  /// when more is received, so that reading a line costs no copy of the rest.
  var buffer: [UInt8] = []
  var start = 0
  /// Where `recv` writes, made once.
  var chunk = [UInt8](repeating: 0, count: 65_536)

  enum Outcome {
    case done, busy
  }

  init(_ server: MemcachedServer, timeout: Duration) throws(MemcachedError) {
    self.server = server
    switch server.address {
    case .tcp(let host, let port):
      descriptor = try Self.connect(host: host, port: port, timeout: timeout, server: server)
    case .unixSocket(let path):
      descriptor = try Self.connect(path: path, timeout: timeout, server: server)
    }
  }

  func close() {
    _ = Glibc.close(descriptor)
  }

  func error(_ code: MemcachedReturnCode, _ message: String, errno: Int32? = nil) -> MemcachedError
  {
    MemcachedError(
      returnCode: code, message: message, operation: "forEachItem", server: server,
      systemErrno: errno)
  }

  func send(_ text: String) throws(MemcachedError) {
    let bytes = Array(text.utf8)
    var sent = 0
    while sent < bytes.count {
      let count = bytes[sent...].withUnsafeBytes {
        Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
      }
      guard count > 0 else {
        throw error(.writeFailure, "cannot send the listing request", errno: errno)
      }
      sent += count
    }
  }

  /// Reads the listing's lines up to its end, calling `body` with each item.
  mutating func readListing(_ body: (MemcachedListedItem) throws -> Void) throws -> Outcome {
    while true {
      let line = try readLine()
      if line.starts(with: Array("key=".utf8)) {
        if let item = Self.item(line) { try body(item) }
      } else if line.elementsEqual("END".utf8) {
        return .done
      } else if line.starts(with: Array("BUSY".utf8)) {
        return .busy
      } else if !line.isEmpty {
        throw error(
          .notSupported,
          "the server has no key listing (lru_crawler metadump): it answered \""
            + String(decoding: line.prefix(200), as: UTF8.self) + "\"")
      }
    }
  }

  /// The next line, without its line break (the listing ends lines with `\n`, replies with
  /// `\r\n`).
  private mutating func readLine() throws(MemcachedError) -> ArraySlice<UInt8> {
    var searched = start
    while true {
      if let end = buffer[searched...].firstIndex(of: UInt8(ascii: "\n")) {
        var line = buffer[start..<end]
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        start = end + 1
        return line
      }
      buffer.removeSubrange(..<start)
      start = 0
      searched = buffer.count
      guard buffer.count < 1 << 20 else {
        throw error(.protocolError, "the server sent a line longer than 1 MiB")
      }
      let count = chunk.withUnsafeMutableBytes {
        Glibc.recv(descriptor, $0.baseAddress, $0.count, 0)
      }
      if count < 0 {
        let code = errno
        throw code == EAGAIN || code == EWOULDBLOCK
          ? error(.timeout, "the server stopped answering during the listing", errno: code)
          : error(.readFailure, "the connection broke during the listing", errno: code)
      }
      guard count > 0 else {
        throw error(
          buffer.isEmpty ? .notSupported : .readFailure,
          buffer.isEmpty
            ? "the server closed the connection: it has no key listing in the text protocol "
              + "(a server that requires SASL has none)"
            : "the connection broke during the listing")
      }
      buffer += chunk[..<count]
    }
  }

  /// An item from its line: `key=KEY exp=UNIXTIME|-1 la=… cas=… fetch=… cls=… size=BYTES`.
  static func item(_ line: ArraySlice<UInt8>) -> MemcachedListedItem? {
    var fields: [Substring: Substring] = [:]
    for field in String(decoding: line, as: UTF8.self).split(separator: " ") {
      guard let equals = field.firstIndex(of: "=") else { continue }
      fields[field[..<equals]] = field[field.index(after: equals)...]
    }
    guard let encoded = fields["key"], let key = percentDecoded(ArraySlice(encoded.utf8)) else {
      return nil
    }
    let expires = fields["exp"].flatMap { Int($0) }.flatMap {
      $0 <= 0 ? nil : Date(timeIntervalSince1970: TimeInterval($0))
    }
    return MemcachedListedItem(
      key: key, expires: expires, size: fields["size"].flatMap { Int($0) } ?? 0)
  }

  /// A key as memcached prints it (percent-encoded), or `nil` when it is not UTF-8.
  static func percentDecoded(_ encoded: ArraySlice<UInt8>) -> String? {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(encoded.count)
    var index = encoded.startIndex
    while index < encoded.endIndex {
      let byte = encoded[index]
      if byte == UInt8(ascii: "%"), index + 2 < encoded.endIndex,
        let high = hexDigit(encoded[index + 1]), let low = hexDigit(encoded[index + 2])
      {
        bytes.append(high << 4 | low)
        index += 3
      } else {
        bytes.append(byte)
        index += 1
      }
    }
    return String(validating: bytes, as: UTF8.self)
  }

  private static func hexDigit(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
  }

  // MARK: Connecting

  private static func connect(host: String, port: Int, timeout: Duration, server: MemcachedServer)
    throws(MemcachedError) -> Int32
  {
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var list: UnsafeMutablePointer<addrinfo>?
    let status = getaddrinfo(host, String(port), &hints, &list)
    guard status == 0, let list else {
      throw MemcachedError(
        returnCode: .hostLookupFailure,
        message: "cannot resolve \(host): " + String(cString: gai_strerror(status)),
        operation: "forEachItem", server: server)
    }
    defer { freeaddrinfo(list) }
    var lastErrno: Int32 = 0
    var entry: UnsafeMutablePointer<addrinfo>? = list
    while let current = entry {
      entry = current.pointee.ai_next
      let descriptor = Glibc.socket(
        current.pointee.ai_family, current.pointee.ai_socktype, current.pointee.ai_protocol)
      guard descriptor >= 0 else {
        lastErrno = errno
        continue
      }
      setTimeouts(descriptor, timeout)
      if Glibc.connect(descriptor, current.pointee.ai_addr, current.pointee.ai_addrlen) == 0 {
        return descriptor
      }
      lastErrno = errno
      _ = Glibc.close(descriptor)
    }
    throw connectionError(lastErrno, server)
  }

  private static func connect(path: String, timeout: Duration, server: MemcachedServer)
    throws(MemcachedError) -> Int32
  {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    let capacity = MemoryLayout.size(ofValue: address.sun_path)
    guard bytes.count < capacity else {
      throw MemcachedError(
        returnCode: .invalidArguments,
        message: "the socket path is longer than \(capacity - 1) bytes",
        operation: "forEachItem", server: server)
    }
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
    let descriptor = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw connectionError(errno, server) }
    setTimeouts(descriptor, timeout)
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
    guard connected == 0 else {
      let code = errno
      _ = Glibc.close(descriptor)
      throw connectionError(code, server)
    }
    return descriptor
  }

  private static func setTimeouts(_ descriptor: Int32, _ timeout: Duration) {
    let microseconds = max(1_000, timeout.saturatingMicroseconds)
    var value = timeval(
      tv_sec: Int(microseconds / 1_000_000), tv_usec: Int(microseconds % 1_000_000))
    for option in [SO_RCVTIMEO, SO_SNDTIMEO] {
      _ = setsockopt(descriptor, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<timeval>.size))
    }
  }

  private static func connectionError(_ code: Int32, _ server: MemcachedServer) -> MemcachedError {
    MemcachedError(
      returnCode: code == EINPROGRESS || code == EAGAIN ? .timeout : .connectionFailure,
      message: "cannot connect for the key listing: " + String(cString: strerror(code)),
      operation: "forEachItem", server: server, systemErrno: code)
  }
}
