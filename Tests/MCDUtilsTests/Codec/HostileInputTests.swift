import Testing

@testable import MCDUtils

@Suite("Hostile input")
struct HostileInputTests {
  private func payloadError(_ bytes: [UInt8]) -> SessionValueFormatError? {
    do {
      _ = try CodecSamples.decodePayload(bytes)
      return nil
    } catch {
      return error
    }
  }

  @Test func truncationAtEveryOffsetThrows() throws {
    let bytes = try CodecSamples.encodePayload(CodecSamples.everyCase)
    for length in 0..<bytes.count {
      let error = payloadError(Array(bytes[..<length]))
      switch error {
      case .truncated, .lengthPastEnd: break
      default: Issue.record("prefix of \(length) bytes gave \(String(describing: error))")
      }
    }
  }

  @Test func truncatedEnvelopeAtEveryOffsetThrows() throws {
    let big: SessionValue = ["text": .string(String(repeating: "abc", count: 5000))]
    for (value, threshold) in [(CodecSamples.everyCase, 8192), (big, 100)] {
      let (bytes, flags) = try ValueFormat.encode(value, compressionThreshold: threshold)
      for length in 0..<bytes.count {
        #expect(throws: SessionValueFormatError.self) {
          try ValueFormat.decode(Array(bytes[..<length]), flags: flags)
        }
      }
    }
  }

  @Test func markerC1IsAnUnknownMarker() {
    #expect(payloadError([0xC1]) == .unknownMarker(0xC1, offset: 0))
    #expect(payloadError([0x91, 0xC1]) == .unknownMarker(0xC1, offset: 1))
  }

  @Test func extensionTypesAreUnsupported() {
    for marker: UInt8 in [0xC7, 0xC8, 0xC9, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8] {
      #expect(payloadError([marker, 0, 0, 0, 0]) == .unsupportedType(marker: marker, offset: 0))
    }
    // The timestamp extension (type -1) is ext like any other.
    #expect(payloadError([0xD6, 0xFF, 0, 0, 0, 1]) == .unsupportedType(marker: 0xD6, offset: 0))
  }

  @Test func lengthsPastTheEndThrowLengthPastEnd() {
    #expect(payloadError([0xA5, 0x61]) == .lengthPastEnd(declared: 5, remaining: 1, offset: 0))
    #expect(
      payloadError([0xC4, 0x03, 0x01]) == .lengthPastEnd(declared: 3, remaining: 1, offset: 0))
    #expect(payloadError([0x93, 0x01]) == .lengthPastEnd(declared: 3, remaining: 1, offset: 0))
    #expect(
      payloadError([0x82, 0xA1, 0x61]) == .lengthPastEnd(declared: 2, remaining: 2, offset: 0))
  }

  @Test(arguments: [0xDB, 0xC6, 0xDD, 0xDF] as [UInt8])
  func maximalDeclaredLengthOnAShortBufferThrowsAtOnce(marker: UInt8) {
    let bytes: [UInt8] = [marker, 0xFF, 0xFF, 0xFF, 0xFF] + [UInt8](repeating: 0xC0, count: 10)
    #expect(payloadError(bytes) == .lengthPastEnd(declared: 0xFFFF_FFFF, remaining: 10, offset: 0))
  }

  @Test func deeplyNestedArraysThrowNestingTooDeep() {
    let bytes = [UInt8](repeating: 0x91, count: 10_000) + [0xC0]
    #expect(payloadError(bytes) == .nestingTooDeep(limit: ValueFormat.maximumDepth, offset: 512))
  }

  @Test func deeplyNestedMapsThrowNestingTooDeep() {
    var bytes: [UInt8] = []
    for _ in 0..<10_000 { bytes += [0x81, 0xA1, 0x6B] }
    bytes.append(0xC0)
    #expect(payloadError(bytes) == .nestingTooDeep(limit: ValueFormat.maximumDepth, offset: 1536))
  }

  @Test func trailingBytesAfterTheValueThrow() {
    #expect(payloadError([0xC0, 0xC0, 0x01]) == .trailingBytes(offset: 1, count: 2))
  }

  @Test func invalidUTF8InAStringThrows() {
    for bad: [UInt8] in [
      [0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xF4, 0x90, 0x80, 0x80],
    ] {
      let bytes = [0xA0 | UInt8(bad.count)] + bad
      #expect(payloadError(bytes) == .invalidUTF8(offset: 0))
    }
    #expect(payloadError([0x81, 0xA1, 0xFF, 0xC0]) == .invalidUTF8(offset: 1))
  }

  @Test func unsignedIntegerAboveInt64MaxThrows() {
    let bytes: [UInt8] = [0xCF, 0x80, 0, 0, 0, 0, 0, 0, 0]
    #expect(payloadError(bytes) == .integerOutOfRange(offset: 0))
  }

  @Test func nonStringMapKeysThrow() {
    #expect(payloadError([0x81, 0x01, 0xC0]) == .nonStringKey(offset: 1))
    #expect(payloadError([0x81, 0xC4, 0x01, 0x61, 0xC0]) == .nonStringKey(offset: 1))
  }

  @Test func duplicateMapKeysThrow() {
    #expect(
      payloadError([0x82, 0xA1, 0x61, 0x01, 0xA1, 0x61, 0x02]) == .duplicateKey("a", offset: 4))
  }

  @Test func zlibBombStopsAtTheDeclaredSize() throws {
    let zeros = [UInt8](repeating: 0, count: 8 << 20)
    let stream = try #require(
      zeros.withUnsafeBytes { ValueFormatZlib.compress($0, after: []) })
    // Declares 1,000 bytes; the stream would inflate to 8 MiB.
    let bytes = ValueFormat.magic + [ValueFormat.envelopeVersion, 0, 0, 0x03, 0xE8] + stream
    #expect(throws: SessionValueFormatError.decompressedSizeMismatch(declared: 1000)) {
      try ValueFormat.decode(bytes, flags: ValueFormat.compressedFlags)
    }
  }

  @Test func declaredSizeAboveTheLimitThrowsBeforeInflating() throws {
    let zeros = [UInt8](repeating: 0, count: 1 << 20)
    let stream = try #require(
      zeros.withUnsafeBytes { ValueFormatZlib.compress($0, after: []) })
    let bytes = ValueFormat.magic + [ValueFormat.envelopeVersion, 0, 0x10, 0, 0] + stream
    #expect(
      throws: SessionValueFormatError.decompressedSizeExceedsLimit(declared: 1 << 20, limit: 1000)
    ) {
      try ValueFormat.decode(bytes, flags: ValueFormat.compressedFlags, maximumDecodedSize: 1000)
    }
  }

  @Test func declaredSizeBeyondDeflatesRatioThrows() {
    let bytes =
      ValueFormat.magic + [ValueFormat.envelopeVersion, 0xFF, 0xFF, 0xFF, 0xFF, 0x78, 0x9C]
    #expect(
      throws: SessionValueFormatError.decompressedSizeExceedsLimit(
        declared: 0xFFFF_FFFF, limit: 2 * ValueFormat.maximumDeflateRatio)
    ) {
      try ValueFormat.decode(bytes, flags: ValueFormat.compressedFlags)
    }
  }

  @Test func corruptCompressedStreamThrowsDecompressionFailed() {
    let bytes = ValueFormat.magic + [ValueFormat.envelopeVersion, 0, 0, 0, 10] + [1, 2, 3, 4, 5]
    #expect {
      try ValueFormat.decode(bytes, flags: ValueFormat.compressedFlags)
    } throws: { error in
      guard case SessionValueFormatError.decompressionFailed = error else { return false }
      return true
    }
  }

  @Test func flagsOfOtherProgramsAreNotOurFormat() {
    for flags: UInt32 in [0, 1, 2, 8, 0x4D42_0100, 0x0000_0100] {
      #expect(throws: SessionValueFormatError.notOurFormat(flags: flags)) {
        try ValueFormat.decode([0xC1, 0x4D, 0x43, 0x01, 0xC0], flags: flags)
      }
    }
  }

  @Test func wrongMagicIsBadMagic() {
    #expect(throws: SessionValueFormatError.badMagic) {
      try ValueFormat.decode([0x80, 0x4D, 0x43, 0x01, 0xC0], flags: ValueFormat.plainFlags)
    }
  }

  @Test func unknownFormatIdOrEnvelopeVersionIsUnsupported() {
    #expect(throws: SessionValueFormatError.unsupportedVersion(3)) {
      try ValueFormat.decode([0xC1, 0x4D, 0x43, 0x01, 0xC0], flags: 0x4D43_0300)
    }
    // Format 2 is a sealed value: its envelope version must be 2 as well.
    #expect(throws: SessionValueFormatError.unsupportedVersion(1)) {
      try ValueFormat.decode([0xC1, 0x4D, 0x43, 0x01, 0xC0], flags: 0x4D43_0200)
    }
    #expect(throws: SessionValueFormatError.unsupportedVersion(9)) {
      try ValueFormat.decode([0xC1, 0x4D, 0x43, 0x09, 0xC0], flags: ValueFormat.plainFlags)
    }
    #expect(throws: SessionValueFormatError.unsupportedFlags(0x4D43_0180)) {
      try ValueFormat.decode([0xC1, 0x4D, 0x43, 0x01, 0xC0], flags: 0x4D43_0180)
    }
  }

  @Test func randomAndMutatedBytesEitherDecodeOrThrowOurError() async throws {
    var random = CodecSplitMix64(seed: 0x5EED_C0DE)
    let seeds: [SessionValue] = [
      CodecSamples.everyCase, ["a": [1, 2, ["b": "c"]], "d": .bytes([1, 2, 3])],
      [1, -1, 300, -300, 70000, -70000, .int(1 << 40), 2.5, "x"], "a string of some length",
    ]
    var valid = try seeds.map { try CodecSamples.encodePayload($0) }
    valid.append(
      try ValueFormat.encode(CodecSamples.everyCase, compressionThreshold: 16).bytes)
    let lengthMarkers: [UInt8] = [0xD9, 0xDA, 0xDB, 0xC4, 0xC5, 0xC6, 0xDC, 0xDD, 0xDE, 0xDF]
    var iterations = 0
    var decoded = 0
    var failed = 0
    for round in 0..<100_000 {
      if round % 256 == 0 { await Task.yield() }
      var bytes: [UInt8]
      if round % 4 == 0 {
        bytes = (0..<Int.random(in: 0...24, using: &random)).map { _ in
          UInt8.random(in: 0...255, using: &random)
        }
      } else {
        bytes = valid[Int.random(in: 0..<valid.count, using: &random)]
        for _ in 0..<Int.random(in: 1...3, using: &random) {
          guard !bytes.isEmpty else { break }
          let position = Int.random(in: 0..<bytes.count, using: &random)
          switch Int.random(in: 0..<5, using: &random) {
          case 0: bytes[position] ^= 1 << UInt8.random(in: 0...7, using: &random)
          case 1: bytes.removeSubrange(position...)
          case 2: bytes.insert(UInt8.random(in: 0...255, using: &random), at: position)
          case 3:
            bytes[position] = lengthMarkers[Int.random(in: 0..<lengthMarkers.count, using: &random)]
          default:
            for offset in position..<min(position + 4, bytes.count) { bytes[offset] = 0xFF }
          }
        }
      }
      iterations += 1
      // Typed throws: the compiler already guarantees no other error type can escape.
      let payload = Result { () throws(SessionValueFormatError) in
        try CodecSamples.decodePayload(bytes)
      }
      let flags = round % 2 == 0 ? ValueFormat.plainFlags : ValueFormat.compressedFlags
      let envelope = Result { () throws(SessionValueFormatError) in
        try ValueFormat.decode(bytes, flags: flags, maximumDecodedSize: 1 << 16)
      }
      for result in [payload, envelope] {
        switch result {
        case .success(let value):
          decoded += 1
          // Whatever decodes must encode again and come back to the same bytes.
          let again = try CodecSamples.encodePayload(value)
          #expect(try CodecSamples.encodePayload(CodecSamples.decodePayload(again)) == again)
        case .failure:
          failed += 1
        }
      }
    }
    #expect(iterations == 100_000)
    #expect(decoded + failed == 200_000)
    #expect(decoded > 1000)
    #expect(failed > 1000)
  }
}
