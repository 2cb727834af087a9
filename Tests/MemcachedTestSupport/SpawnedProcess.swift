import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Starts `argv[0]` with `argv` as a child whose output goes to `/dev/null`, and returns its PID:
/// a server for the tests, stopped by ``stopSpawnedProcess(_:signal:)``.
///
/// posix_spawn and waitpid rather than Foundation's Process, whose exit detection depends on a
/// run loop thread and was seen to hang.
/// - Throws: ``TestEnvironmentError`` when the process cannot be started.
func spawnServerProcess(_ argv: [String], environment: [String: String] = [:]) throws -> pid_t {
  var cArguments = argv.map { strdup($0) } + [nil]
  defer { for pointer in cArguments { free(pointer) } }
  var actions = posix_spawn_file_actions_t()
  posix_spawn_file_actions_init(&actions)
  defer { posix_spawn_file_actions_destroy(&actions) }
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
  // The test process blocks most signals on its threads, and a child inherits the mask: without
  // a clean mask, the server would ignore the SIGTERM that stops it.
  var attributes = posix_spawnattr_t()
  posix_spawnattr_init(&attributes)
  defer { posix_spawnattr_destroy(&attributes) }
  var noSignals = sigset_t()
  sigemptyset(&noSignals)
  posix_spawnattr_setsigmask(&attributes, &noSignals)
  var allSignals = sigset_t()
  sigfillset(&allSignals)
  posix_spawnattr_setsigdefault(&attributes, &allSignals)
  posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
  var pid: pid_t = 0
  var inherited = ProcessInfo.processInfo.environment
  inherited.merge(environment) { _, added in added }
  var cEnvironment = inherited.map { strdup("\($0.key)=\($0.value)") } + [nil]
  defer { for pointer in cEnvironment { free(pointer) } }
  let spawned = posix_spawn(&pid, argv[0], &actions, &attributes, &cArguments, &cEnvironment)
  guard spawned == 0 else {
    throw TestEnvironmentError(description: "cannot start \(argv[0]): error \(spawned)")
  }
  return pid
}

/// Waits up to 5 s until the child `pid`, a server, answers `version` on the loopback `port`.
/// - Throws: ``TestEnvironmentError`` when it exits first (with `hint` added) or does not answer
///   in time; then it is stopped.
func waitUntilAnswering(
  _ pid: pid_t, port: Int, name: String, binary: Bool = false,
  hint: @autoclosure () -> String = ""
) throws {
  let deadline = Date().addingTimeInterval(5)
  while Date() < deadline {
    var status: Int32 = 0
    if waitpid(pid, &status, WNOHANG) == pid {
      throw TestEnvironmentError(
        description: "\(name) exited at once on port \(port) (status \(status))\(hint())")
    }
    // Ask for the version rather than only connecting: another test's socket may have taken
    // the port first, and then the server exits while the connection still succeeds.
    if answersVersion(port: port, binary: binary) { return }
    usleep(5_000)
  }
  stopSpawnedProcess(pid, signal: SIGKILL)
  throw TestEnvironmentError(description: "\(name) did not listen on port \(port) within 5 s")
}

/// Sends `signal` to the child `pid` and waits until it has exited.
func stopSpawnedProcess(_ pid: pid_t, signal: Int32) {
  kill(pid, signal)
  var status: Int32 = 0
  while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
}

/// The executable `name` on the `PATH`, or else in one of `fallbackDirectories`.
func findExecutable(_ name: String, fallbackDirectories: [String] = ["/usr/bin"]) -> String? {
  let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
  let directories = path.split(separator: ":").map(String.init) + fallbackDirectories
  return directories.map { "\($0)/\(name)" }.first {
    FileManager.default.isExecutableFile(atPath: $0)
  }
}
