import Crypto
import Foundation
import Testing

@testable import MCDUtils

/// Sealed values and keyed browser ids, read and written by the Python functions that
/// docs/wire-format.md gives (taken from the document itself, so that what it tells other
/// programs to do is what this build does).
@Suite("Sealed values with Python's cryptography")
struct SealedInteropTests {
  /// The Python block of docs/wire-format.md's "Reading and writing from Python".
  static func documentedPython() throws -> String {
    let repository = URL(fileURLWithPath: #filePath)
      .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent()
    let document = try String(
      contentsOf: repository.appendingPathComponent("docs/wire-format.md"), encoding: .utf8)
    let section = try #require(
      document.range(of: "## Reading and writing from Python"), "the section is missing")
    let rest = document[section.upperBound...]
    let start = try #require(rest.range(of: "```python\n"), "the section has no Python block")
    let end = try #require(rest[start.upperBound...].range(of: "\n```"))
    return String(rest[start.upperBound..<end.lowerBound])
  }

  /// Two random keys, as a key file gives them: `newest` seals, `older` still opens.
  let newest = SymmetricKey(size: .bits256)
  let older = SymmetricKey(size: .bits256)

  var keyFile: String {
    [newest, older].map { key in key.withUnsafeBytes { Data($0).base64EncodedString() } }
      .joined(separator: "\n") + "\n"
  }

  let sample: SessionValue = [
    "user": "alice", "roles": ["admin", "editor"], "visits": 42, "score": 1.5,
    "avatar": .bytes([0, 1, 2, 255]), "nothing": nil, "nested": ["deeper": [true, false]],
  ]

  @Test func valuesSwiftSealsOpenInPythonOnlyUnderTheirOwnKey() async throws {
    let python = try await ReferencePython.locate(modules: ["msgpack", "cryptography"])
    let ring = try SealingKeyRing(keys: [newest, older])
    let oldRing = try SealingKeyRing(keys: [older])
    let big: SessionValue = .map(["blob": .string(String(repeating: "compressible ", count: 2_000))]
    )
    let sealed = [
      ("small", try ValueFormat.encode(sample, sealing: ring, key: "app:sess-1"), sample),
      ("compressed", try ValueFormat.encode(big, sealing: ring, key: "app:sess-1"), big),
      ("older-key", try ValueFormat.encode(sample, sealing: oldRing, key: "app:sess-1"), sample),
    ]
    #expect(sealed[0].1.flags == 0x4D43_0200)
    #expect(sealed[1].1.flags == 0x4D43_0201)
    let input = try ReferencePython.temporaryFile(
      sealed.map { "\($0.0) \($0.1.flags) \(CodecSamples.hex($0.1.bytes))" }
        .joined(separator: "\n"))
    let keys = try ReferencePython.temporaryFile(keyFile)
    defer {
      try? FileManager.default.removeItem(at: input)
      try? FileManager.default.removeItem(at: keys)
    }
    let script =
      try Self.documentedPython() + """

        import sys
        ring = key_ring(open(sys.argv[2]).read())
        for line in open(sys.argv[1]).read().split("\\n"):
            name, flags, data = line.split(" ")
            data = bytes.fromhex(data)
            value = read_value(data, int(flags), "app:sess-1", ring)
            print(name, msgpack.packb(value).hex())
            for key, flags in (("app:sess-2", int(flags)), ("app:sess-1", int(flags) ^ 1)):
                try:
                    read_value(data, flags, key, ring)
                    print(name, "opened elsewhere")
                except Exception:
                    pass
        """
    let result = try await ReferencePython.run(
      python, script: script, arguments: [input.path, keys.path])
    try #require(result.status == 0, "python: \(result.error)")
    let lines = result.output.split(separator: "\n").map { $0.split(separator: " ") }
    try #require(lines.count == sealed.count, "python printed: \(result.output)")
    for (line, (name, _, value)) in zip(lines, sealed) {
      #expect(line[0] == name[...])
      #expect(try CodecSamples.decodePayload(CodecSamples.bytes(hex: String(line[1]))) == value)
    }
  }

  @Test func valuesPythonSealsOpenInSwiftOnlyUnderTheirOwnKey() async throws {
    let python = try await ReferencePython.locate(modules: ["msgpack", "cryptography"])
    let keys = try ReferencePython.temporaryFile(keyFile)
    defer { try? FileManager.default.removeItem(at: keys) }
    let script =
      try Self.documentedPython() + """

        import sys
        ring = key_ring(open(sys.argv[1]).read())
        value = {"user": "alice", "roles": ["admin", "editor"], "visits": 42, "score": 1.5,
                 "avatar": b"\\x00\\x01\\x02\\xff", "nothing": None,
                 "nested": {"deeper": [True, False]}}
        for sealing in (ring, None):
            data, flags = write_value(value, "app:sess-3", sealing)
            print(flags, data.hex())
        """
    let result = try await ReferencePython.run(python, script: script, arguments: [keys.path])
    try #require(result.status == 0, "python: \(result.error)")
    let lines = result.output.split(separator: "\n").map { $0.split(separator: " ") }
    try #require(lines.count == 2, "python printed: \(result.output)")
    let ring = try SealingKeyRing(keys: [newest, older])
    let sealedFlags = try #require(UInt32(lines[0][0]))
    let sealed = CodecSamples.bytes(hex: String(lines[0][1]))
    #expect(sealedFlags == 0x4D43_0200)
    #expect(
      try ValueFormat.decode(sealed, flags: sealedFlags, sealing: ring, key: "app:sess-3")
        == sample)
    #expect(throws: SessionValueFormatError.sealNotOpened) {
      try ValueFormat.decode(sealed, flags: sealedFlags, sealing: ring, key: "app:sess-4")
    }
    let plainFlags = try #require(UInt32(lines[1][0]))
    let plain = CodecSamples.bytes(hex: String(lines[1][1]))
    #expect(try ValueFormat.decode(plain, flags: plainFlags) == sample)
    #expect(throws: SessionValueFormatError.notSealed) {
      try ValueFormat.decode(plain, flags: plainFlags, sealing: ring, key: "app:sess-3")
    }
  }

  @Test func pythonFindsASessionUnderItsKeyedId() async throws {
    let python = try await ReferencePython.locate(modules: ["msgpack"])
    let keys = try ReferencePython.temporaryFile(keyFile)
    defer { try? FileManager.default.removeItem(at: keys) }
    let ids = ["browser-abc", "ünïcode id", String(repeating: "x", count: 200)]
    let script =
      try Self.documentedPython() + """

        import sys
        id_key = key_ring(open(sys.argv[1]).read())[1]
        for browser_id in sys.argv[2:]:
            print(session_key(browser_id, id_key))
        """
    let result = try await ReferencePython.run(
      python, script: script, arguments: [keys.path] + ids)
    try #require(result.status == 0, "python: \(result.error)")
    let hasher = try BrowserIdHasher(key: newest)
    #expect(result.output == ids.map { hasher.storageKey(for: $0) + "\n" }.joined())
  }
}
