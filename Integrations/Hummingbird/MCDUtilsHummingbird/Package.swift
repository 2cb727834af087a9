// swift-tools-version:6.1
import PackageDescription

let package = Package(
  name: "MCDUtilsHummingbird",
  platforms: [.macOS(.v15)],
  products: [
    // A Hummingbird `PersistDriver` over MCDUtils' session store, and the middleware that
    // answers 503 when memcached cannot be reached.
    .library(name: "MCDUtilsHummingbird", targets: ["MCDUtilsHummingbird"])
  ],
  dependencies: [
    .package(name: "MCDUtils", path: "../../.."),
    .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
    .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
    .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
  ],
  targets: [
    .target(
      name: "MCDUtilsHummingbird",
      dependencies: [
        .product(name: "MCDUtils", package: "MCDUtils"),
        .product(name: "Memcached", package: "MCDUtils"),
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
        .product(name: "Logging", package: "swift-log"),
      ]
    ),
    .testTarget(
      name: "MCDUtilsHummingbirdTests",
      dependencies: [
        "MCDUtilsHummingbird",
        .product(name: "MCDUtils", package: "MCDUtils"),
        .product(name: "Memcached", package: "MCDUtils"),
        .product(name: "MemcachedTestSupport", package: "MCDUtils"),
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HummingbirdTesting", package: "hummingbird"),
        .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
      ]
    ),
  ],
  swiftLanguageModes: [.v6]
)
