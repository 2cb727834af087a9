import ArgumentParser
import MCDUtils

/// `mcdutils session add --id ID`: adds `key value` lines from standard input to a session.
struct SessionAddCommand: ToolCommand {
  static let configuration = CommandConfiguration(
    commandName: "add",
    abstract: "Add `key value` lines from standard input to a session, in one transaction.",
    discussion: """
      The key is the text before the first space, the value the rest; both are trimmed and \
      blank lines are skipped. Values are stored as strings. Prints \
      `Before: N;  after: M; # items: K`, then the session as JSON with secrets hidden.
      """
  )

  @OptionGroup var options: SessionStoreOptions

  func execute() throws {
    let container = try options.makeContainer()
    var entries: [(key: String, value: String)] = []
    while let line = readLine() {
      guard let entry = Self.entry(line) else { continue }
      entries.append(entry)
    }
    let (before, after, contents) = try withTransaction { _ in
      let session = try container.newOrExisting(options.id)
      let before = session.count
      for entry in entries { session[entry.key] = .string(entry.value) }
      return (before, session.count, session.redactedContents)
    }
    print("Before: \(before);  after: \(after); # items: \(entries.count)")
    try printJSON(contents)
  }

  /// The key and value of one input line, or `nil` for a blank line.
  static func entry(_ line: String) -> (key: String, value: String)? {
    let parts = line.trimmingCharacters(in: .whitespacesAndNewlines)
      .split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
    guard let key = parts.first else { return nil }
    let value = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
    return (String(key), value)
  }
}
