import Foundation
import MCDUtils
import Testing

private struct Address: Codable, Equatable {
  var street: String
  var zip: Int
}

private struct Person: Codable, Equatable {
  var name: String
  var address: Address
  var tags: [String]
  var scores: [Double]
}

private struct Optionals: Codable, Equatable {
  var present: Int?
  var absent: String?
}

private struct ExplicitNil: Encodable {
  var value: Int?

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(value, forKey: .value)
  }

  enum CodingKeys: String, CodingKey { case value }
}

private struct Widths: Codable, Equatable {
  var int8: Int8
  var int16: Int16
  var int32: Int32
  var int64: Int64
  var int: Int
  var uint8: UInt8
  var uint16: UInt16
  var uint32: UInt32
  var uint64: UInt64
  var uint: UInt
  var float: Float
  var double: Double
}

private class Animal: Codable {
  var name: String

  init(name: String) { self.name = name }
}

/// Encodes its superclass through `superEncoder()`, so the parent's fields land under "super".
private final class Dog: Animal, Equatable {
  var breed: String

  init(name: String, breed: String) {
    self.breed = breed
    super.init(name: name)
  }

  enum CodingKeys: String, CodingKey { case breed }

  required init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    breed = try container.decode(String.self, forKey: .breed)
    try super.init(from: container.superDecoder())
  }

  override func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(breed, forKey: .breed)
    try super.encode(to: container.superEncoder())
  }

  static func == (lhs: Dog, rhs: Dog) -> Bool { lhs.name == rhs.name && lhs.breed == rhs.breed }
}

/// Encodes its superclass into the same container, as many hand-written subclasses do.
private final class Cat: Animal, Equatable {
  var lives: Int

  init(name: String, lives: Int) {
    self.lives = lives
    super.init(name: name)
  }

  enum CodingKeys: String, CodingKey { case lives }

  required init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    lives = try container.decode(Int.self, forKey: .lives)
    try super.init(from: decoder)
  }

  override func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(lives, forKey: .lives)
    try super.encode(to: encoder)
  }

  static func == (lhs: Cat, rhs: Cat) -> Bool { lhs.name == rhs.name && lhs.lives == rhs.lives }
}

private enum Shape: Codable, Equatable {
  case circle(radius: Double)
  case rect(Double, Double)
  case empty
  case labelled(Int, name: String)
}

private struct Point: Codable, Hashable {
  var x: Int
  var y: Int
}

private struct Stamped: Codable, Equatable {
  var date: Date
  var data: Data
  var url: URL
  var decimal: Decimal
  var raw: [UInt8]
}

private struct Line: Codable {
  var count: Int
}

private struct Order: Codable {
  var items: [Line]
}

/// Asks for a keyed and then an unkeyed container at one path, which no format can represent.
private struct Confused: Encodable {
  func encode(to encoder: any Encoder) throws {
    var keyed = encoder.container(keyedBy: Address.CodingKeys.self)
    try keyed.encode(1, forKey: .zip)
    var unkeyed = encoder.unkeyedContainer()
    try unkeyed.encode(2)
  }
}

extension Address {
  fileprivate enum CodingKeys: String, CodingKey { case street, zip }
}

/// Uses nested containers of every kind by hand.
private struct Matrix: Codable, Equatable {
  var rows: [[Int]]
  var meta: [String: String]

  enum CodingKeys: String, CodingKey { case rows, meta }

  init(rows: [[Int]], meta: [String: String]) {
    self.rows = rows
    self.meta = meta
  }

