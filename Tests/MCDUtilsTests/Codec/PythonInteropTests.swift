import Foundation
import MemcachedTestSupport
import Testing

@testable import MCDUtils

/// Runs the reference MessagePack implementation (Python's `msgpack`) in a child process.
enum ReferencePython {
  static let installHint =
    "install python3 with its msgpack and cryptography modules: `apt-get install "
    + "python3-msgpack python3-cryptography` (Debian) or `pip install msgpack cryptography`"

  /// The `python3` on PATH, with `modules` importable; fails the test, saying what to install,
  /// when any is missing.
  static func locate(modules: [String] = ["msgpack"]) async throws -> URL {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    let candidates = path.split(separator: ":").map { URL(fileURLWithPath: String($0)) }
    let found = candidates.map { $0.appendingPathComponent("python3") }.first {
      FileManager.default.isExecutableFile(atPath: $0.path)
    }
    let python = try #require(found, "python3 was not found on PATH: \(installHint)")
    for module in modules {
      let probe = try await run(python, script: "import \(module)")
      try #require(
        probe.status == 0,
        "Python's \(module) module is missing (\(probe.error)): \(installHint)")
    }
    return python
  }

  static func run(
    _ python: URL, script: String, arguments: [String] = []
  ) async throws -> (status: Int32, output: String, error: String) {
    let result = try await runChildProcess(python, arguments: ["-c", script] + arguments)
    return (
      result.status, String(decoding: result.stdout, as: UTF8.self),
      String(decoding: result.stderr, as: UTF8.self)
    )
  }

  static func temporaryFile(_ contents: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory
      .appendingPathComponent("mcdutils-codec-\(UUID().uuidString).txt")
    try contents.write(to: url, atomically: true, encoding: .utf8)
    return url
  }
}

@Suite("Python msgpack interoperability")
struct PythonInteropTests {
  /// What Swift writes; the Python script below holds the same structure as a literal.
  private static let swiftWritten: SessionValue = [
    "nil": nil, "true": true, "false": false, "small": 7, "negative": -33,
    "big": .int(Int64.max), "smallest": .int(Int64.min), "double": 1.5,
    "string": "héllo wörld", "empty": "", "bytes": .bytes([0, 1, 2, 0xFF]),
    "array": [1, "two", 3.25, nil, [false]], "map": ["inner": ["deeper": "yes"], "": 0],
    "long": .string(String(repeating: "x", count: 70_000)),
    "list": .array((0..<20).map { .int(Int64($0)) }),
    "wide": .map(Dictionary(uniqueKeysWithValues: (0..<20).map { ("k\($0)", .int(Int64($0))) })),
    "blob": .bytes((0..<512).map { UInt8($0 % 256) }),
    "ints": [
      0, 127, 128, 255, 256, 65535, 65536, 4_294_967_295, 4_294_967_296, -1, -32, -33,
      -128, -129, -32768, -32769, -2_147_483_648, -2_147_483_649,
    ],
  ]

  private static let checkScript = #"""
    import sys, zlib, msgpack

    expected = {
        "nil": None, "true": True, "false": False, "small": 7, "negative": -33,
        "big": 2**63 - 1, "smallest": -2**63, "double": 1.5,
        "string": "héllo wörld", "empty": "", "bytes": b"\x00\x01\x02\xff",
        "array": [1, "two", 3.25, None, [False]], "map": {"inner": {"deeper": "yes"}, "": 0},
        "long": "x" * 70000, "list": list(range(20)), "wide": {f"k{i}": i for i in range(20)},
        "blob": bytes(i % 256 for i in range(512)),
        "ints": [0, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, -1, -32, -33,
                 -128, -129, -32768, -32769, -2**31, -2**31 - 1],
    }

    def same(a, b):
        if type(a) is not type(b):
            return False
        if isinstance(a, dict):
            return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        if isinstance(a, list):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
        return a == b

    def sort_keys(value):
        if isinstance(value, dict):
            return {k: sort_keys(value[k]) for k in sorted(value, key=lambda k: k.encode())}
        if isinstance(value, list):
            return [sort_keys(v) for v in value]
        return value

