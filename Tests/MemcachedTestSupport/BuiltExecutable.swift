import Foundation

/// The executable `name` of this package, built with the tests into the same build folder.
///
/// - Throws: ``TestEnvironmentError`` when it is not there (the tests were built without it).
public func builtExecutable(_ name: String) throws -> URL {
  let starts = [
    URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
      .deletingLastPathComponent(),
    Bundle.main.bundleURL,
    Bundle.main.bundleURL.deletingLastPathComponent(),
  ]
  for start in starts {
    var folder = start
    for _ in 0..<4 {
      let candidate = folder.appendingPathComponent(name)
      if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
      folder = folder.deletingLastPathComponent()
    }
  }
  throw TestEnvironmentError(
    description:
      "the \(name) executable is not next to the test bundle: build it first "
      + "(swift build --build-tests)")
}
