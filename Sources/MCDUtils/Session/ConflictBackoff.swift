import Foundation

/// The pause before a session write is tried again after a conflict: a random time up to a
/// bound that doubles with each attempt, from 1 ms to 64 ms, so that writers in other
/// processes that met at one session spread out instead of meeting again.
enum ConflictBackoff {
  /// The bound of the first pause, in microseconds.
  static let firstMicroseconds = 1000
  /// The bound of the longest pause, in microseconds.
  static let maximumMicroseconds = 64_000

  /// Sleeps before the attempt that follows failed attempt `attempt` (counted from 1).
  static func pause(after attempt: Int) {
    let doublings = min(max(attempt - 1, 0), 6)
    let bound = min(maximumMicroseconds, firstMicroseconds << doublings)
    Thread.sleep(forTimeInterval: Double(Int.random(in: 0...bound)) / 1_000_000)
  }
}
