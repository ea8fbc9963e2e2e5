#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Gives back the pages of the executable that only start-up used (`serve` calls it one second after the ready
/// line, so the first requests do not wait for it).
enum ResidentMemory {
    /// Asks the kernel to drop the executable's read-only and code pages from this process's resident set
    /// (`madvise(MADV_PAGEOUT)`, Linux 5.4 and later; see madvise(2)). They stay in the page cache, so the code that
    /// serves requests comes back on first use at the cost of a minor fault per page; what only start-up ran
    /// (argument parsing, fixtures, migrations, the certificate) stays out. Writable pages are left alone. Does
    /// nothing where the call is not supported.
    static func releaseStartUpPages() {
        #if os(Linux)
        guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        guard !executable.isEmpty else { return }
        let pageout: Int32 = 21  // MADV_PAGEOUT
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[5...].joined(separator: " ") == executable, !fields[1].contains("w") else { continue }
            let bounds = fields[0].split(separator: "-").compactMap { UInt(String($0), radix: 16) }
            guard bounds.count == 2, bounds[1] > bounds[0], let start = UnsafeMutableRawPointer(bitPattern: bounds[0]) else { continue }
            _ = madvise(start, Int(bounds[1] - bounds[0]), pageout)
        }
        #endif
    }
}
