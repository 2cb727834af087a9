extension SessionValue: ExpressibleByNilLiteral {
  /// Creates `.nil`.
  public init(nilLiteral: ()) {
    self = .nil
  }
}

extension SessionValue: ExpressibleByBooleanLiteral {
  /// Creates `.bool`.
  public init(booleanLiteral value: Bool) {
    self = .bool(value)
  }
}

extension SessionValue: ExpressibleByIntegerLiteral {
  /// Creates `.int`.
  public init(integerLiteral value: Int64) {
    self = .int(value)
  }
}

extension SessionValue: ExpressibleByFloatLiteral {
  /// Creates `.double`.
  public init(floatLiteral value: Double) {
    self = .double(value)
  }
}

extension SessionValue: ExpressibleByStringLiteral {
  /// Creates `.string`.
  public init(stringLiteral value: String) {
    self = .string(value)
  }
}

extension SessionValue: ExpressibleByArrayLiteral {
  /// Creates `.array`.
  public init(arrayLiteral elements: SessionValue...) {
    self = .array(elements)
  }
}

extension SessionValue: ExpressibleByDictionaryLiteral {
  /// Creates `.map`; when a key is repeated the last value wins, because a literal must not trap.
  public init(dictionaryLiteral elements: (String, SessionValue)...) {
    self = .map(Dictionary(elements, uniquingKeysWith: { _, last in last }))
  }
}
