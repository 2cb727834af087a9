/// A coding key for an array position (formatted only when asked) or a name such as "super".
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
