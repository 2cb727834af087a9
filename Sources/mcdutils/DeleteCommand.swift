import ArgumentParser
import Memcached

/// `mcdutils delete KEY`: deletes an item.
struct DeleteCommand: ToolCommand {
  static let configuration = CommandConfiguration(
    commandName: "delete",
    abstract: "Delete an item.",
    discussion: "Exits with status 1 when the key did not exist."
  )

  @OptionGroup var options: ServerOptions

  @Argument(help: "The key.")
  var key: String

  func execute() throws {
    let client = try options.makeClient()
    guard try client.delete(key) else {
      throw CommandFailure("no item for key \"\(key)\"")
    }
  }
}
