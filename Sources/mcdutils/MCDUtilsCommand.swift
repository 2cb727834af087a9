import ArgumentParser
import Foundation

/// The `mcdutils` command: the memcached client, the sessions and the page cache. A failure
/// prints `mcdutils: <message>` and exits non-zero (see ``ToolCommand``), except usage errors.
@main
struct MCDUtilsCommand: ParsableCommand {
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
      RepairCommand.self,
      StatusCommand.self,
    ]
  )
}

/// A command whose ``execute()`` errors become one line on standard error and exit status 1,
/// except argument-parser's own errors (usage, exit codes).
protocol ToolCommand: ParsableCommand {
  func execute() throws
}

extension ToolCommand {
  func run() throws {
    do {
      try execute()
    } catch let error as ExitCode {
      throw error
    } catch let error as ValidationError {
      throw error
    } catch {
      printError(String(describing: error))
      throw ExitCode.failure
    }
  }
}
