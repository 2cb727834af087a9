/// A value stored in a session or a cache entry: a tree of nil, booleans, integers, doubles,
/// strings, byte strings, arrays and string-keyed maps.
public enum SessionValue: Sendable, Hashable {
  /// The absence of a value (MessagePack `nil`, Python `None`).
  case `nil`
  /// A boolean.
  case bool(Bool)
  /// A signed 64-bit integer.
  case int(Int64)
  /// A 64-bit floating-point number.
  case double(Double)
  /// A Unicode string.
  case string(String)
  /// A byte string (MessagePack `bin`, Python `bytes`).
  case bytes([UInt8])
  /// An ordered list of values.
  case array([SessionValue])
  /// A map from strings to values.
  case map([String: SessionValue])
}

extension SessionValue {
  /// Whether the value is `.nil`.
  public var isNil: Bool {
    if case .nil = self { return true }
    return false
  }

  /// The boolean, or `nil` when the value is not `.bool`.
  public var boolValue: Bool? {
    if case .bool(let value) = self { return value }
    return nil
  }

  /// The integer, or `nil` when the value is not `.int`.
  public var intValue: Int64? {
    if case .int(let value) = self { return value }
    return nil
  }

  /// The double, or `nil` when the value is not `.double`.
  public var doubleValue: Double? {
    if case .double(let value) = self { return value }
    return nil
  }

  /// The string, or `nil` when the value is not `.string`.
  public var stringValue: String? {
    if case .string(let value) = self { return value }
    return nil
  }

  /// The bytes, or `nil` when the value is not `.bytes`.
  public var bytesValue: [UInt8]? {
    if case .bytes(let value) = self { return value }
    return nil
  }

  /// The elements, or `nil` when the value is not `.array`.
  public var arrayValue: [SessionValue]? {
    if case .array(let value) = self { return value }
    return nil
  }

  /// The entries, or `nil` when the value is not `.map`.
  public var mapValue: [String: SessionValue]? {
    if case .map(let value) = self { return value }
    return nil
  }

  /// The value under `key` in a map; `nil` when the key is absent or the value is not a map.
  public subscript(key: String) -> SessionValue? {
    if case .map(let entries) = self { return entries[key] }
    return nil
  }

  /// The element at `index` of an array; `nil` when out of range or the value is not an array.
  public subscript(index: Int) -> SessionValue? {
    if case .array(let elements) = self, elements.indices.contains(index) {
      return elements[index]
    }
    return nil
  }
}

extension SessionValue: CustomStringConvertible {
  /// A Swift-literal-like rendering, with map keys sorted and bytes as hex between `<` and `>`.
  public var description: String {
    var output = ""
    describe(into: &output)
    return output
  }

  private func describe(into output: inout String) {
    switch self {
    case .nil:
      output += "nil"
    case .bool(let value):
      output += value ? "true" : "false"
    case .int(let value):
      output += String(value)
    case .double(let value):
      output += String(value)
    case .string(let value):
      output += value.debugDescription
    case .bytes(let value):
      output += "<"
      for byte in value {
        let hex = String(byte, radix: 16)
        if hex.count == 1 { output += "0" }
        output += hex
      }
      output += ">"
    case .array(let elements):
      output += "["
      for (index, element) in elements.enumerated() {
        if index > 0 { output += ", " }
        element.describe(into: &output)
      }
      output += "]"
    case .map(let entries):
      if entries.isEmpty {
        output += "[:]"
        return
      }
      output += "["
      for (index, entry) in entries.sorted(by: { $0.key < $1.key }).enumerated() {
        if index > 0 { output += ", " }
        output += entry.key.debugDescription
        output += ": "
        entry.value.describe(into: &output)
      }
      output += "]"
    }
  }
}
