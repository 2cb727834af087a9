/// One cache entry as stored: the value with the generation it was written under, when it was
/// written and how long it stays fresh.
///
/// It is written with ``ValueFormat`` as a map with short keys (`g`, `t`, `a`, `v`), so a large
/// value is compressed like any other. The generation is kept as decimal text, exactly as
/// memcached's counter holds it.
struct StoredCacheEntry<Value> {
  /// The object's generation when the entry was written.
  var generation: UInt64
  /// When the entry was written, in seconds since 1970 (wall clock, shared by every instance).
  var writtenAt: Double
  /// Seconds the entry stays fresh after `writtenAt`; `nil` for no limit.
  var maxAge: Double?
  /// The cached value.
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
