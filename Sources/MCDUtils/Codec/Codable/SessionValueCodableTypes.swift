/// Identities of the generic types the encoder and decoder store natively, looked up once
/// (spelling `[String].self` in unspecialized generic code looks it up on every call).
enum SessionValueCodableTypes {
  static let stringArray = ObjectIdentifier([String].self)
  static let intArray = ObjectIdentifier([Int].self)
  static let doubleArray = ObjectIdentifier([Double].self)
  static let byteArray = ObjectIdentifier([UInt8].self)
}
