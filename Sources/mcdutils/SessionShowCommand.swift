import ArgumentParser
import Foundation
import MCDUtils

/// `mcdutils session show --id ID`: prints a session as JSON, secrets hidden.
struct SessionShowCommand: ToolCommand {
  static let configuration = CommandConfiguration(
    commandName: "show",
    abstract: "Print a session as JSON (secrets hidden), with its created and last-accessed times.",
    discussion: "Exits with status 1 when there is no such session."
  )

  @OptionGroup var options: SessionStoreOptions

  /// What `show` prints.
  struct Output: Encodable {
    let created: String
    let lastAccessed: String
    let data: [String: SessionValue]
  }

  func execute() throws {
    let container = try options.makeContainer()
    guard let session = try container.get(options.id) else {
      throw CommandFailure("no such session")
    }
    try printJSON(
      Output(
        created: session.created.ISO8601Format(),
        lastAccessed: session.lastAccessed.ISO8601Format(), data: session.redactedContents))
  }
}

/// `mcdutils session invalidate --id ID`: deletes a session.
struct SessionInvalidateCommand: ToolCommand {
  static let configuration = CommandConfiguration(
    commandName: "invalidate",
    abstract: "Delete a session.",
    discussion: "Exits with status 1 when there is no such session."
  )

  @OptionGroup var options: SessionStoreOptions

  func execute() throws {
    let container = try options.makeContainer()
    guard let session = try container.get(options.id) else {
      throw CommandFailure("no such session")
    }
    try session.invalidate()
    print("invalidated")
  }
}
