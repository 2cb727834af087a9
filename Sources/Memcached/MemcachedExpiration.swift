import Foundation

/// When a memcached item expires: never, after some time, or at a moment.
public struct MemcachedExpiration: Sendable, Hashable, ExpressibleByIntegerLiteral,
  CustomStringConvertible
{
  private enum Storage: Hashable {
    case never
    case expired
    case relative(Int)
    case absolute(Int)
  }

  private let storage: Storage

  private init(_ storage: Storage) {
    self.storage = storage
  }

  /// memcached's limit for a relative expiration (`REALTIME_MAXDELTA`): 30 days.
  static let maximumRelativeSeconds = 60 * 60 * 24 * 30

  /// The item never expires (it may still be evicted when memcached runs out of memory).
  public static let never = Self(.never)

  /// The item is expired at once: a write stores nothing readable, a touch ends the item.
  public static let expired = Self(.expired)

  /// Expires the given number of seconds from now; 0 means ``never``, less means ``expired``.
  public static func seconds(_ seconds: Int) -> Self {
    if seconds == 0 { return .never }
    if seconds < 0 { return .expired }
    return Self(.relative(seconds))
  }

  /// Expires after the given duration, rounded up to whole seconds; zero or less is ``expired``.
  public static func after(_ duration: Duration) -> Self {
    let (seconds, attoseconds) = duration.components
    guard seconds > 0 || (seconds == 0 && attoseconds > 0) else { return .expired }
    return Self(.relative(Int(min(seconds, latest)) + (attoseconds > 0 ? 1 : 0)))
  }

  /// Expires no earlier than `duration` from now, whatever the phase of memcached's clock:
  /// rounded up to whole seconds, plus one. Zero or less is ``expired``.
  ///
  /// memcached counts lifetimes from a clock that ticks once a second, so an item sent
  /// ``after(_:)`` 2 s may be gone 1.01 s later; one second more covers the tick. A store that
  /// keeps a deadline with the value uses this and refuses the value past its deadline on read.
  public static func outlasting(_ duration: Duration) -> Self {
    guard duration > .zero else { return .expired }
    // Durations this long are memcached's latest time already; adding could only overflow.
    guard duration < .seconds(latest) else { return .after(duration) }
    return .after(duration + .seconds(1))
  }

  /// Expires at the given moment; a past one means ``expired``, one after 2106 the latest.
  public static func at(_ date: Date) -> Self {
    let seconds = date.timeIntervalSince1970.rounded(.up)
    guard seconds > Double(Int(Date().timeIntervalSince1970)) else { return .expired }
    return Self(.absolute(seconds >= Double(latest) ? Int(latest) : Int(seconds)))
  }

  /// The largest time memcached's protocol carries: seconds as an unsigned 32-bit number.
  private static let latest = Int64(UInt32.max)

  /// Seconds from now, as ``seconds(_:)``.
  public init(integerLiteral value: Int) {
    self = .seconds(value)
  }

  /// The value memcached is sent, following its rule: relative up to 30 days, absolute beyond.
  var wireValue: Int {
    switch storage {
    case .never:
      return 0
    case .expired:
      // An absolute time long past. Negative values would do in the ASCII protocol, but the
      // binary protocol sends an unsigned number, and -1 there means the year 2106.
      return Self.maximumRelativeSeconds + 1
    case .relative(let seconds):
      if seconds <= Self.maximumRelativeSeconds { return seconds }
      let (absolute, overflow) = Int(Date().timeIntervalSince1970).addingReportingOverflow(seconds)
      return overflow ? Int(Self.latest) : min(absolute, Int(Self.latest))
    case .absolute(let unixTime):
      return unixTime
    }
  }

  /// Seconds from now until the item expires: 0 for ``never``, negative once expired.
  public var secondsFromNow: Int {
    switch storage {
    case .never: return 0
    case .expired: return -1
    case .relative(let seconds): return seconds
    case .absolute(let unixTime):
      let left = unixTime - Int(Date().timeIntervalSince1970)
      return left > 0 ? left : -1
    }
  }

  /// `never`, `expired`, `in N s` or `at UNIXTIME`.
  public var description: String {
    switch storage {
    case .never: return "never"
    case .expired: return "expired"
    case .relative(let seconds): return "in \(seconds) s"
    case .absolute(let unixTime): return "at \(unixTime)"
    }
  }
}
