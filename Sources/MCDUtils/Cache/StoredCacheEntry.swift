/// One cache entry as stored (see "Stored entries" in the PageCache article): the value, its
/// generation, when it was written (seconds since 1970) and its maximum age in seconds.
struct StoredCacheEntry<Value> {
  var generation: UInt64
  var writtenAt: Double
  var maxAge: Double?
  var value: Value

  enum CodingKeys: String, CodingKey {
    case generation = "g"
    case writtenAt = "t"
    case maxAge = "a"
    case value = "v"
  }
}

extension StoredCacheEntry: Encodable where Value: Encodable {
  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(String(generation), forKey: .generation)
    try container.encode(writtenAt, forKey: .writtenAt)
    try container.encodeIfPresent(maxAge, forKey: .maxAge)
    try container.encode(value, forKey: .value)
  }
}

extension StoredCacheEntry: Decodable where Value: Decodable {
  init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    let text = try container.decode(String.self, forKey: .generation)
    guard let generation = UInt64(text) else {
      throw DecodingError.dataCorruptedError(
        forKey: .generation, in: container, debugDescription: "generation is not a number")
    }
    self.generation = generation
    self.writtenAt = try container.decode(Double.self, forKey: .writtenAt)
    self.maxAge = try container.decodeIfPresent(Double.self, forKey: .maxAge)
    self.value = try container.decode(Value.self, forKey: .value)
  }
}
