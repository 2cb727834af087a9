/// A stored number, with the conversions both decoders apply so they agree on numbers and errors.
enum CodableNumber {
  case int(Int64)
  case double(Double)

  /// The number as `T`, exactly, or the message of the data-corrupted error.
  @inline(__always)
  func integer<T: FixedWidthInteger>(_: T.Type) -> Result<T, CodableNumberMismatch> {
    switch self {
    case .int(let integer):
      guard let result = T(exactly: integer) else {
        return .failure(.init(message: "Number \(integer) does not fit in \(T.self)."))
      }
      return .success(result)
    case .double(let number):
      guard let result = T(exactly: number) else {
        return .failure(.init(message: "Number \(number) is not representable as \(T.self)."))
      }
      return .success(result)
    }
  }

  /// The number as `T` (rounded, as floating point does), or the message of the data-corrupted
  /// error when a finite number overflows `T`.
  @inline(__always)
  func floatingPoint<T: BinaryFloatingPoint>(_: T.Type) -> Result<T, CodableNumberMismatch> {
    switch self {
    case .double(let number):
      let result = T(number)
      if result.isInfinite && number.isFinite {
        return .failure(.init(message: "Number \(number) does not fit in \(T.self)."))
      }
      return .success(result)
    case .int(let integer):
      return .success(T(integer))
    }
  }
}

/// Why a number does not convert: the message of the decoder's data-corrupted error.
struct CodableNumberMismatch: Error {
  let message: String
}
