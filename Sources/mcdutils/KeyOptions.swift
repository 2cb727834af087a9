import ArgumentParser
import Foundation
import MCDUtils

/// `--seal-key-file` (or `MCDUTILS_SEAL_KEY_FILE`): the key ring sealing stored values.
struct SealingOptions: ParsableArguments {
  @Option(
    name: .customLong("seal-key-file"),
    help: ArgumentHelp(
      "A file of sealing keys, one base64 key per line, newest first "
        + "(default: $MCDUTILS_SEAL_KEY_FILE; none: values are not sealed).",
      valueName: "path"))
  var sealKeyFile: String?

  /// The key ring, or `nil` when no key file is given.
  ///
  /// - Throws: `SecurityKeyError` for a file that cannot be read or holds no valid keys.
  func ring() throws -> SealingKeyRing? {
    guard let path = keyFile(sealKeyFile, "MCDUTILS_SEAL_KEY_FILE") else { return nil }
    return try SealingKeyRing(contentsOfKeyFile: path)
  }
}

/// `--id-key-file` (or `MCDUTILS_ID_KEY_FILE`): the key hashing browser ids into session keys.
struct IdKeyOptions: ParsableArguments {
  @Option(
    name: .customLong("id-key-file"),
    help: ArgumentHelp(
      "A file whose first base64 key hashes browser ids into session keys "
        + "(default: $MCDUTILS_ID_KEY_FILE; none: sessions are stored under the id).",
      valueName: "path"))
  var idKeyFile: String?

  /// The hasher, or `nil` when no key file is given.
  ///
  /// - Throws: `SecurityKeyError` for a file that cannot be read or holds no valid key.
  func hasher() throws -> BrowserIdHasher? {
    guard let path = keyFile(idKeyFile, "MCDUTILS_ID_KEY_FILE") else { return nil }
    return try BrowserIdHasher(contentsOfKeyFile: path)
  }
}

/// The key file the option (else the environment variable) names; warns if others can read it.
private func keyFile(_ option: String?, _ variable: String) -> String? {
  guard let path = option ?? ProcessInfo.processInfo.environment[variable], !path.isEmpty else {
    return nil
  }
  warnIfReadableByOthers(path, "key file")
  return path
}

/// Warns on standard error when other users may read the secret file at `path`.
func warnIfReadableByOthers(_ path: String, _ what: String) {
  if KeyFile.isReadableByOthers(path) {
    printError("warning: other users can read the \(what) \(path) (chmod 600 it)")
  }
}
