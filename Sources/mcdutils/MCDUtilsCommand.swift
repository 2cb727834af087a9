import ArgumentParser
import Foundation

/// The `mcdutils` command: the memcached client and, later, the session and cache tools, over
/// the `Memcached` and `MCDUtils` libraries.
///
/// Every failure ends the same way: one line on standard error, `mcdutils: <message>`, and a
/// non-zero exit status. Usage errors keep swift-argument-parser's own message and usage text.
@main
struct MCDUtilsCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "mcdutils",
    abstract:
      "Talk to a memcached cluster the way MCDUtils does (libmemcached, consistent hashing).",
    discussion: """
      Every command takes --servers HOST:PORT[,HOST:PORT...] (or repeated), or reads the \
      MCDUTILS_SERVERS environment variable when the option is absent.
      """,
    version: "0.1.0",
    subcommands: [
      PingCommand.self,
      StatsCommand.self,
      GetCommand.self,
      SetCommand.self,
      DeleteCommand.self,
      TouchCommand.self,
      IncrCommand.self,
      ServerForCommand.self,
      SessionCommand.self,
      CacheCommand.self,
    ]
  )

  /// Parses the command line, runs the chosen command, and turns what it throws into a message
  /// and an exit status, so that no error ends in a stack trace.
  static func main() async {
    var command: any ParsableCommand
    do {
      command = try parseAsRoot()
    } catch {
      exit(withError: error)
    }
    do {
      if var asyncCommand = command as? any AsyncParsableCommand {
        try await asyncCommand.run()
      } else {
        try command.run()
      }
    } catch let error as ExitCode {
      exit(withError: error)
    } catch let error as CleanExit {
      exit(withError: error)
    } catch let error as ValidationError {
      exit(withError: error)
    } catch  where String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") {
      // A group's own run asks for its help through an error internal to ArgumentParser.
      exit(withError: error)
    } catch {
      printError(String(describing: error))
      exit(withError: ExitCode.failure)
    }
  }
}