  init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    var rowsContainer = try container.nestedUnkeyedContainer(forKey: .rows)
    var rows: [[Int]] = []
    while !rowsContainer.isAtEnd {
      var row = try rowsContainer.nestedUnkeyedContainer()
      var values: [Int] = []
      while !row.isAtEnd { values.append(try row.decode(Int.self)) }
      rows.append(values)
    }
    self.rows = rows
    let metaContainer = try container.nestedContainer(
      keyedBy: AnyKey.self, forKey: .meta)
    var meta: [String: String] = [:]
    for key in metaContainer.allKeys {
      meta[key.stringValue] = try metaContainer.decode(String.self, forKey: key)
    }
    self.meta = meta
  }

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    var rowsContainer = container.nestedUnkeyedContainer(forKey: .rows)
    for row in rows {
      var nested = rowsContainer.nestedUnkeyedContainer()
      for value in row { try nested.encode(value) }
    }
    var metaContainer = container.nestedContainer(keyedBy: AnyKey.self, forKey: .meta)
    for (key, value) in meta {
      try metaContainer.encode(value, forKey: AnyKey(stringValue: key))
    }
  }

  struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
  }
}

@Suite("Codable through SessionValue")
struct SessionValueCodableTests {
  private let encoder = SessionValueEncoder()
  private let decoder = SessionValueDecoder()

  /// Decodes from the `SessionValue` and from the stored bytes (which `ValueFormat` writes
  /// straight from the encoder's containers), and requires the two to agree.
  private func roundTrip<T: Codable & Equatable>(_ value: T) throws -> T {
    let fromTree = try decoder.decode(T.self, from: encoder.encode(value))
    let (bytes, flags) = try ValueFormat.encode(value)
    #expect(try ValueFormat.decode(T.self, from: bytes, flags: flags) == fromTree)
    return fromTree
  }

