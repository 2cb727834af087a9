/// A coding key for a position in an unkeyed container or a fixed name such as "super".
///
/// The string form of a position is made only when someone asks for it (an error message, a
/// coding path), so walking an array does not format every index.
struct SessionValueCodingKey: CodingKey {
  private let name: String?
  let intValue: Int?

  init(stringValue: String) {
    name = stringValue
    intValue = nil
  }

  init(intValue: Int) {
    name = nil
    self.intValue = intValue
  }

  var stringValue: String { name ?? String(intValue ?? 0) }

  static let superKey = SessionValueCodingKey(stringValue: "super")
}