    def open_envelope(flags, data):
        assert flags >> 16 == 0x4D43, "tag"
        assert (flags >> 8) & 0xFF == 1, "format id"
        assert data[:4] == b"\xc1MC\x01", "magic and version"
        if flags & 1:
            size = int.from_bytes(data[4:8], "big")
            payload = zlib.decompress(data[8:])
            assert len(payload) == size, "declared size"
            return payload
        return data[4:]

    lines = dict(line.split(" ", 1) for line in open(sys.argv[1]).read().splitlines())
    payload = bytes.fromhex(lines["payload"])
    assert same(msgpack.unpackb(payload), expected), "payload decodes to the expected value"
    assert msgpack.packb(sort_keys(expected)) == payload, "payload is byte-identical to msgpack"
    for name in ("plain", "compressed"):
        flags, data = lines[name].split(" ")
        body = open_envelope(int(flags), bytes.fromhex(data))
        assert same(msgpack.unpackb(body), expected), name
    print("OK")
    """#

  private static let writeScript = #"""
    import msgpack
    value = {
        "none": None, "t": True, "f": False,
        "pos": [0, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**63 - 1],
        "neg": [-1, -32, -33, -128, -129, -32768, -32769, -2**31, -2**31 - 1, -2**63],
        "float": 0.1, "str": "ünïcode ✓", "long": "y" * 300, "bin": b"\x00\xff" * 200,
        "list": list(range(20)), "nested": {"a": [{"b": None}]},
        "wide": {f"k{i}": i for i in range(17)}, "empty_list": [], "empty_map": {},
    }
    print(msgpack.packb(value).hex())
    print(msgpack.packb(1.5, use_single_float=True).hex())
    """#

  @Test func bytesSwiftWritesDecodeInPythonToTheExpectedValue() async throws {
    let python = try await ReferencePython.locate()
    let value = Self.swiftWritten
    let payload = try CodecSamples.encodePayload(value)
    let plain = try ValueFormat.encode(value, compressionThreshold: Int.max)
    let compressed = try ValueFormat.encode(value, compressionThreshold: 0)
    #expect(plain.flags == ValueFormat.plainFlags)
    #expect(compressed.flags == ValueFormat.compressedFlags)
    let input = try ReferencePython.temporaryFile(
      """
      payload \(CodecSamples.hex(payload))
      plain \(plain.flags) \(CodecSamples.hex(plain.bytes))
      compressed \(compressed.flags) \(CodecSamples.hex(compressed.bytes))
      """)
    defer { try? FileManager.default.removeItem(at: input) }
    let result = try await ReferencePython.run(
      python, script: Self.checkScript, arguments: [input.path])
    #expect(result.status == 0, "python: \(result.error)")
    #expect(result.output == "OK\n")
  }

  @Test func bytesPythonWritesDecodeInSwiftToTheExpectedValue() async throws {
    let python = try await ReferencePython.locate()
    let result = try await ReferencePython.run(python, script: Self.writeScript)
    try #require(result.status == 0, "python: \(result.error)")
    let lines = result.output.split(separator: "\n").map(String.init)
    try #require(lines.count == 2)
    let expected: SessionValue = [
      "none": nil, "t": true, "f": false,
      "pos": [0, 127, 128, 255, 256, 65535, 65536, 4_294_967_295, 4_294_967_296, .int(Int64.max)],
      "neg": [
        -1, -32, -33, -128, -129, -32768, -32769, -2_147_483_648, -2_147_483_649,
        .int(Int64.min),
      ],
      "float": 0.1, "str": "ünïcode ✓", "long": .string(String(repeating: "y", count: 300)),
      "bin": .bytes(Array(repeating: [0x00, 0xFF], count: 200).flatMap { $0 }),
      "list": .array((0..<20).map { .int(Int64($0)) }), "nested": ["a": [["b": nil]]],
      "wide": .map(Dictionary(uniqueKeysWithValues: (0..<17).map { ("k\($0)", .int(Int64($0))) })),
      "empty_list": [], "empty_map": [:],
    ]
    let bytes = CodecSamples.bytes(hex: lines[0])
    #expect(try CodecSamples.decodePayload(bytes) == expected)
    #expect(try CodecSamples.decodePayload(CodecSamples.bytes(hex: lines[1])) == 1.5)
  }
}
