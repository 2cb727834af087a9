import Foundation
import Memcached
import MemcachedTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// With sealing and keyed ids on, what memcached holds after a CLI session round trip gives
/// away neither the browser id nor the session's values.
@Suite("The mcdutils command with sealing and keyed session ids")
struct CLISecurityTests {
  /// A key file of its own, readable by its owner only.
  private func keyFile() throws -> String {
    let path = NSTemporaryDirectory() + "mcdutils-cli-key-\(UInt32.random(in: 0 ... .max))"
    let key = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
    guard FileManager.default.createFile(atPath: path, contents: Data("# test key\n\(key)\n".utf8))
    else { throw CLITestError(description: "cannot write \(path)") }
    try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
    return path
  }

  /// Every key memcached holds, from `lru_crawler metadump all` over the text protocol.
  private func dumpKeys(_ process: MemcachedProcess) throws -> [String] {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw CLITestError(description: "socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(process.port).bigEndian)
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard connected == 0 else { throw CLITestError(description: "cannot connect") }
    let request = Array("lru_crawler metadump all\r\n".utf8)
    _ = write(fd, request, request.count)
    var text = ""
    var buffer = [UInt8](repeating: 0, count: 4096)
    while !text.hasSuffix("END\r\n") {
      let count = read(fd, &buffer, buffer.count)
      guard count > 0 else { break }
      text += String(decoding: buffer[..<count], as: UTF8.self)
    }
    return text.split(separator: "\r\n").compactMap { line in
      line.split(separator: " ").first { $0.hasPrefix("key=") }.map {
        String($0.dropFirst(4)).removingPercentEncoding ?? String($0.dropFirst(4))
      }
    }
  }

  @Test func aMemcachedDumpHoldsNeitherTheBrowserIdNorASessionValue() async throws {
    try await withMemcached { processes in
      let (sealKeys, idKey) = (try keyFile(), try keyFile())
      defer {
        try? FileManager.default.removeItem(atPath: sealKeys)
        try? FileManager.default.removeItem(atPath: idKey)
      }
      let browserId = "cookie-\(UInt64.random(in: 0 ... .max))"
      let options = [
        "--id", browserId, "--seal-key-file", sealKeys, "--id-key-file", idKey, "--servers",
        serversArgument(processes),
      ]
      let added = try await runCLI(
        ["session", "add"] + options, input: "user alice-in-clear\ncart book-in-clear\n")
      #expect(added.status == 0, "\(added.stderr)")
      let shown = try await runCLI(["session", "show"] + options)
      #expect(shown.status == 0, "\(shown.stderr)")
      #expect(shown.stdout.contains("alice-in-clear"))

      let keys = try dumpKeys(processes[0])
      #expect(!keys.isEmpty)
      let client = try MemcachedClient(configuration: .init(servers: processes.map(\.server)))
      for key in keys {
        #expect(!key.contains(browserId))
        let bytes = try #require(try client.get(key)).value
        for secret in [browserId, "alice-in-clear", "book-in-clear", "user", "cart"] {
          #expect(!bytes.contains(Array(secret.utf8)), "\(secret) in clear under \(key)")
        }
      }
      // Without the keys, the session is not found (the id is hashed) nor readable.
      let blind = try await runCLI([
        "session", "show", "--id", browserId, "--servers", serversArgument(processes),
      ])
      #expect(blind.status == 1)
    }
  }

  @Test func aKeyFileLineThatIsNotAKeyIsNamedByItsLine() async throws {
    let good = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
    for (bad, what) in [
      (Data(count: 16).base64EncodedString(), "16 bytes"), ("not base64!", "is not a base64 key"),
    ] {
      let path = try keyFile()
      defer { try? FileManager.default.removeItem(atPath: path) }
      try Data("# keys\n\(good)\n\(bad)\n".utf8).write(to: URL(fileURLWithPath: path))
      for option in ["--seal-key-file", "--id-key-file"] {
        let run = try await runCLI(["session", "show", "--id", "x", option, path])
        #expect(run.status != 0)
        #expect(run.stderr.contains("line 3 of the key file"), "\(option): \(run.stderr)")
        #expect(run.stderr.contains(what), "\(option): \(run.stderr)")
        #expect(!run.stderr.contains(good), "a key is quoted: \(run.stderr)")
      }
    }
  }

  @Test func aKeyFileOthersCanReadGetsAWarning() async throws {
    let path = try keyFile()
    defer { try? FileManager.default.removeItem(atPath: path) }
    try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
    let run = try await runCLI(["session", "show", "--id", "x", "--seal-key-file", path])
    #expect(run.stderr.contains("other users can read the key file"))
  }
}

extension [UInt8] {
  /// Whether `needle` appears in these bytes.
  fileprivate func contains(_ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, needle.count <= count else { return false }
    return (0...(count - needle.count)).contains { Array(self[$0..<($0 + needle.count)]) == needle }
  }
}
