/// Identities of the generic types the encoder and decoder store natively. Spelling `[String].self`
/// inside unspecialized generic code looks the metadata up in the runtime's cache on every call;
/// these are looked up once.
enum SessionValueCodableTypes {
  static let stringArray = ObjectIdentifier([String].self)
  static let intArray = ObjectIdentifier([Int].self)
  static let doubleArray = ObjectIdentifier([Double].self)
  static let byteArray = ObjectIdentifier([UInt8].self)
}
