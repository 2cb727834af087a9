// swift-tools-version:6.1
import PackageDescription

let package = Package(
  name: "SessionApp",
  platforms: [.macOS(.v15)],
  dependencies: [
    .package(
      name: "MCDUtilsHummingbird", path: "../../../Integrations/Hummingbird/MCDUtilsHummingbird"),
    .package(name: "MCDUtils", path: "../../.."),
    .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
    .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
    .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
  ],
  targets: [
    // Log in, read and increment a counter kept in a session in memcached (or, for comparison,
    // in Hummingbird's in-memory driver).
    .executableTarget(
      name: "SessionApp",
      dependencies: [
        .product(name: "MCDUtilsHummingbird", package: "MCDUtilsHummingbird"),
        .product(name: "Memcached", package: "MCDUtils"),
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ]
    )
  ],
  swiftLanguageModes: [.v6]
)