  @Test func nestedStructsBecomeNestedMaps() throws {
    let person = Person(
      name: "Ann", address: Address(street: "Main", zip: 12345), tags: ["a", "b"],
      scores: [1.5, 2])
    let value = try encoder.encode(person)
    #expect(
      value == [
        "name": "Ann", "address": ["street": "Main", "zip": 12345], "tags": ["a", "b"],
        "scores": [1.5, 2.0],
      ])
    #expect(try decoder.decode(Person.self, from: value) == person)
  }

  @Test func optionalsPresentNilAndAbsent() throws {
    #expect(try encoder.encode(Optionals(present: 1, absent: nil)) == ["present": 1])
    #expect(try encoder.encode(ExplicitNil(value: nil)) == ["value": nil])
    #expect(try decoder.decode(Optionals.self, from: [:]) == Optionals(present: nil, absent: nil))
    #expect(
      try decoder.decode(Optionals.self, from: ["present": nil, "absent": "x"])
        == Optionals(present: nil, absent: "x"))
    #expect(try encoder.encode(Int?.none) == .nil)
    #expect(try decoder.decode(Int?.self, from: .nil) == nil)
    #expect(try decoder.decode(Int?.self, from: 5) == 5)
  }

  @Test func everyIntegerWidthRoundTripsAtItsLimits() throws {
    let highs = Widths(
      int8: .max, int16: .max, int32: .max, int64: .max, int: .max, uint8: .max, uint16: .max,
      uint32: .max, uint64: UInt64(Int64.max), uint: UInt(Int64.max),
      float: .greatestFiniteMagnitude,
      double: .greatestFiniteMagnitude)
    let lows = Widths(
      int8: .min, int16: .min, int32: .min, int64: .min, int: .min, uint8: 0, uint16: 0,
      uint32: 0, uint64: 0, uint: 0, float: -1.1, double: -.leastNonzeroMagnitude)
    #expect(try roundTrip(highs) == highs)
    #expect(try roundTrip(lows) == lows)
  }

  @Test func unsignedValuesAboveInt64MaxThrowInvalidValueWhenEncoding() {
    #expect {
      try encoder.encode(["n": UInt64.max])
    } throws: { error in
      guard case EncodingError.invalidValue(_, let context) = error else { return false }
      return context.codingPath.map(\.stringValue) == ["n"]
    }
    #expect(throws: EncodingError.self) { try encoder.encode([UInt(Int64.max) + 1]) }
  }

  @Test func integersThatDoNotFitThrowDataCorruptedWithTheirPath() {
    let value: SessionValue = [
      "int8": 128, "int16": 0, "int32": 0, "int64": 0, "int": 0, "uint8": 0, "uint16": 0,
      "uint32": 0, "uint64": 0, "uint": 0, "float": 0, "double": 0,
    ]
    #expect {
      try decoder.decode(Widths.self, from: value)
    } throws: { error in
      guard case DecodingError.dataCorrupted(let context) = error else { return false }
      return context.codingPath.map(\.stringValue) == ["int8"]
    }
    #expect(throws: DecodingError.self) { try decoder.decode(UInt8.self, from: -1) }
    #expect(throws: DecodingError.self) { try decoder.decode(UInt16.self, from: 65536) }
    #expect(throws: DecodingError.self) { try decoder.decode(Int32.self, from: .int(1 << 31)) }
    #expect(throws: DecodingError.self) { try decoder.decode([Int8].self, from: [1, 200]) }
  }

  @Test func integralDoublesDecodeAsIntegersAndIntegersAsDoubles() throws {
    #expect(try decoder.decode(Int.self, from: 3.0) == 3)
    #expect(try decoder.decode(Double.self, from: 3) == 3.0)
    #expect(throws: DecodingError.self) { try decoder.decode(Int.self, from: 3.5) }
  }

  @Test func floatTooLargeForFloatThrows() {
    #expect(throws: DecodingError.self) { try decoder.decode(Float.self, from: 1e300) }
  }

  @Test func foundationTypesUseNativeCases() throws {
    let stamped = Stamped(
      date: Date(timeIntervalSince1970: 1_700_000_000.25), data: Data([1, 2, 3]),
      url: URL(string: "https://example.com/a?b=c")!, decimal: Decimal(string: "12.345")!,
      raw: [9, 8])
    let value = try encoder.encode(stamped)
    #expect(value["date"] == .double(1_700_000_000.25))
    #expect(value["data"] == .bytes([1, 2, 3]))
    #expect(value["url"] == .string("https://example.com/a?b=c"))
    #expect(value["decimal"] == .string("12.345"))
    #expect(value["raw"] == .bytes([9, 8]))
    #expect(try decoder.decode(Stamped.self, from: value) == stamped)
  }

  @Test func bytesAlsoDecodeFromAnArrayOfSmallIntegers() throws {
    #expect(try decoder.decode([UInt8].self, from: [1, 2]) == [1, 2])
  }

  @Test func subclassUsingSuperEncoderNestsItsParentUnderSuper() throws {
    let dog = Dog(name: "Rex", breed: "collie")
    let value = try encoder.encode(dog)
    #expect(value == ["breed": "collie", "super": ["name": "Rex"]])
    #expect(try decoder.decode(Dog.self, from: value) == dog)
  }

  @Test func subclassSharingItsEncoderMergesFieldsIntoOneMap() throws {
    let cat = Cat(name: "Tom", lives: 9)
    let value = try encoder.encode(cat)
    #expect(value == ["lives": 9, "name": "Tom"])
    #expect(try decoder.decode(Cat.self, from: value) == cat)
  }

  @Test func enumsWithAssociatedValuesUseSwiftsSynthesizedShape() throws {
    #expect(try encoder.encode(Shape.circle(radius: 2)) == ["circle": ["radius": 2.0]])
    #expect(try encoder.encode(Shape.rect(1, 2)) == ["rect": ["_0": 1.0, "_1": 2.0]])
    #expect(try encoder.encode(Shape.empty) == ["empty": [:]])
    #expect(
      try encoder.encode(Shape.labelled(3, name: "n")) == ["labelled": ["_0": 3, "name": "n"]])
    for shape in [Shape.circle(radius: 2), .rect(1, 2), .empty, .labelled(3, name: "n")] {
      #expect(try roundTrip(shape) == shape)
    }
  }

  @Test func intKeyedDictionariesBecomeMapsWithDecimalKeys() throws {
    let dictionary = [1: "one", -2: "minus two"]
    #expect(try encoder.encode(dictionary) == ["1": "one", "-2": "minus two"])
    #expect(try roundTrip(dictionary) == dictionary)
  }

  @Test func dictionariesWithOtherKeysBecomeAlternatingKeyValueArrays() throws {
    let dictionary = [Point(x: 1, y: 2): "a"]
    #expect(try encoder.encode(dictionary) == [["x": 1, "y": 2], "a"])
    #expect(try roundTrip(dictionary) == dictionary)
  }

  @Test func arraysOfOptionalsKeepTheirNils() throws {
    let array: [Int?] = [1, nil, 3]
    #expect(try encoder.encode(array) == [1, nil, 3])
    #expect(try roundTrip(array) == array)
  }

  @Test func nestedContainersOfEveryKindRoundTrip() throws {
    let matrix = Matrix(rows: [[1, 2], [], [3]], meta: ["a": "b"])
    #expect(try encoder.encode(matrix) == ["rows": [[1, 2], [], [3]], "meta": ["a": "b"]])
    #expect(try roundTrip(matrix) == matrix)
  }

  @Test func wrongTypeThrowsTypeMismatchWithTheFullCodingPath() throws {
    let value: SessionValue = ["items": [["count": 1], ["count": "two"]]]
    let (bytes, flags) = try ValueFormat.encode(value)
    let attempts: [() throws -> Order] = [
      { try decoder.decode(Order.self, from: value) },
      { try ValueFormat.decode(Order.self, from: bytes, flags: flags) },
    ]
    for attempt in attempts {
      #expect {
        try attempt()
      } throws: { error in
        guard case DecodingError.typeMismatch(_, let context) = error else { return false }
        return context.codingPath.map(\.stringValue) == ["items", "1", "count"]
      }
    }
  }

  @Test func missingKeyThrowsKeyNotFound() {
    #expect {
      try decoder.decode(Address.self, from: ["street": "x"])
    } throws: { error in
      guard case DecodingError.keyNotFound(let key, _) = error else { return false }
      return key.stringValue == "zip"
    }
  }

  @Test func mapExpectedButArrayFoundThrowsTypeMismatch() {
    #expect(throws: DecodingError.self) { try decoder.decode(Address.self, from: [1, 2]) }
  }

  @Test func askingForTwoKindsOfContainerAtOnePathThrows() {
    #expect(throws: EncodingError.self) { try encoder.encode(Confused()) }
  }

  @Test func sessionValuePassesThroughUnchanged() throws {
    #expect(try encoder.encode(CodecSamples.everyCase) == CodecSamples.everyCase)
    #expect(
      try decoder.decode(SessionValue.self, from: CodecSamples.everyCase) == CodecSamples.everyCase)
    #expect(
      try encoder.encode(["wrapped": CodecSamples.everyCase])["wrapped"] == CodecSamples.everyCase)
  }

  @Test func sessionValueIsCodableThroughOtherCoders() throws {
    let value: SessionValue = ["a": [1, 2.5, "x", true, nil], "b": ["c": [:]]]
    let json = try JSONEncoder().encode(value)
    #expect(try JSONDecoder().decode(SessionValue.self, from: json) == value)
  }

  @Test func userInfoReachesTheEncodedType() throws {
    struct Probe: Codable {
      static let key = CodingUserInfoKey(rawValue: "probe")!
      init() {}
      init(from decoder: any Decoder) throws {
        guard decoder.userInfo[Self.key] as? String == "yes" else {
          throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "missing"))
        }
      }
      func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(encoder.userInfo[Self.key] as? String ?? "no")
      }
    }
    var encoder = SessionValueEncoder()
    encoder.userInfo[Probe.key] = "yes"
    var decoder = SessionValueDecoder()
    decoder.userInfo[Probe.key] = "yes"
    #expect(try encoder.encode(Probe()) == "yes")
    _ = try decoder.decode(Probe.self, from: nil)
  }
}
