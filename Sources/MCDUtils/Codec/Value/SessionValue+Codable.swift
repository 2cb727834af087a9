extension SessionValue: Codable {
  /// Encodes the value as itself, or as the nearest types of another encoder's format.
  ///
  /// - Throws: whatever the encoder throws for the value.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    switch self {
    case .nil:
      try container.encodeNil()
    case .bool(let value):
      try container.encode(value)
    case .int(let value):
      try container.encode(value)
    case .double(let value):
      try container.encode(value)
    case .string(let value):
      try container.encode(value)
    case .bytes(let value):
      try container.encode(value)
    case .array(let value):
      try container.encode(value)
    case .map(let value):
      try container.encode(value)
    }
  }

  /// Decodes the value as itself, or as the first type that matches in another decoder.
  ///
  /// - Throws: `DecodingError.typeMismatch` when no case of `SessionValue` matches.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    if container.decodeNil() {
      self = .nil
    } else if let value = try? container.decode(Bool.self) {
      self = .bool(value)
    } else if let value = try? container.decode(Int64.self) {
      self = .int(value)
    } else if let value = try? container.decode(Double.self) {
      self = .double(value)
    } else if let value = try? container.decode(String.self) {
      self = .string(value)
    } else if let value = try? container.decode([SessionValue].self) {
      self = .array(value)
    } else if let value = try? container.decode([String: SessionValue].self) {
      self = .map(value)
    } else {
      throw DecodingError.typeMismatch(
        SessionValue.self,
        DecodingError.Context(
          codingPath: decoder.codingPath,
          debugDescription: "Expected nil, a boolean, a number, a string, an array or a map."))
    }
  }
}
