import Foundation

/// An expected outcome (such as a miss) that exits with status 1, printed `mcdutils: <message>`.
struct CommandFailure: Error, CustomStringConvertible {
  /// What happened, in one line.
  let description: String

  init(_ description: String) {
    self.description = description
  }
}

/// Writes `mcdutils: <message>` as one line on standard error.
func printError(_ message: String) {
  let line = message.split(whereSeparator: \.isNewline).joined(separator: " ")
  FileHandle.standardError.write(Data("mcdutils: \(line)\n".utf8))
}
