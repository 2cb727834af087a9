// swift-tools-version:6.1
import PackageDescription

// A small Vapor app whose sessions live in memcached: log in, read, increment. `../run.sh`
// starts two memcached nodes, builds and runs it, and talks to it with curl.
let package = Package(
  name: "CounterApp",
  platforms: [.macOS(.v15)],
  dependencies: [
    .package(name: "MCDUtils", path: "../../.."),
    .package(name: "MCDUtilsVapor", path: "../../../Integrations/Vapor/MCDUtilsVapor"),
    .package(url: "https://github.com/vapor/vapor.git", from: "4.122.3"),
  ],
  targets: [
    .executableTarget(
      name: "CounterApp",
      dependencies: [
        .product(name: "MCDUtilsVapor", package: "MCDUtilsVapor"),
        .product(name: "Memcached", package: "MCDUtils"),
        .product(name: "Vapor", package: "vapor"),
      ]
    )
  ],
  swiftLanguageModes: [.v6]
)
