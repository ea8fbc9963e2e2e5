/// The version of iotc-mock, as `iotc-mock --version`, `/_mock/health` and the dist archive's name show it.
extension MockServer {
    /// Semantic version of this release.
    public static let version = "0.10.0"
    /// The git commit the binary was built from (`IOTC_MOCK_COMMIT` at build time overrides), or "unknown".
    public static let commit = EmbeddedFiles.commit
    /// `0.10.0 (commit 1a2b3c4d5e6f)`: what `iotc-mock --version` prints.
    public static var versionDescription: String {
        "\(version) (commit \(commit == "unknown" ? commit : String(commit.prefix(12))))"
    }
}
