import Foundation
import Testing

@testable import MCDUtils

@Suite("Hostile bytes on the Codable decoding path")
struct CodableHostileInputTests {
  struct Line: Codable, Equatable {
    var sku: String
    var qty: Int
    var price: Double
  }

  struct Cart: Codable, Equatable {
    var userID: Int
    var name: String
    var roles: [String]
    var lines: [Line]
    var note: String?
    var flags: [String: Bool]
    var blob: Data
  }

  @Test func mutatedCodableBytesEitherDecodeOrThrowATypedError() async throws {
    var random = CodecSplitMix64(seed: 0xC0DA_B1E5)
    let cart = Cart(
      userID: 4711, name: "alice", roles: ["Member", "Editor"],
      lines: (0..<3).map { Line(sku: "SKU-\($0)", qty: $0, price: 1.5 * Double($0)) },
      note: nil, flags: ["a": true, "b": false], blob: Data([1, 2, 3]))
    let plain = try ValueFormat.encode(cart)
    let compressed = try ValueFormat.encode(cart, compressionThreshold: 16)
    #expect(try ValueFormat.decode(Cart.self, from: plain.bytes, flags: plain.flags) == cart)
    let seeds = [plain, compressed]
    var decoded = 0
    var refused = 0
    for round in 0..<100_000 {
      if round % 256 == 0 { await Task.yield() }
      let seed = seeds[round % 2]
      var bytes = seed.bytes
      for _ in 0..<Int.random(in: 1...3, using: &random) {
        guard !bytes.isEmpty else { break }
        let position = Int.random(in: 0..<bytes.count, using: &random)
        switch Int.random(in: 0..<4, using: &random) {
        case 0: bytes[position] ^= 1 << UInt8.random(in: 0...7, using: &random)
        case 1: bytes.removeSubrange(position...)
        case 2: bytes.insert(UInt8.random(in: 0...255, using: &random), at: position)
        default: bytes[position] = UInt8.random(in: 0...255, using: &random)
        }
      }
      do {
        _ = try ValueFormat.decode(Cart.self, from: bytes, flags: seed.flags)
        decoded += 1
      } catch is SessionValueFormatError {
        refused += 1
      } catch is DecodingError {
        refused += 1
      } catch {
        Issue.record("an untyped error escaped: \(error)")
      }
    }
    #expect(decoded + refused == 100_000)
    #expect(decoded > 100)
    #expect(refused > 10_000)
  }
}
