import Logging

// Conversions between `Duration` and plain numbers for the C library, timers and stored
// timestamps, in one place. None of them traps: negative durations count as zero where a count
// is asked for, and numbers too large for the target saturate.
extension Duration {
  /// Whole nanoseconds, 0 for a negative duration, at most `UInt64.max`.
  package var saturatingNanoseconds: UInt64 { saturating(perSecond: 1_000_000_000) }

  /// Whole microseconds, 0 for a negative duration, at most `UInt64.max`.
  package var saturatingMicroseconds: UInt64 { saturating(perSecond: 1_000_000) }

  private func saturating(perSecond units: UInt64) -> UInt64 {
    let (seconds, attoseconds) = components
    guard seconds >= 0, attoseconds >= 0 else { return 0 }
    let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: units)
    let fraction = UInt64(attoseconds) / (1_000_000_000_000_000_000 / units)
    let (sum, carry) = whole.addingReportingOverflow(fraction)
    return overflow || carry ? .max : sum
  }

  /// Seconds as a `Double`, sign kept.
  package var seconds: Double {
    let (seconds, attoseconds) = components
    return Double(seconds) + Double(attoseconds) / 1e18
  }

  /// A duration of `seconds`, NaN as zero and saturating where `Duration.seconds(_:)` would trap.
  package init(saturatingSeconds seconds: Double) {
    guard !seconds.isNaN else {
      self = .zero
      return
    }
    let bound = Double(Int64.max)
    if seconds >= bound {
      self = .seconds(Int64.max)
    } else if seconds <= -bound {
      self = .seconds(Int64.min + 1)
    } else {
      let whole = seconds.rounded(.towardZero)
      self = .seconds(Int64(whole)) + .nanoseconds(Int64((seconds - whole) * 1e9))
    }
  }
}

extension Logger {
  /// The logger a library uses when the caller passes none: it drops everything.
  @usableFromInline package static let disabled = Logger(
    label: "mcdutils", factory: { _ in SwiftLogNoOpLogHandler() })
}
