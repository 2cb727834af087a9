import BenchmarkCases
import Foundation

// mcdutils-profile: one case's operation N times, for `valgrind --tool=callgrind`. The main stays
// synchronous: with a top-level `await`, valgrind 3.19 crashes in the async main's dispatch
// signal thread.
let options: ProfileOptions
do {
  options = try ProfileOptions(arguments: CommandLine.arguments)
} catch {
  FileHandle.standardError.write(Data("\(error)\n".utf8))
  exit(2)
}
do {
  let failures = try runProfile(options)
  FileHandle.standardError.write(
    Data("\(options.name): \(options.count) operations, \(failures) failed\n".utf8))
  exit(failures == 0 ? 0 : 1)
} catch {
  FileHandle.standardError.write(Data("mcdutils-profile: \(error)\n".utf8))
  exit(1)
}
