import BenchmarkCases
import Foundation

// mcdutils-bench: our speed against libmemcached's C API, measured in the same run, as TSV.
let options: HarnessOptions
do {
  options = try HarnessOptions(arguments: CommandLine.arguments)
} catch {
  FileHandle.standardError.write(Data("\(error)\n".utf8))
  exit(2)
}
do {
  try await runHarness(options)
} catch {
  FileHandle.standardError.write(Data("mcdutils-bench: \(error)\n".utf8))
  exit(1)
}
