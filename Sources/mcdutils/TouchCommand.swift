import ArgumentParser
import Memcached

/// `mcdutils touch KEY --ttl SECONDS`: gives an item a new expiration.
struct TouchCommand: ToolCommand {
  static let configuration = CommandConfiguration(
    commandName: "touch",
    abstract: "Give an item a new expiration without reading it.",
    discussion: "Exits with status 1 when the key does not exist."
  )

  @OptionGroup var options: ServerOptions

  @Argument(help: "The key.")
  var key: String

  @Option(parsing: .unconditional, help: "Seconds until the item expires (0 means never).")
  var ttl: Int

  func validate() throws {
    guard ttl >= 0 else { throw ValidationError("--ttl must be 0 or more.") }
  }

  func execute() throws {
    let client = try options.makeClient()
    guard try client.touch(key, expiration: .seconds(ttl)) else {
      throw CommandFailure("no item for key \"\(key)\"")
    }
  }
}
