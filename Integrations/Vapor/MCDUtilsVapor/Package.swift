// swift-tools-version:6.1
import PackageDescription

// Vapor integration of MCDUtils: a session driver and a cache over memcached. A package of its
// own, so that the core builds without Vapor.
let package = Package(
  name: "MCDUtilsVapor",
  platforms: [.macOS(.v15)],
  products: [
    .library(name: "MCDUtilsVapor", targets: ["MCDUtilsVapor"])
  ],
  dependencies: [
    .package(name: "MCDUtils", path: "../../.."),
    .package(url: "https://github.com/vapor/vapor.git", from: "4.122.3"),
    .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.24.0"),
  ],
  targets: [
    .target(
      name: "MCDUtilsVapor",
      dependencies: [
        .product(name: "MCDUtils", package: "MCDUtils"),
        .product(name: "Memcached", package: "MCDUtils"),
        .product(name: "Vapor", package: "vapor"),
        .product(name: "Crypto", package: "swift-crypto"),
      ]
    ),
    .testTarget(
      name: "MCDUtilsVaporTests",
      dependencies: [
        "MCDUtilsVapor",
        .product(name: "MCDUtils", package: "MCDUtils"),
        .product(name: "Memcached", package: "MCDUtils"),
        .product(name: "MemcachedTestSupport", package: "MCDUtils"),
        .product(name: "VaporTesting", package: "vapor"),
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
      ]
    ),
  ],
  swiftLanguageModes: [.v6]
)
