// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "iotc-mock",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "MockServer", targets: ["MockServer"]),
        .executable(name: "iotc-mock", targets: ["iotc-mock"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CSQLite", path: "Sources/CSQLite",
            providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(
            name: "COpenSSL", path: "Sources/COpenSSL",
            providers: [.apt(["libssl-dev"])]),
        // Linux epoll(7), a header of the C library the Glibc module leaves out.
        .systemLibrary(name: "CEpoll", path: "Sources/CEpoll"),
        .target(name: "HTTP", dependencies: ["COpenSSL", "CEpoll"], path: "Sources/HTTP"),
        .target(name: "Storage", dependencies: ["CSQLite"], path: "Sources/Storage"),
        .target(name: "Central", dependencies: ["Storage", "COpenSSL"], path: "Sources/Central"),
        .target(name: "Entra", dependencies: ["COpenSSL"], path: "Sources/Entra"),
        .target(
            name: "MockServer", dependencies: ["HTTP", "Storage", "Central", "Entra"], path: "Sources/MockServer",
            exclude: ["Explorer"], plugins: ["EmbedFiles"]),
        // fixtures/*.json and the git commit, as Swift data in MockServer: a binary copied alone carries them.
        .executableTarget(name: "embed-files", path: "Sources/embed-files"),
        .plugin(name: "EmbedFiles", capability: .buildTool(), dependencies: ["embed-files"], path: "Plugins/EmbedFiles"),
        .executableTarget(
            name: "iotc-mock",
            dependencies: [
                "MockServer", "Central",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                "Entra",
            ],
            path: "Sources/iotc-mock"),
        .testTarget(name: "HTTPTests", dependencies: ["HTTP", "COpenSSL"], path: "Tests/HTTPTests"),
        .testTarget(name: "StorageTests", dependencies: ["Storage"], path: "Tests/StorageTests"),
        .testTarget(name: "CentralTests", dependencies: ["Central", "Storage"], path: "Tests/CentralTests"),
        .testTarget(name: "EntraTests", dependencies: ["Entra", "COpenSSL"], path: "Tests/EntraTests"),
        .testTarget(name: "EndToEndTests", dependencies: ["MockServer", "Central", "Entra"], path: "Tests/EndToEndTests"),
    ],
    swiftLanguageModes: [.v6]
)
